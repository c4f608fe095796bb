// tests/train/export_test.cpp — export pins the training forward to the inference runtime:
// a trained checkpoint exported to GGUF and run by model/ (int8 activations, T2 ternary kernels)
// gives the training forward's eval-mode logits.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/rng.h"
#include "model/forward.h"
#include "model/model.h"
#include "train/export.h"
#include "train/optimizer.h"
#include "train/train_model.h"

namespace bitlm {
namespace {

TEST(Export, InferenceLogitsEqualTheTrainingForward) {
  for (WeightMode mode : {WeightMode::kTernary, WeightMode::kBinary}) {
    TrainModelConfig c;
    c.n_vocab = 97; c.n_embd = 64; c.n_ff = 96; c.n_layer = 2; c.n_head = 4; c.n_head_kv = 2; c.seq_len = 12;
    c.weight_mode = mode;
    c.tied_embedding = mode == WeightMode::kTernary;
    c.activation = mode == WeightMode::kTernary ? FfnActivation::kSilu : FfnActivation::kRelu2;
    ThreadPool pool(2);
    TrainModel model(c);
    model.init(3, 0.1f);
    Rng rng(4);
    std::vector<int32_t> tokens(size_t(c.seq_len)), targets(tokens.size());
    for (auto& t : tokens) t = int32_t(rng.below(uint64_t(c.n_vocab)));
    AdamW opt(model.params().size(), {});
    for (int s = 0; s < 3; ++s) {  // trained weights, not just the init (norm gains move)
      model.zero_grads();
      model.forward_backward(tokens, tokens, 1.0f / float(c.seq_len), pool);
      opt.step(model.tensors(), model.params(), model.grads(), 1e-2f, 0.1f, pool);
    }
    std::vector<float> want;
    model.forward(tokens, targets, pool, &want, /*kv_f16=*/true);  // the runtime's f16 KV cache

    const std::string path = (std::filesystem::temp_directory_path() /
                              fmt::format("bitlm_export_test_{}_{}.gguf", getpid(), int(mode))).string();
    export_gguf(model, "", path);
    const auto m = Model::load(path);
    Forward fwd(*m, c.seq_len, pool, ActMode::kInt8);
    fwd.eval(tokens, /*all_logits=*/true);
    double max_abs = 0, max_err = 0;
    for (int64_t t = 0; t < c.seq_len; ++t) {
      const auto got = fwd.logits(t);
      ASSERT_EQ(int64_t(got.size()), c.n_vocab);
      for (int64_t v = 0; v < c.n_vocab; ++v) {
        const double w = want[size_t(t * c.n_vocab + v)];
        max_abs = std::max(max_abs, std::fabs(w));
        max_err = std::max(max_err, std::fabs(double(got[size_t(v)]) - w));
      }
    }
    EXPECT_LE(max_err, 1e-4 * max_abs) << weight_mode_name(mode) << ": max error " << max_err << " of " << max_abs;
    std::filesystem::remove(path);
  }
}

TEST(Export, FpModelIsRefused) {
  TrainModelConfig c;
  c.n_vocab = 16; c.n_embd = 8; c.n_ff = 8; c.n_layer = 1; c.n_head = 2; c.n_head_kv = 2; c.seq_len = 4;
  c.weight_mode = WeightMode::kFp;
  TrainModel model(c);
  EXPECT_THROW(export_gguf(model, "", "/nonexistent/x.gguf"), UserError);
}

}  // namespace
}  // namespace bitlm
