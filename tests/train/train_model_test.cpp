// tests/train/train_model_test.cpp — the whole training forward/backward against central finite
// differences (fp mode: the quantizers of b1.58/b1 are piecewise constant, so their STE gradient
// is checked against PyTorch in reference_test.cpp instead), thread-count independence, and
// the optimizer and schedules.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "train/optimizer.h"
#include "train/schedule.h"
#include "train/train_model.h"

namespace bitlm {
namespace {

TrainModelConfig tiny(WeightMode mode, bool tied, FfnActivation act) {
  TrainModelConfig c;
  c.n_vocab = 11; c.n_embd = 8; c.n_ff = 12; c.n_layer = 2; c.n_head = 2; c.n_head_kv = 1;
  c.seq_len = 4; c.weight_mode = mode; c.tied_embedding = tied; c.activation = act;
  return c;
}

std::vector<int32_t> tokens(size_t n, uint64_t seed, int64_t vocab) {
  Rng rng(seed);
  std::vector<int32_t> t(n);
  for (auto& v : t) v = int32_t(rng.below(uint64_t(vocab)));
  return t;
}

void expect_gradients_match_finite_differences(const TrainModelConfig& cfg) {
  ThreadPool pool(1);  // thousands of tiny forwards: threads would only add overhead
  TrainModel model(cfg);
  model.init(7, 0.3f);  // large init: gradients well above float noise
  const auto in = tokens(8, 1, cfg.n_vocab);
  auto tgt = tokens(8, 2, cfg.n_vocab);
  tgt[3] = -1;  // an ignored position
  model.forward_backward(in, tgt, 1.0f, pool);
  const std::vector<float> analytic(model.grads().begin(), model.grads().end());
  const float step = 2e-3f;
  // Every write goes through params(), which marks the model's weight caches stale.
  auto set = [&](size_t i, float v) { model.params()[i] = v; };
  for (const ParamTensor& t : model.tensors()) {
    double scale = 1e-2;
    for (size_t i = 0; i < t.size(); ++i) scale = std::max(scale, double(std::fabs(analytic[t.offset + i])));
    for (size_t i = 0; i < t.size(); ++i) {
      const float saved = model.params()[t.offset + i];
      set(t.offset + i, saved + step);
      const double up = model.forward(in, tgt, pool);
      set(t.offset + i, saved - step);
      const double down = model.forward(in, tgt, pool);
      set(t.offset + i, saved);
      ASSERT_NEAR(analytic[t.offset + i], (up - down) / (2.0 * step), 5e-3 * scale)
          << t.name << " element " << i;
    }
  }
}

TEST(TrainModel, FpGradientsMatchFiniteDifferencesSwigluUntied) {
  expect_gradients_match_finite_differences(tiny(WeightMode::kFp, false, FfnActivation::kSilu));
}

TEST(TrainModel, FpGradientsMatchFiniteDifferencesRelu2Tied) {
  expect_gradients_match_finite_differences(tiny(WeightMode::kFp, true, FfnActivation::kSilu));
  expect_gradients_match_finite_differences(tiny(WeightMode::kFp, false, FfnActivation::kRelu2));
}

TEST(TrainModel, ResultsDoNotDependOnThreadCount) {
  for (WeightMode mode : {WeightMode::kTernary, WeightMode::kBinary})
   for (bool elastic : {false, true}) {
    auto cfg = tiny(mode, true, FfnActivation::kSilu);
    cfg.elastic_act = elastic;
    cfg.n_embd = 32; cfg.n_ff = 40; cfg.n_head = 4; cfg.n_head_kv = 2; cfg.n_vocab = 50; cfg.seq_len = 16;
    const auto in = tokens(64, 3, cfg.n_vocab), tgt = tokens(64, 4, cfg.n_vocab);
    std::vector<std::vector<float>> grads;
    std::vector<double> losses;
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      TrainModel model(cfg);
      model.init(5);
      losses.push_back(model.forward_backward(in, tgt, 1.0f / 64, pool));
      grads.emplace_back(model.grads().begin(), model.grads().end());
    }
    EXPECT_EQ(losses[0], losses[1]);
    EXPECT_EQ(losses[0], losses[2]);
    EXPECT_TRUE(grads[0] == grads[1] && grads[0] == grads[2]) << weight_mode_name(mode) << (elastic ? " elastic" : "");
  }
}

// forward_backward overwrites grads(): what a previous sequence left there (the trainer hands the
// buffer on without zeroing it) must not leak into any tensor's gradient, tied head or not.
TEST(TrainModel, GradientsAreOverwrittenNotAdded) {
  for (bool tied : {true, false})
    for (WeightMode mode : {WeightMode::kTernary, WeightMode::kFp}) {
      const auto cfg = tiny(mode, tied, FfnActivation::kSilu);
      const auto in = tokens(8, 1, cfg.n_vocab), tgt = tokens(8, 2, cfg.n_vocab);
      ThreadPool pool(1);
      std::vector<std::vector<float>> grads;
      for (float stale : {0.0f, 1e3f}) {
        TrainModel model(cfg);
        model.init(5);
        std::ranges::fill(model.grads(), stale);
        model.forward_backward(in, tgt, 1.0f, pool);
        grads.emplace_back(model.grads().begin(), model.grads().end());
      }
      EXPECT_EQ(grads[0], grads[1]) << (tied ? "tied " : "untied ") << weight_mode_name(mode);
    }
}

TEST(TrainModel, QuantizedWeightsAreTernaryOrBinaryTimesBeta) {
  for (WeightMode mode : {WeightMode::kTernary, WeightMode::kBinary}) {
    TrainModel model(tiny(mode, true, FfnActivation::kSilu));
    model.init(9);
    const ParamTensor& t = model.tensor("blk.1.ffn_down.weight");
    const auto wq = model.quantized_weight(t);
    double beta = 0;
    for (float w : model.param(t)) beta += std::fabs(w);
    beta /= double(t.size());
    for (float w : wq) {
      const double level = double(w) / beta;
      EXPECT_NEAR(level, std::nearbyint(level), 1e-5);
      if (mode == WeightMode::kBinary) EXPECT_NEAR(std::fabs(level), 1.0, 1e-5);
      else EXPECT_LE(std::fabs(level), 1.0 + 1e-5);
    }
  }
}

// The forward quantizes (and packs) the weights once per parameter change, not per call: a
// write through params() must still reach the next forward, for every quantized mode.
TEST(TrainModel, ForwardSeesWeightsWrittenThroughParams) {
  ThreadPool pool(1);
  for (WeightMode mode : {WeightMode::kTernary, WeightMode::kBinary}) {
    const auto cfg = tiny(mode, true, FfnActivation::kSilu);
    const auto in = tokens(8, 3, cfg.n_vocab), tgt = tokens(8, 4, cfg.n_vocab);
    TrainModel model(cfg), fresh(cfg);
    model.init(6);
    const double before = model.forward(in, tgt, pool);
    const ParamTensor& t = model.tensor("blk.0.ffn_up.weight");
    Rng rng(8);
    for (float& w : model.param(t)) w = float(rng.normal());
    const std::span<const float> written = std::as_const(model).params();  // no invalidation
    std::copy(written.begin(), written.end(), fresh.params().begin());
    const double after = model.forward(in, tgt, pool);
    EXPECT_NE(after, before) << weight_mode_name(mode);
    EXPECT_EQ(after, fresh.forward(in, tgt, pool)) << weight_mode_name(mode);
  }
}

TEST(TrainModel, AdamWStepsReduceTheLossOnAFixedBatch) {
  ThreadPool pool(2);
  auto cfg = tiny(WeightMode::kTernary, true, FfnActivation::kSilu);
  cfg.n_embd = 32; cfg.n_ff = 64; cfg.n_vocab = 16; cfg.seq_len = 8;
  TrainModel model(cfg);
  model.init(1);
  AdamW opt(model.params().size(), {});
  const auto in = tokens(16, 5, cfg.n_vocab), tgt = tokens(16, 6, cfg.n_vocab);
  double first = 0, last = 0;
  for (int s = 0; s < 30; ++s) {
    last = model.forward_backward(in, tgt, 1.0f / 16, pool) / 16;
    if (s == 0) first = last;
    opt.step(model.tensors(), model.params(), model.grads(), 1e-2f, 0.0f, pool);
  }
  EXPECT_LT(last, 0.5 * first);
}

// model.quant_groups = G (003 App. A.1): trained with G groups, every BitLinear's forward weight
// is its G row shards each quantized alone (eq. 14) — what G model-parallel ranks would hold —
// and the forward differs from the per-tensor one; it trains; G must divide every width.
TEST(TrainModel, GroupQuantizedModelTrainsAndEqualsIndependentlyQuantizedShards) {
  ThreadPool pool(2);
  for (WeightMode mode : {WeightMode::kTernary, WeightMode::kBinary}) {
    auto cfg = tiny(mode, true, FfnActivation::kSilu);
    cfg.n_embd = 32; cfg.n_ff = 64; cfg.n_vocab = 16; cfg.seq_len = 8; cfg.n_head = 4; cfg.n_head_kv = 2;
    auto grouped = cfg;
    grouped.quant_groups = 4;
    TrainModel model(grouped), plain(cfg);
    model.init(1);
    plain.init(1);
    const auto in = tokens(16, 5, cfg.n_vocab), tgt = tokens(16, 6, cfg.n_vocab);
    EXPECT_NE(model.forward(in, tgt, pool), plain.forward(in, tgt, pool)) << weight_mode_name(mode);
    AdamW opt(model.params().size(), {});
    double first = 0, last = 0;
    for (int s = 0; s < 30; ++s) {
      last = model.forward_backward(in, tgt, 1.0f / 16, pool) / 16;
      if (s == 0) first = last;
      opt.step(model.tensors(), model.params(), model.grads(), 1e-2f, 0.0f, pool);
    }
    EXPECT_LT(last, (mode == WeightMode::kTernary ? 0.5 : 0.8) * first) << weight_mode_name(mode);
    int linears = 0;
    for (const ParamTensor& t : model.tensors()) {
      if (t.kind != TensorKind::kLinear) continue;
      ++linears;
      const std::vector<float> wq = model.quantized_weight(t);
      const std::span<const float> w = std::as_const(model).params().subspan(t.offset, t.size());
      const int64_t rows = t.rows / 4;
      for (int64_t g = 0; g < 4; ++g) {
        const std::vector<float> shard(w.begin() + g * rows * t.cols, w.begin() + (g + 1) * rows * t.cols);
        std::vector<float> shard_q(shard.size());
        bitlinear_quantize_weight(mode, Mat<const float>(shard.data(), rows, t.cols),
                                  Mat<float>(shard_q.data(), rows, t.cols));
        EXPECT_TRUE(std::equal(shard_q.begin(), shard_q.end(), wq.begin() + g * rows * t.cols))
            << t.name << " group " << g;
      }
    }
    EXPECT_EQ(linears, 2 * 7);
  }
  auto bad = tiny(WeightMode::kTernary, true, FfnActivation::kSilu);
  bad.quant_groups = 3;  // n_embd 8 is not a multiple of 3
  try {
    bad.validate();
    ADD_FAILURE() << "quant_groups 3 accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("model.quant_groups = 3"), std::string::npos) << e.what();
  }
}

TEST(AdamW, FirstStepMovesEachWeightByLrTimesSignAndDecaysOnlyLinears) {
  ThreadPool pool(1);
  TrainModel model(tiny(WeightMode::kTernary, true, FfnActivation::kSilu));
  model.init(2);
  const std::vector<float> before(model.params().begin(), model.params().end());
  for (size_t i = 0; i < model.grads().size(); ++i) model.grads()[i] = (i % 2) ? 0.5f : -2.0f;
  AdamW opt(model.params().size(), {});
  const float lr = 1e-3f, wd = 0.1f;
  opt.step(model.tensors(), model.params(), model.grads(), lr, wd, pool);
  for (const ParamTensor& t : model.tensors())
    for (size_t i = t.offset; i < t.offset + t.size(); ++i) {
      // bias-corrected m/sqrt(v) = sign(g) at step 1
      const float decayed = is_decayed(t.kind) ? before[i] * (1 - lr * wd) : before[i];
      const float sign = model.grads()[i] > 0 ? 1.0f : -1.0f;
      ASSERT_NEAR(model.params()[i], decayed - lr * sign, 1e-7f) << t.name;
    }
}

TEST(ClipGradNorm, ScalesOnlyAboveTheLimit) {
  std::vector<float> g = {3, 4};
  EXPECT_DOUBLE_EQ(clip_grad_norm(g, 0.0f), 5.0);  // off
  EXPECT_EQ(g[0], 3.0f);
  clip_grad_norm(g, 1.0f);
  EXPECT_NEAR(grad_norm(g), 1.0, 1e-6);
}

TEST(Schedule, TwoStageWarmsUpDecaysAndDropsWeightDecayAtHalf) {
  ScheduleConfig c;
  c.kind = ScheduleKind::kTwoStage; c.lr = 1.5e-3f; c.lr_stage2 = 1e-3f; c.min_lr = 0;
  c.weight_decay = 0.1f; c.warmup_steps = 10; c.total_steps = 100;
  EXPECT_FLOAT_EQ(schedule_at(c, 0).lr, 1.5e-4f);
  EXPECT_FLOAT_EQ(schedule_at(c, 9).lr, 1.5e-3f);
  EXPECT_FLOAT_EQ(schedule_at(c, 10).lr, 1.5e-3f);
  EXPECT_FLOAT_EQ(schedule_at(c, 49).weight_decay, 0.1f);
  EXPECT_NEAR(schedule_at(c, 49).lr, 1.0e-3f + 0.5e-3f / 40, 1e-7);
  EXPECT_FLOAT_EQ(schedule_at(c, 50).weight_decay, 0.0f);
  EXPECT_FLOAT_EQ(schedule_at(c, 50).lr, 1e-3f);
  EXPECT_NEAR(schedule_at(c, 99).lr, 1e-3f / 50, 1e-7);
}

TEST(Schedule, CosineAndConstant) {
  ScheduleConfig c;
  c.kind = ScheduleKind::kCosine; c.lr = 1.0f; c.min_lr = 0.1f; c.warmup_steps = 0; c.total_steps = 100;
  EXPECT_FLOAT_EQ(schedule_at(c, 0).lr, 1.0f);
  EXPECT_NEAR(schedule_at(c, 50).lr, 0.55f, 1e-6);
  EXPECT_NEAR(schedule_at(c, 100).lr, 0.1f, 1e-6);
  c.kind = ScheduleKind::kConstant; c.warmup_steps = 4;
  EXPECT_FLOAT_EQ(schedule_at(c, 1).lr, 0.5f);
  EXPECT_FLOAT_EQ(schedule_at(c, 70).lr, 1.0f);
  EXPECT_FLOAT_EQ(schedule_at(c, 70).weight_decay, c.weight_decay);
}

}  // namespace
}  // namespace bitlm
