// train/trainer.cpp — see trainer.h.
#include "train/trainer.h"

#include <algorithm>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

#include "core/error.h"
#include "core/progress.h"
#include "core/sys.h"
#include "io/atomic_write.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/distributed.h"
#include "train/pairwise_sum.h"

namespace bitlm {
namespace {

std::atomic<bool> g_stop_requested{false};

void on_stop_signal(int) { g_stop_requested.store(true); }

double validation_loss(const TrainConfig& cfg, TrainModel& model, ThreadPool& pool) {
  ShardLoader loader(cfg.valid_data, cfg.model.seq_len);
  const size_t n = size_t(cfg.batch_size * cfg.model.seq_len);
  std::vector<int32_t> in(n), tgt(n);
  double sum = 0;
  for (int64_t b = 0; b < cfg.eval_batches; ++b) {
    loader.next(cfg.batch_size, in, tgt);
    sum += model.forward(in, tgt, pool);
  }
  return sum / double(cfg.eval_batches * int64_t(n));
}

// A rank that mpirun bound to some cores (its default for -np 2: one core each) uses them all;
// unbound ranks see every core and split them.
int rank_threads(int n_ranks) {
  const int visible = default_thread_count();
  const bool bound = visible < int(std::thread::hardware_concurrency());
  return bound ? visible : std::max(1, visible / n_ranks);
}

// The sequences of a micro-batch run side by side, one per thread, each on its own copy of the
// model with a one-thread pool: every op of a 256-token sequence split across threads left the
// second core waiting at each op's join and in the serial ops between. A sequence's gradient does
// not depend on the thread count (ops are tested for it), and the leaves are pushed in sequence
// order, so the sums are bit-identical to one sequence at a time. The copies cost memory
// (parameters, gradients, quantized weights, activations), so large models keep the old path.
class SequenceRunners {
 public:
  SequenceRunners(const TrainModelConfig& model_cfg, int64_t n_params, int threads, int64_t rank_batch) {
    constexpr int64_t kCopyBudgetBytes = int64_t(1) << 30;  // ~16 bytes per parameter per copy
    const int64_t n = std::min<int64_t>(threads, rank_batch);
    if (n < 2 || (n - 1) * n_params * 16 > kCopyBudgetBytes) return;
    for (int64_t i = 0; i < n; ++i) pools_.push_back(std::make_unique<ThreadPool>(1));
    for (int64_t i = 1; i < n; ++i) copies_.push_back(std::make_unique<TrainModel>(model_cfg));
  }
  // Sequences run side by side at a time: one per pool, or 1 (on the whole pool) without copies.
  int64_t batch() const { return std::max<int64_t>(1, int64_t(pools_.size())); }

  // forward_backward of n <= batch() sequences (ins[i], tgts[i]) on model and its copies, one
  // sequence per thread of `pool`; fn(model_i, loss_i) then sees them in order.
  template <typename Fn>
  void run(TrainModel& model, int64_t n, const std::vector<std::vector<int32_t>>& ins,
           const std::vector<std::vector<int32_t>>& tgts, float grad_scale, ThreadPool& pool, Fn&& fn) {
    if (copies_.empty()) return fn(model, model.forward_backward(ins[0], tgts[0], grad_scale, pool));
    auto loss = std::vector<double>(size_t(n));
    pool.run([&](int i, int) {
      if (i < n) loss[size_t(i)] = replica(model, i).forward_backward(ins[size_t(i)], tgts[size_t(i)], grad_scale, *pools_[size_t(i)]);
    });
    for (int64_t i = 0; i < n; ++i) fn(replica(model, int(i)), loss[size_t(i)]);
  }

  // The copies take the model's parameters (after each optimizer step), split across the pool.
  void sync(const TrainModel& model, ThreadPool& pool) {
    const std::span<const float> p = model.params();
    for (auto& c : copies_) {
      float* dst = c->params().data();
      pool.parallel_for(0, int64_t(p.size()), 4096, [&](int64_t i0, int64_t i1) { std::copy(&p[size_t(i0)], &p[size_t(i0)] + (i1 - i0), dst + i0); });
    }
  }

