// serve/engine.cpp — see engine.h.
#include "serve/engine.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/sys.h"
#include "serve/api_error.h"
#include "tokenizer/tokenizer.h"

namespace bitlm {

std::string_view finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
    case FinishReason::kNone: break;
  }
  return "";
}

bool GenerationStream::wait(GenerationEvent& out, double timeout_s) {
  std::unique_lock lk(mu_);
  if (!cv_.wait_for(lk, std::chrono::duration<double>(timeout_s), [&] { return !events_.empty(); })) return false;
  out = std::move(events_.front());
  events_.pop_front();
  while (!events_.empty() && out.finish == FinishReason::kNone) {  // merge what queued up meanwhile
    GenerationEvent& next = events_.front();
    out.text += next.text;
    for (TokenLogprob& lp : next.logprobs) out.logprobs.push_back(std::move(lp));
    out.finish = next.finish;
    out.error = std::move(next.error);
    out.n_prompt = next.n_prompt, out.n_generated = next.n_generated;
    out.prompt_ms = next.prompt_ms, out.generate_ms = next.generate_ms;
    events_.pop_front();
  }
  return true;
}

void GenerationStream::push(GenerationEvent ev) {
  {
    std::lock_guard lk(mu_);
    events_.push_back(std::move(ev));
  }
  cv_.notify_one();
}

struct BatchEngine::Slot {
  int64_t seq = 0;
  std::shared_ptr<GenerationStream> stream;  // null: free
  GenerationJob job;
  std::optional<Sampler> sampler;
  std::optional<StopScanner> stops;
  std::vector<int32_t> history;  // prompt, then generated tokens
  size_t n_fed = 0;              // history[0, n_fed) is in the cache
  int64_t n_generated = 0, limit = 0;
  double t_start = 0, t_first = 0;
};

BatchEngine::BatchEngine(const Model& model, const Tokenizer& tok, ThreadPool& pool, const EngineOptions& options)
    : tok_(tok), opt_(options),
      fwd_(model, options.n_ctx, pool, options.act, std::max(options.max_batch, options.n_parallel), options.kv_type,
           options.n_parallel) {
  BITLM_ASSERT(opt_.n_parallel > 0 && opt_.n_ctx > 1 && opt_.max_queue >= 0 && opt_.prefill_chunk > 0);
  opt_.max_batch = fwd_.max_batch();
  for (int64_t i = 0; i < opt_.n_parallel; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->seq = i;
    if (opt_.commit_kv) fwd_.kv(i).commit();
  }
  stats_.n_slots = opt_.n_parallel;
  thread_ = std::thread([this] { run(); });
}

BatchEngine::~BatchEngine() { shutdown(); }

std::shared_ptr<GenerationStream> BatchEngine::submit(GenerationJob job) {
  if (job.prompt.empty()) throw ApiError(400, "the prompt is empty (no tokens)", "prompt");
  if (int64_t(job.prompt.size()) >= opt_.n_ctx)
    throw ApiError(400,
                   fmt::format("the prompt has {} tokens but the context is {} (-c): it must leave room for a reply",
                               job.prompt.size(), opt_.n_ctx),
                   "messages", "context_length_exceeded");
  for (int32_t id : job.prompt)
    if (id < 0 || id >= tok_.n_vocab())
      throw ApiError(400, fmt::format("token id {} is outside the vocabulary [0, {})", id, tok_.n_vocab()), "prompt");
  auto stream = std::make_shared<GenerationStream>();
  {
    std::lock_guard lk(mu_);
    if (stopping_) throw ApiError(503, "the server is shutting down");
    const int64_t busy = std::count_if(slots_.begin(), slots_.end(), [](auto& s) { return s->stream != nullptr; });
    if (int64_t(queue_.size()) >= opt_.max_queue + (opt_.n_parallel - busy)) {
      ++stats_.requests_rejected;
      throw ApiError(503, fmt::format("all {} slots are busy and {} requests wait (--queue); retry later",
                                      opt_.n_parallel, queue_.size()),
                     "", "queue_full");
    }
    queue_.push_back({std::move(job), stream});
  }
  cv_.notify_one();
  return stream;
}

