// train/trainer.cpp — see trainer.h.
#include "train/trainer.h"

#include <csignal>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "core/error.h"
#include "core/progress.h"
#include "core/sys.h"
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
                     Distributed& dist, ThreadPool& pool, GradientSums& sums) {
  const int64_t rank_batch = cfg.batch_size / dist.size();
  std::vector<int32_t> in(size_t(cfg.model.seq_len)), tgt(in.size());
  sums.step.assign(model.grads().size(), 0.0f);
  double loss = 0;
  for (int64_t micro = 0; micro < cfg.grad_accum; ++micro) {
    loader.skip(dist.rank() * rank_batch);  // every rank walks the whole batch: one data position
    for (int64_t s = 0; s < rank_batch; ++s) {
      loader.next(1, in, tgt);
      const double seq_loss = model.forward_backward(in, tgt, grad_scale, pool);
      sums.losses.push({&seq_loss, 1});
      model.swap_grads(sums.leaf);
      sums.sequences.push_swap(sums.leaf);
    }
    loader.skip((dist.size() - 1 - dist.rank()) * rank_batch);
    std::vector<float>& micro_grad = sums.sequences.finish();
    dist.sum_pairwise(micro_grad);
    for (size_t i = 0; i < micro_grad.size(); ++i) sums.step[i] += micro_grad[i];
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
    const std::string tmp = path + ".tmp";
    std::ofstream out(tmp, std::ios::trunc);
    if (!(out << kept) || !out.flush()) throw IoError(fmt::format("{}: cannot write", tmp));
    out.close();
    std::filesystem::rename(tmp, path);
  }
  std::ofstream f(path, resume ? std::ios::app : std::ios::trunc);
  if (!f) throw IoError(fmt::format("{}: cannot open for writing", path));
  return f;
}

}  // namespace

void install_stop_signal_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

TrainResult run_training(TrainConfig cfg, const TrainOptions& options) {
  g_stop_requested.store(false);
  Distributed& dist = Distributed::world();
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
  }
  std::optional<std::ofstream> metrics;  // rank 0 alone writes files and draws the progress bar
  std::optional<ProgressBar> bar;
  if (dist.is_root()) {
    std::filesystem::create_directories(cfg.out_dir);
    metrics.emplace(open_metrics(cfg.out_dir + "/metrics.jsonl", !options.resume.empty(), state.step));
    if (options.progress) bar.emplace("train", cfg.steps);
  }

  const int64_t T = cfg.model.seq_len, tokens_per_step = cfg.batch_size * cfg.grad_accum * T;
  const float grad_scale = 1.0f / float(tokens_per_step);  // mean loss over the global batch
  GradientSums sums(pool);
  TrainResult res;
  const double t0 = now_seconds();
  const int64_t first_step = state.step;
  auto checkpoint = [&] {
    state.data = loader.position();
    if (dist.is_root()) save_checkpoint(ckpt_path, cfg, model, opt, state);
  };
  try {
    while (state.step < cfg.steps) {
      const StepHyper hp = schedule_at(cfg.schedule, state.step);
      const double loss = step_gradient(cfg, grad_scale, model, loader, dist, pool, sums) / double(tokens_per_step);
      BITLM_CHECK(std::isfinite(loss), "training diverged at step {} (loss {}); lower schedule.lr", state.step, loss);
      const double gnorm = clip_grad_norm(sums.step, cfg.grad_clip);
      opt.step(model.tensors(), model.params(), sums.step, hp.lr, hp.weight_decay, pool);
      ++state.step;
      const double elapsed = now_seconds() - t0;
      res.tokens_per_s = double((state.step - first_step) * tokens_per_step) / std::max(elapsed, 1e-9);
      res.last_loss = loss;
      if (metrics)
        *metrics << nlohmann::json{{"step", state.step}, {"loss", loss}, {"lr", hp.lr},
                                   {"weight_decay", hp.weight_decay}, {"grad_norm", gnorm},
                                   {"tokens", state.step * tokens_per_step}, {"tokens_per_s", res.tokens_per_s},
                                   {"elapsed_s", elapsed}}.dump()
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