 private:
  TrainModel& replica(TrainModel& model, int i) { return i == 0 ? model : *copies_[size_t(i - 1)]; }
  std::vector<std::unique_ptr<ThreadPool>> pools_;
  std::vector<std::unique_ptr<TrainModel>> copies_;
};

struct GradientSums {
  explicit GradientSums(ThreadPool& pool) : sequences(&pool) {}
  PairwiseSum<float> sequences;
  PairwiseSum<double> losses;
  std::vector<float> leaf;  // a sequence's gradient, swapped out of the model into the tree
  std::vector<float> step;  // the step's gradient: the micro-batches' sums added in order
};

// Computes one step's gradient into sums.step and returns its summed loss. Every sequence's
// gradient is a leaf of one pairwise tree per micro-batch (train/pairwise_sum.h); the ranks take
// consecutive runs of its sequences and their subtrees are joined by the same tree, so a
// power-of-two share per rank adds exactly as one process would (distributed.h).
double step_gradient(const TrainConfig& cfg, float grad_scale, TrainModel& model, ShardLoader& loader,
                     Distributed& dist, ThreadPool& pool, SequenceRunners& runners, GradientSums& sums) {
  const int64_t rank_batch = cfg.batch_size / dist.size();
  const int64_t side_by_side = runners.batch();
  std::vector<std::vector<int32_t>> ins(size_t(side_by_side), std::vector<int32_t>(size_t(cfg.model.seq_len)));
  std::vector<std::vector<int32_t>> tgts = ins;
  auto push = [&](TrainModel& m, double seq_loss) {
    sums.losses.push({&seq_loss, 1});
    m.swap_grads(sums.leaf);
    sums.sequences.push_swap(sums.leaf);
  };
  sums.step.assign(model.grads().size(), 0.0f);
  runners.sync(model, pool);
  double loss = 0;
  for (int64_t micro = 0; micro < cfg.grad_accum; ++micro) {
    loader.skip(dist.rank() * rank_batch);  // every rank walks the whole batch: one data position
    for (int64_t s = 0; s < rank_batch; s += side_by_side) {
      const int64_t n = std::min(side_by_side, rank_batch - s);
      for (int64_t i = 0; i < n; ++i) loader.next(1, ins[size_t(i)], tgts[size_t(i)]);
      runners.run(model, n, ins, tgts, grad_scale, pool, push);
    }
    loader.skip((dist.size() - 1 - dist.rank()) * rank_batch);
    std::vector<float>& micro_grad = sums.sequences.finish();
    dist.sum_pairwise(micro_grad);
    pool.parallel_for(0, int64_t(micro_grad.size()), 4096, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) sums.step[size_t(i)] += micro_grad[size_t(i)];
    });
    loss += dist.sum_pairwise(sums.losses.finish()[0]);
  }
  return loss;
}

// Opens metrics.jsonl for appending. On --resume it first drops the lines past the checkpoint's
// step (a run killed after its last checkpoint wrote them; the resumed run writes them again)
// and a torn last line, rewriting the file atomically.
std::ofstream open_metrics(const std::string& path, bool resume, int64_t resume_step) {
  if (resume && std::filesystem::exists(path)) {
    std::ifstream old(path);
    std::string kept;
    for (std::string line; std::getline(old, line);) {
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      const bool whole = j.is_object() && j.contains("step") && j["step"].is_number_integer();
      if (whole && j["step"].get<int64_t>() <= resume_step) kept += line + '\n';
    }
    old.close();
    atomic_write_text(path, kept);
  }
  std::ofstream f(path, resume ? std::ios::app : std::ios::trunc);
  if (!f) throw IoError(fmt::format("{}: cannot open for writing", path));
  return f;
}

// A config's own numbers are checked before the data is opened, so a bad field is reported even
// when the shards are missing too. n_vocab 0 means "the data's vocab", checked once it is known.
void validate_before_data(const TrainConfig& cfg) {
  TrainConfig known = cfg;
  if (known.model.n_vocab == 0) known.model.n_vocab = 2;
  known.validate();
}

}  // namespace

TrainingDiverged::TrainingDiverged(int64_t step_, double loss_)
    : UserError(fmt::format("training diverged at step {} (loss {}); lower schedule.lr", step_, loss_)),
      step(step_), loss(loss_) {}

void install_stop_signal_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