void BatchEngine::shutdown() {
  {
    std::lock_guard lk(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lk(mu_);
  for (Pending& p : queue_) {
    GenerationEvent ev;
    ev.finish = FinishReason::kCancelled;
    p.stream->push(std::move(ev));
  }
  queue_.clear();
}

EngineStats BatchEngine::stats() const {
  std::lock_guard lk(mu_);
  EngineStats s = stats_;
  s.queued = int64_t(queue_.size());
  if (recent_steps_.size() >= 2) {
    int64_t n = 0;
    for (auto it = std::next(recent_steps_.begin()); it != recent_steps_.end(); ++it) n += it->second;
    const double dt = recent_steps_.back().first - recent_steps_.front().first;
    s.decode_tokens_per_s = dt > 0 ? double(n) / dt : 0;
  }
  return s;
}

void BatchEngine::run() {
  for (;;) {
    {
      std::unique_lock lk(mu_);
      const auto any_busy = [&] {
        return std::any_of(slots_.begin(), slots_.end(), [](auto& s) { return s->stream != nullptr; });
      };
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty() || any_busy(); });
      if (stopping_) break;
      for (auto& s : slots_) {  // admit into free slots, oldest request first
        if (queue_.empty()) break;
        if (s->stream) continue;
        Pending p = std::move(queue_.front());
        queue_.pop_front();
        lk.unlock();
        admit(std::move(p));
        lk.lock();
      }
    }
    step();
  }
  for (auto& s : slots_)
    if (s->stream) finish(*s, FinishReason::kCancelled);
}

// Into the free slot whose cached tokens share the longest prefix with the prompt (all slots are
// free-or-busy; the caller found at least one free).
void BatchEngine::admit(Pending p) {
  Slot* best = nullptr;
  size_t best_common = 0;
  for (auto& s : slots_) {
    if (s->stream) continue;
    const size_t n = std::min(s->n_fed, p.job.prompt.size() - 1);  // one token left to feed: its logits
    const size_t common = size_t(std::mismatch(p.job.prompt.begin(), p.job.prompt.begin() + ptrdiff_t(n),
                                               s->history.begin()).first - p.job.prompt.begin());
    if (!best || common > best_common) best = s.get(), best_common = common;
  }
  Slot& s = *best;
  {
    std::lock_guard lk(mu_);  // submit() counts busy slots by their streams on the HTTP threads
    s.stream = std::move(p.stream);
  }
  s.job = std::move(p.job);
  s.history = s.job.prompt;
  s.n_fed = best_common;
  fwd_.kv(s.seq).set_n_pos(int64_t(best_common));
  s.sampler.emplace(s.job.gen.sampling, tok_.n_vocab());
  s.stops.emplace(s.job.gen.stop);
  s.n_generated = 0;
  s.limit = s.job.gen.max_tokens < 0 ? std::numeric_limits<int64_t>::max() : s.job.gen.max_tokens;
  s.t_start = now_seconds();
  s.t_first = 0;
  {
    std::lock_guard lk(mu_);
    stats_.prompt_tokens += s.history.size();
    ++stats_.busy_slots;
  }
  if (s.limit == 0) finish(s, FinishReason::kLength);  // max_tokens 0: the usage, no text
}

