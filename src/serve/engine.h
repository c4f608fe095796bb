// serve/engine.h — continuous batching: up to n_parallel requests decode together, one batched
// forward per step (Forward::eval_seqs: every BitLinear one int8 x ternary GEMM over all active
// rows). Each slot owns one sequence of the forward, i.e. its own KV cache region. A step feeds
// every decoding slot its last token and fills the rest of the batch with prompt chunks, so a new
// request's prompt is processed between steps while the running streams keep flowing; requests
// beyond the slots wait in a bounded queue. Sampling, stop strings and logprobs run per slot on
// the engine's thread; HTTP threads only wait on their request's GenerationStream.
//
// What a request generates does not depend on what runs beside it: its rows' logits are
// bit-identical alone or batched (model/forward.h), and each slot has its own sampler and seed.
// A slot keeps the tokens its cache holds after a request ends; a new request whose prompt starts
// with them (a chat's next turn) reuses that prefix instead of recomputing it.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/thread_pool.h"
#include "model/forward.h"
#include "model/sampler.h"
#include "serve/requests.h"
#include "serve/text_stream.h"

namespace bitlm {

class Tokenizer;

enum class FinishReason { kNone, kStop, kLength, kCancelled, kError };
std::string_view finish_reason_name(FinishReason r);  // "stop" | "length" | "cancelled" | "error"

struct TokenLogprob {
  std::string token;  // its bytes (need not be UTF-8 on its own)
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;  // the top_logprobs most likely tokens
};

// Text and logprobs since the previous event; the last event has finish != kNone and the totals.
struct GenerationEvent {
  std::string text;
  std::vector<TokenLogprob> logprobs;
  FinishReason finish = FinishReason::kNone;
  std::string error;  // finish == kError
  int64_t n_prompt = 0, n_generated = 0;
  double prompt_ms = 0, generate_ms = 0;  // queue end to first token; first token to the last
};

// One request's events, from the engine thread to the HTTP thread that waits for them.
class GenerationStream {
 public:
  // The next events, merged into one; false if none came within timeout_s.
  bool wait(GenerationEvent& out, double timeout_s);
  // The client went away: the engine frees the slot at its next step.
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  void push(GenerationEvent ev);  // engine side

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<GenerationEvent> events_;
  std::atomic<bool> cancelled_{false};
};

struct GenerationJob {
  std::vector<int32_t> prompt;  // token ids, BOS included
  GenerationOptions gen;        // seed: the caller sets it when the client gave none
};

struct EngineOptions {
  int64_t n_parallel = 4;     // slots (sequences decoding together)
  int64_t n_ctx = 0;          // positions per slot
  int64_t max_queue = 64;     // requests waiting for a slot; beyond: 503
  int64_t max_batch = 64;     // rows per step (decode rows + prompt rows)
  int64_t prefill_chunk = 32;  // prompt rows per step while other slots decode
  KvCacheType kv_type = KvCacheType::kF16;
  ActMode act = ActMode::kInt8;
  bool commit_kv = false;     // touch every slot's whole cache at start-up (KvCache::commit)
};

struct EngineStats {
  uint64_t requests_done = 0, requests_rejected = 0, prompt_tokens = 0, generated_tokens = 0, steps = 0;
  int64_t queued = 0, busy_slots = 0, n_slots = 0;
  double decode_tokens_per_s = 0;  // generated tokens per second over the last 10 s of steps
};

class BatchEngine {
 public:
  BatchEngine(const Model& model, const Tokenizer& tok, ThreadPool& pool, const EngineOptions& options);
  ~BatchEngine();
  BatchEngine(const BatchEngine&) = delete;
  BatchEngine& operator=(const BatchEngine&) = delete;

  // Queues a job. ApiError 400 if the prompt is empty, has an id outside the vocabulary or does
  // not fit in a slot's context; 503 if the queue is full or the engine is shutting down.
  std::shared_ptr<GenerationStream> submit(GenerationJob job);
  // Stops taking jobs, cancels the queued and running ones (their streams end with kCancelled)
  // and joins the engine thread. Idempotent.
  void shutdown();
  EngineStats stats() const;
  int64_t n_ctx() const { return opt_.n_ctx; }

 private:
  struct Slot;
  struct Pending {
    GenerationJob job;
    std::shared_ptr<GenerationStream> stream;
  };
  void run();
  void admit(Pending p);
  void step();
  void emit_token(Slot& s, std::span<const float> logits);
  void finish(Slot& s, FinishReason why, GenerationEvent ev = {});
  TokenLogprob logprob_of(std::span<const float> logits, int32_t id, int top) const;

  const Tokenizer& tok_;
  EngineOptions opt_;
  Forward fwd_;
  std::vector<std::unique_ptr<Slot>> slots_;
  mutable std::mutex mu_;  // guards queue_, stopping_, stats_ and the step records
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  EngineStats stats_;
  std::deque<std::pair<double, int64_t>> recent_steps_;  // (end time, tokens generated)
  std::thread thread_;
};

}  // namespace bitlm