TrainResult run_training(TrainConfig cfg, const TrainOptions& options) {
  g_stop_requested.store(false);
  Distributed& dist = Distributed::world();
  validate_before_data(cfg);
  ShardLoader loader(cfg.train_data, cfg.model.seq_len);
  if (cfg.model.n_vocab == 0) cfg.model.n_vocab = loader.vocab_size();
  BITLM_CHECK(cfg.model.n_vocab >= loader.vocab_size(), "model.n_vocab = {} is smaller than the data's vocab ({})",
              cfg.model.n_vocab, loader.vocab_size());
  cfg.validate();
  BITLM_CHECK(cfg.batch_size % dist.size() == 0,
              "batch_size = {} does not divide among the {} MPI processes (each takes an equal share of every batch)",
              cfg.batch_size, dist.size());
  const std::string ckpt_path = cfg.out_dir + "/checkpoint.safetensors";

  ThreadPool pool(cfg.threads > 0 ? cfg.threads : rank_threads(dist.size()));
  TrainModel model(cfg.model);
  model.init(cfg.seed, cfg.init_std);
  AdamW opt(model.params().size(), cfg.adam);
  TrainState state;
  if (!options.resume.empty()) {
    state = load_checkpoint(options.resume, cfg, model, opt);
    loader.seek(state.data);
    if (dist.is_root())
      fmt::print(stderr, "train: resuming {} at step {} of {} ({:.0f} s of training so far)\n", options.resume,
                 state.step, cfg.steps, state.elapsed_s);
  }
  if (cfg.model.elastic_act && state.step == 0) {
    // Elastic activation scales from the first batch (at most 8 of its sequences; TrainModel::init):
    // the same sequences on every rank, before the sequence runners copy the parameters.
    ShardLoader first(cfg.train_data, cfg.model.seq_len);
    first.seek(loader.position());
    const int64_t n = std::min<int64_t>(cfg.batch_size, 8);
    std::vector<int32_t> in(size_t(n * cfg.model.seq_len)), tgt(in.size());
    first.next(n, in, tgt);
    model.forward(in, tgt, pool);
  }
  std::optional<std::ofstream> metrics;  // rank 0 alone writes files and draws the progress bar
  std::optional<ProgressBar> bar;
  if (dist.is_root()) {
    std::filesystem::create_directories(cfg.out_dir);
    metrics.emplace(open_metrics(cfg.out_dir + "/metrics.jsonl", !options.resume.empty(), state.step));
    if (options.progress)
      bar.emplace("train", cfg.steps, ProgressOptions{.first = state.step, .log_interval_s = options.log_interval_s});
  }

  const int64_t T = cfg.model.seq_len, tokens_per_step = cfg.batch_size * cfg.grad_accum * T;
  const float grad_scale = 1.0f / float(tokens_per_step);  // mean loss over the global batch
  GradientSums sums(pool);
  SequenceRunners runners(cfg.model, int64_t(model.params().size()), pool.n_threads(), cfg.batch_size / dist.size());
  TrainResult res;
  const double t0 = now_seconds(), elapsed_before = state.elapsed_s;
  const int64_t first_step = state.step;
  auto checkpoint = [&] {
    state.data = loader.position();
    state.elapsed_s = elapsed_before + (now_seconds() - t0);
    if (dist.is_root()) save_checkpoint(ckpt_path, cfg, model, opt, state);
  };
  try {
    while (state.step < cfg.steps) {
      const StepHyper hp = schedule_at(cfg.schedule, state.step);
      const double loss = step_gradient(cfg, grad_scale, model, loader, dist, pool, runners, sums) / double(tokens_per_step);
      if (!std::isfinite(loss)) throw TrainingDiverged(state.step, loss);
      const double gnorm = clip_grad_norm(sums.step, cfg.grad_clip);
      opt.step(model.tensors(), model.params(), sums.step, hp.lr, hp.weight_decay, pool);
      ++state.step;
      const double elapsed = now_seconds() - t0;  // this run's; elapsed_s in the metrics counts every run's
      res.tokens_per_s = double((state.step - first_step) * tokens_per_step) / std::max(elapsed, 1e-9);
      res.last_loss = loss;
      if (metrics)
        *metrics << nlohmann::json{{"step", state.step}, {"loss", loss}, {"lr", hp.lr},
                                   {"weight_decay", hp.weight_decay}, {"grad_norm", gnorm},
                                   {"tokens", state.step * tokens_per_step}, {"tokens_per_s", res.tokens_per_s},
                                   {"elapsed_s", elapsed_before + elapsed}}.dump()
                 << '\n';
      if (metrics && cfg.eval_every > 0 && !cfg.valid_data.empty() && state.step % cfg.eval_every == 0) {
        res.last_val_loss = validation_loss(cfg, model, pool);
        *metrics << nlohmann::json{{"step", state.step}, {"val_loss", res.last_val_loss},
                                   {"val_ppl", std::exp(res.last_val_loss)}}.dump() << '\n';
      }
      if (metrics) metrics->flush();
      if (bar)
        bar->update(state.step, fmt::format("loss {:.4f} | lr {:.2e} | {:.0f} tok/s", loss, hp.lr, res.tokens_per_s));
      // One decision for all ranks: a signal may reach them at different steps.
      const bool stop = dist.any(g_stop_requested.load()) || state.step == options.stop_after_steps;
      if (stop || (cfg.checkpoint_every > 0 && state.step % cfg.checkpoint_every == 0) || state.step == cfg.steps)
        checkpoint();
      if (stop && state.step < cfg.steps) {
        res.interrupted = true;
        break;
      }
    }
  } catch (const std::exception& e) {
    if (dist.size() > 1) dist.abort(e.what(), dynamic_cast<const UserError*>(&e) ? 2 : 1);
    throw;
  }
  if (bar)
    bar->finish(fmt::format("loss {:.4f} | {:.0f} tok/s{}", res.last_loss, res.tokens_per_s,
                           res.interrupted ? " | interrupted, checkpoint saved" : ""));
  res.steps_done = state.step;
  return res;
}

}  // namespace bitlm
