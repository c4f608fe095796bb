// eval/perplexity.cpp — perplexity (llama chunks or sliding windows) and bits per byte (see perplexity.h).
#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace bitlm {

double PerplexityStats::perplexity() const { return std::exp(nll_per_token()); }
double PerplexityStats::nll_per_token() const { return n_tokens > 0 ? nll / double(n_tokens) : 0; }
double PerplexityStats::bits_per_byte() const { return n_bytes > 0 ? nll / std::log(2.0) / double(n_bytes) : 0; }

std::vector<LoglikelihoodRequest> perplexity_windows(std::span<const int32_t> tokens,
                                                     const PerplexityOptions& options) {
  const int64_t C = options.n_ctx;
  const int64_t stride = options.stride > 0 ? options.stride : C / 2;
  BITLM_CHECK(C >= 2, "the perplexity context must be at least 2 tokens (got {})", C);
  BITLM_CHECK(stride >= 1 && stride <= C - 1, "the stride must be in [1, {}] for a context of {} (got {})",
              C - 1, C, stride);
  const int64_t N = int64_t(tokens.size());
  std::vector<LoglikelihoodRequest> windows;
  if (N == 0 || (N == 1 && options.bos < 0)) return windows;
  LoglikelihoodRequest first;
  int64_t scored = 0;  // tokens [0, scored) are done
  if (options.bos >= 0) {
    first.context = {options.bos};
    scored = std::min(N, C - 1);
    first.continuation.assign(tokens.begin(), tokens.begin() + scored);
  } else {
    first.context = {tokens[0]};
    scored = std::min(N, C);
    first.continuation.assign(tokens.begin() + 1, tokens.begin() + scored);
  }
  windows.push_back(std::move(first));
  while (scored < N) {
    const int64_t n = std::min(stride, N - scored);
    const int64_t ctx_begin = std::max<int64_t>(0, scored + n - C);
    LoglikelihoodRequest w;
    w.context.assign(tokens.begin() + ctx_begin, tokens.begin() + scored);
    w.continuation.assign(tokens.begin() + scored, tokens.begin() + scored + n);
    windows.push_back(std::move(w));
    scored += n;
  }
  return windows;
}

std::vector<LoglikelihoodRequest> llama_chunk_windows(std::span<const int32_t> tokens, int64_t n_ctx, int32_t bos) {
  BITLM_CHECK(n_ctx >= 4, "the perplexity context must be at least 4 tokens for llama-perplexity's chunks (got {})",
              n_ctx);
  const int64_t n_chunks = int64_t(tokens.size()) / n_ctx;
  BITLM_CHECK(n_chunks > 0, "the text has {} tokens, fewer than one chunk of {}", tokens.size(), n_ctx);
  std::vector<LoglikelihoodRequest> windows(static_cast<size_t>(n_chunks));
  for (int64_t c = 0; c < n_chunks; ++c) {
    const auto chunk = tokens.begin() + c * n_ctx;
    // Input chunk[0, n_ctx - 1): positions n_ctx/2 .. n_ctx-2 predict chunk[n_ctx/2 + 1 ..].
    LoglikelihoodRequest& w = windows[size_t(c)];
    w.context.assign(chunk, chunk + n_ctx / 2 + 1);
    if (bos >= 0) w.context[0] = bos;
    w.continuation.assign(chunk + n_ctx / 2 + 1, chunk + n_ctx);
  }
  return windows;
}

PerplexityStats score_windows(std::span<const LoglikelihoodRequest> windows, Scorer& scorer,
                              const PerplexityOptions& options) {
  PerplexityStats out;
  out.n_windows = int64_t(windows.size());
  for (const LoglikelihoodRequest& r : windows) out.n_tokens += int64_t(r.continuation.size());
  const int64_t per_batch = std::max<int64_t>(options.windows_per_batch, 1);
  for (int64_t begin = 0; begin < out.n_windows; begin += per_batch) {
    const int64_t end = std::min(out.n_windows, begin + per_batch);
    for (const LoglikelihoodResult& r : scorer.score(windows.subspan(size_t(begin), size_t(end - begin))))
      out.nll -= r.logprob;
    if (options.on_progress) options.on_progress(end, out.n_windows);
  }
  return out;
}

PerplexityStats perplexity(std::span<const std::string> documents, Scorer& scorer,
                            const TextEncoder& encode, const PerplexityOptions& options) {
  std::vector<LoglikelihoodRequest> all;
  int64_t n_bytes = 0;
  for (const std::string& doc : documents) {
    std::vector<LoglikelihoodRequest> w = perplexity_windows(encode(doc), options);
    all.insert(all.end(), std::make_move_iterator(w.begin()), std::make_move_iterator(w.end()));
    n_bytes += int64_t(doc.size());
  }
  PerplexityStats out = score_windows(all, scorer, options);
  out.n_docs = int64_t(documents.size());
  out.n_bytes = n_bytes;
  return out;
}

std::vector<std::string> read_documents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open data file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  static constexpr std::string_view kSeparator = "\n<|endoftext|>\n";
  std::vector<std::string> docs;
  if (text.find(kSeparator) == std::string::npos && !text.starts_with("<|endoftext|>\n")) {
    if (!text.empty()) docs.push_back(text);
    return docs;
  }
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find(kSeparator, begin);
    const size_t next = end == std::string::npos ? text.size() : end + kSeparator.size();
    if (end == std::string::npos) end = text.size();
    if (text.compare(begin, 14, "<|endoftext|>\n") == 0) begin += 14;  // an empty story
    if (end > begin) docs.push_back(text.substr(begin, end - begin));
    begin = next;
  }
  return docs;
}

}  // namespace bitlm
