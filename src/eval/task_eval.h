// eval/task_eval.h — scoring a Task the way lm-evaluation-harness does (FORMATS.md §7):
// tokenization of (context, continuation) pairs, batched loglikelihood requests, and the metrics
//   acc      = mean [argmax_i ll_i == gold]              (first maximum wins, as np.argmax)
//   acc_norm = mean [argmax_i ll_i / n_chars_i == gold]  (characters of the choice, no delimiter)
//   LAMBADA: acc = mean is_greedy, perplexity = exp(-mean ll)
// with the standard error of the mean (sample std / sqrt(n), lm-eval's mean_stderr).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/scorer.h"
#include "eval/tasks.h"

namespace bitlm {

// lm-eval's causal tokenization: trailing whitespace of the context moves to the continuation;
// context_enc = enc(context), continuation_enc = enc(context + continuation)[len(context_enc):].
// `bos` (if >= 0) is prepended to the context ids.
LoglikelihoodRequest make_request(const TextEncoder& encode, std::string_view context,
                                  std::string_view continuation, int32_t bos);

struct TaskEvalOptions {
  int64_t limit = 0;         // first N documents; 0 = all
  int32_t bos = -1;          // token prepended to every context; -1 = none
  int64_t docs_per_batch = 16;  // documents whose choices go to the scorer together
  std::function<void(int64_t done, int64_t total)> on_progress;
};

struct TaskResult {
  std::string task;
  int64_t n_docs = 0;
  double acc = 0, acc_stderr = 0;
  std::optional<double> acc_norm, acc_norm_stderr;  // kAccAndNorm tasks
  std::optional<double> perplexity;                 // LAMBADA
};

// Metrics from per-choice results (docs[i].choices[j] -> results[i][j]); used by evaluate_task
// and directly by tests.
TaskResult task_metrics_from(const Task& task, int64_t n_docs,
                             const std::vector<std::vector<LoglikelihoodResult>>& results);

TaskResult evaluate_task(const Task& task, Scorer& scorer, const TextEncoder& encode,
                         const TaskEvalOptions& options);

}  // namespace bitlm
