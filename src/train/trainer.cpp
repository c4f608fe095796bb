// train/trainer.cpp — see trainer.h.
#include "train/trainer.h"

#include <csignal>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>

#include "core/error.h"
#include "core/progress.h"
#include "core/sys.h"
#include "train/checkpoint.h"
#include "train/data.h"

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

}  // namespace

void install_stop_signal_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

TrainResult run_training(TrainConfig cfg, const TrainOptions& options) {
  g_stop_requested.store(false);
  ShardLoader loader(cfg.train_data, cfg.model.seq_len);
  if (cfg.model.n_vocab == 0) cfg.model.n_vocab = loader.vocab_size();
  BITLM_CHECK(cfg.model.n_vocab >= loader.vocab_size(), "model.n_vocab = {} is smaller than the data's vocab ({})",
              cfg.model.n_vocab, loader.vocab_size());
  cfg.validate();
  std::filesystem::create_directories(cfg.out_dir);
  const std::string ckpt_path = cfg.out_dir + "/checkpoint.safetensors";

  ThreadPool pool(cfg.threads > 0 ? cfg.threads : default_thread_count());
  TrainModel model(cfg.model);
  model.init(cfg.seed, cfg.init_std);
  AdamW opt(model.params().size(), cfg.adam);
  TrainState state;
  if (!options.resume.empty()) {
    state = load_checkpoint(options.resume, cfg, model, opt);
    loader.seek(state.data);
  }
  std::ofstream metrics(cfg.out_dir + "/metrics.jsonl", options.resume.empty() ? std::ios::trunc : std::ios::app);
  if (!metrics) throw IoError(fmt::format("{}/metrics.jsonl: cannot open for writing", cfg.out_dir));

  const int64_t T = cfg.model.seq_len, tokens_per_step = cfg.batch_size * cfg.grad_accum * T;
  const float grad_scale = 1.0f / float(tokens_per_step);  // mean loss over the global batch
  std::vector<int32_t> in(size_t(cfg.batch_size * T)), tgt(in.size());
  std::optional<ProgressBar> bar;
  if (options.progress) bar.emplace("train", cfg.steps);
  TrainResult res;
  const double t0 = now_seconds();
  const int64_t first_step = state.step;
  auto checkpoint = [&] {
    state.data = loader.position();
    save_checkpoint(ckpt_path, cfg, model, opt, state);
  };
  while (state.step < cfg.steps) {
    const StepHyper hp = schedule_at(cfg.schedule, state.step);
    model.zero_grads();
    double loss = 0;
    for (int64_t micro = 0; micro < cfg.grad_accum; ++micro) {
      loader.next(cfg.batch_size, in, tgt);
      loss += model.forward_backward(in, tgt, grad_scale, pool);
    }
    loss /= double(tokens_per_step);
    BITLM_CHECK(std::isfinite(loss), "training diverged at step {} (loss {}); lower schedule.lr", state.step, loss);
    const double gnorm = clip_grad_norm(model.grads(), cfg.grad_clip);
    opt.step(model.tensors(), model.params(), model.grads(), hp.lr, hp.weight_decay, pool);
    ++state.step;
    const double elapsed = now_seconds() - t0;
    res.tokens_per_s = double((state.step - first_step) * tokens_per_step) / std::max(elapsed, 1e-9);
    res.last_loss = loss;
    metrics << nlohmann::json{{"step", state.step}, {"loss", loss}, {"lr", hp.lr}, {"weight_decay", hp.weight_decay},
                              {"grad_norm", gnorm}, {"tokens", state.step * tokens_per_step},
                              {"tokens_per_s", res.tokens_per_s}, {"elapsed_s", elapsed}}.dump()
            << '\n';
    if (cfg.eval_every > 0 && !cfg.valid_data.empty() && state.step % cfg.eval_every == 0) {
      res.last_val_loss = validation_loss(cfg, model, pool);
      metrics << nlohmann::json{{"step", state.step}, {"val_loss", res.last_val_loss},
                                {"val_ppl", std::exp(res.last_val_loss)}}.dump() << '\n';
    }
    metrics.flush();
    if (bar)
      bar->update(state.step, fmt::format("loss {:.4f} | lr {:.2e} | {:.0f} tok/s", loss, hp.lr, res.tokens_per_s));
    const bool stop = g_stop_requested.load() || state.step == options.stop_after_steps;
    if (stop || (cfg.checkpoint_every > 0 && state.step % cfg.checkpoint_every == 0) || state.step == cfg.steps)
      checkpoint();
    if (stop && state.step < cfg.steps) {
      res.interrupted = true;
      break;
    }
  }
  if (bar)
    bar->finish(fmt::format("loss {:.4f} | {:.0f} tok/s{}", res.last_loss, res.tokens_per_s,
                           res.interrupted ? " | interrupted, checkpoint saved" : ""));
  res.steps_done = state.step;
  return res;
}

}  // namespace bitlm
