// eval/perplexity.h — token-level perplexity and bits per byte: the one implementation
// (`bitlm ppl`, `bitlm eval ppl`, sweeps), written against the Scorer (eval/scorer.h). Two window
// layouts, both as loglikelihood requests scored by the same sum:
//  - llama-perplexity's chunks (llama_chunk_windows; the fixture README): cut into chunks of n_ctx
//    tokens (the tail that does not fill a chunk is dropped), BOS replaces each chunk's first
//    token, only the second half is scored: positions n_ctx/2 .. n_ctx-2 predict the next token.
//  - the sliding window (perplexity_windows):
// Each document is tokenized on its own. Window 1 is [BOS | t0 .. t_{C-2}] and scores every token
// (or [t0 | t1 .. t_{C-1}] without BOS, leaving t0 unscored); each later window scores the next
// `stride` tokens after the C - stride tokens before them, so every token is scored once with at
// least C - stride tokens of context (the strided evaluation of HF "Perplexity of fixed-length
// models"; stride = C - 1 is nearly non-overlapping, smaller strides cost more and score lower).
//   ppl = exp(NLL / n_tokens), bits per byte = NLL / ln 2 / UTF-8 bytes of the text — comparable
//   across tokenizers because the byte count does not depend on the tokenizer.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eval/scorer.h"

namespace bitlm {

struct PerplexityOptions {
  int64_t n_ctx = 512;   // window C, tokens (BOS included)
  int64_t stride = 0;    // tokens scored per later window; 0 = C / 2
  int32_t bos = -1;      // prepended to each document's first window; -1 = none
  int64_t windows_per_batch = 8;
  std::function<void(int64_t done, int64_t total)> on_progress;  // in windows
};

struct PerplexityStats {
  int64_t n_docs = 0, n_tokens = 0, n_bytes = 0, n_windows = 0;
  double nll = 0;  // nats, summed over the scored tokens
  double perplexity() const;
  double nll_per_token() const;
  double bits_per_byte() const;
};

// The windows of one tokenized document, as loglikelihood requests (exposed for tests).
std::vector<LoglikelihoodRequest> perplexity_windows(std::span<const int32_t> tokens,
                                                     const PerplexityOptions& options);

// llama-perplexity's chunks of one token sequence (BOS already in it or not: each chunk's first
// token is replaced by bos when bos >= 0). Throws UserError for n_ctx < 4 or fewer tokens than a chunk.
std::vector<LoglikelihoodRequest> llama_chunk_windows(std::span<const int32_t> tokens, int64_t n_ctx, int32_t bos);

// Scores windows in batches of options.windows_per_batch (on_progress after each): nll and
// n_tokens, n_windows of the result are set.
PerplexityStats score_windows(std::span<const LoglikelihoodRequest> windows, Scorer& scorer,
                              const PerplexityOptions& options);

PerplexityStats perplexity(std::span<const std::string> documents, Scorer& scorer,
                            const TextEncoder& encode, const PerplexityOptions& options);

// A data file as documents: TinyStories-style "<|endoftext|>" separator lines split it, any
// other file is one document (WikiText-2 raw, as llama-perplexity reads it).
std::vector<std::string> read_documents(const std::string& path);

}  // namespace bitlm