void BatchEngine::step() {
  for (auto& s : slots_)
    if (s->stream && s->stream->cancelled()) finish(*s, FinishReason::kCancelled);
  std::vector<SeqTokens> batch;
  std::vector<Slot*> who;
  int64_t budget = opt_.max_batch;
  bool decoding = false;
  for (auto& s : slots_)  // decode rows first: one each, the token sampled last step
    if (s->stream && s->n_fed + 1 == s->history.size() && s->n_generated > 0) {
      batch.push_back({s->seq, {&s->history[s->n_fed], 1}, true});
      who.push_back(s.get());
      --budget;
      decoding = true;
    }
  if (decoding) budget = std::min(budget, opt_.prefill_chunk);
  for (auto& s : slots_) {  // then prompt chunks, while the step has rows left
    if (!s->stream || budget <= 0 || (s->n_fed + 1 == s->history.size() && s->n_generated > 0)) continue;
    const size_t n = std::min(s->history.size() - s->n_fed, size_t(budget));
    batch.push_back({s->seq, {&s->history[s->n_fed], n}, s->n_fed + n == s->history.size()});
    who.push_back(s.get());
    budget -= int64_t(n);
  }
  if (batch.empty()) return;
  try {
    fwd_.eval_seqs(batch);
  } catch (const std::exception& e) {  // not expected: submit() checked the ids and lengths
    for (Slot* s : who) {
      GenerationEvent ev;
      ev.text = e.what();
      finish(*s, FinishReason::kError, std::move(ev));
    }
    return;
  }
  int64_t generated = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    Slot& s = *who[i];
    s.n_fed += batch[i].tokens.size();
    if (!batch[i].want_logits) continue;
    emit_token(s, fwd_.seq_logits(int64_t(i)));
    ++generated;
  }
  std::lock_guard lk(mu_);
  ++stats_.steps;
  const double now = now_seconds();
  recent_steps_.emplace_back(now, generated);
  while (recent_steps_.size() > 2 && recent_steps_.front().first < now - 10) recent_steps_.pop_front();
}

void BatchEngine::emit_token(Slot& s, std::span<const float> logits) {
  const int32_t id = s.sampler->sample(logits, s.history);
  if (s.n_generated == 0) s.t_first = now_seconds();
  if (!s.job.gen.ignore_eos && tok_.is_end_of_generation(id)) return finish(s, FinishReason::kStop);
  ++s.n_generated;
  {
    std::lock_guard lk(mu_);
    ++stats_.generated_tokens;
  }
  s.history.push_back(id);
  GenerationEvent ev;
  ev.text = s.stops->push(tok_.token_bytes(id));
  if (s.job.gen.logprobs) ev.logprobs.push_back(logprob_of(logits, id, s.job.gen.top_logprobs));
  if (s.stops->stopped()) return finish(s, FinishReason::kStop, std::move(ev));
  // The next token could not be fed: the cache would hold n_ctx positions.
  if (s.n_generated >= s.limit || int64_t(s.history.size()) >= opt_.n_ctx)
    return finish(s, FinishReason::kLength, std::move(ev));
  s.stream->push(std::move(ev));
}

// The last event carries the held-back text (a stop string's start that did not complete, an
// unfinished UTF-8 character) and the totals; the slot keeps what its cache holds.
void BatchEngine::finish(Slot& s, FinishReason why, GenerationEvent ev) {
  if (why == FinishReason::kError) ev.error = std::move(ev.text), ev.text.clear();
  else ev.text += s.stops->flush();
  ev.finish = why;
  ev.n_prompt = int64_t(s.job.prompt.size());
  ev.n_generated = s.n_generated;
  const double now = now_seconds(), first = s.t_first > 0 ? s.t_first : now;
  ev.prompt_ms = (first - s.t_start) * 1e3;
  ev.generate_ms = (now - first) * 1e3;
  s.stream->push(std::move(ev));
  s.history.resize(s.n_fed);
  std::lock_guard lk(mu_);
  s.stream.reset();  // under mu_, as in admit(): the engine thread alone writes it
  ++stats_.requests_done;
  --stats_.busy_slots;
}

// log softmax of the raw logits (the model's distribution, before the sampler's penalties).
TokenLogprob BatchEngine::logprob_of(std::span<const float> logits, int32_t id, int top) const {
  const float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l - mx));
  const float lse = mx + float(std::log(sum));
  TokenLogprob lp{tok_.token_bytes(id), logits[size_t(id)] - lse, {}};
  if (top > 0) {
    std::vector<int32_t> ids(logits.size());
    std::iota(ids.begin(), ids.end(), 0);
    const auto k = std::min<size_t>(size_t(top), ids.size());
    std::partial_sort(ids.begin(), ids.begin() + ptrdiff_t(k), ids.end(), [&](int32_t a, int32_t b) {
      return logits[size_t(a)] > logits[size_t(b)] || (logits[size_t(a)] == logits[size_t(b)] && a < b);
    });
    for (size_t i = 0; i < k; ++i) lp.top.emplace_back(tok_.token_bytes(ids[i]), logits[size_t(ids[i])] - lse);
  }
  return lp;
}

}  // namespace bitlm
