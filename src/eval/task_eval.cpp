// eval/task_eval.cpp — lm-eval tokenization, batching and metrics (see task_eval.h).
#include "eval/task_eval.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace bitlm {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

struct MeanStderr { double mean, stderr_; };

MeanStderr mean_stderr(const std::vector<double>& xs) {  // lm-eval api/metrics.py mean_stderr
  const double n = double(xs.size());
  double sum = 0;
  for (double x : xs) sum += x;
  const double mean = n > 0 ? sum / n : 0;
  if (xs.size() < 2) return {mean, 0};
  double ss = 0;
  for (double x : xs) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / (n - 1)) / std::sqrt(n)};
}

size_t argmax(const std::vector<double>& v) {  // first maximum, as np.argmax
  return size_t(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace

LoglikelihoodRequest make_request(const TextEncoder& encode, std::string_view context,
                                  std::string_view continuation, int32_t bos) {
  size_t n_spaces = 0;
  while (n_spaces < context.size() && is_space(context[context.size() - 1 - n_spaces])) ++n_spaces;
  const std::string moved_cont = std::string(context.substr(context.size() - n_spaces)) + std::string(continuation);
  const std::string_view ctx = context.substr(0, context.size() - n_spaces);

  LoglikelihoodRequest req;
  req.context = encode(ctx);
  const std::vector<int32_t> whole = encode(std::string(ctx) + moved_cont);
  if (whole.size() > req.context.size())
    req.continuation.assign(whole.begin() + int64_t(req.context.size()), whole.end());
  else  // the continuation merged into the context's last token: score it on its own
    req.continuation = encode(moved_cont);
  if (bos >= 0) req.context.insert(req.context.begin(), bos);
  BITLM_CHECK(!req.context.empty(), "an empty context needs a BOS token to condition on");
  BITLM_CHECK(!req.continuation.empty(), "continuation \"{}\" encodes to no tokens", moved_cont);
  return req;
}

TaskResult task_metrics_from(const Task& task, int64_t n_docs,
                             const std::vector<std::vector<LoglikelihoodResult>>& results) {
  BITLM_ASSERT(int64_t(results.size()) >= n_docs);
  TaskResult out;
  out.task = task.name;
  out.n_docs = n_docs;
  std::vector<double> acc, acc_norm, ll;
  for (int64_t i = 0; i < n_docs; ++i) {
    const TaskDoc& doc = task.docs[size_t(i)];
    const std::vector<LoglikelihoodResult>& r = results[size_t(i)];
    BITLM_ASSERT(r.size() == doc.choices.size());
    if (task.metrics == TaskMetrics::kLastWord) {
      acc.push_back(r[0].is_greedy ? 1 : 0);
      ll.push_back(r[0].logprob);
      continue;
    }
    std::vector<double> lls, normed;
    for (size_t j = 0; j < r.size(); ++j) {
      lls.push_back(r[j].logprob);
      normed.push_back(r[j].logprob / double(std::max<int64_t>(doc.choices[j].n_chars, 1)));
    }
    acc.push_back(argmax(lls) == size_t(doc.gold) ? 1 : 0);
    acc_norm.push_back(argmax(normed) == size_t(doc.gold) ? 1 : 0);
  }
  const MeanStderr a = mean_stderr(acc);
  out.acc = a.mean;
  out.acc_stderr = a.stderr_;
  if (task.metrics == TaskMetrics::kAccAndNorm) {
    const MeanStderr an = mean_stderr(acc_norm);
    out.acc_norm = an.mean;
    out.acc_norm_stderr = an.stderr_;
  }
  if (task.metrics == TaskMetrics::kLastWord) out.perplexity = std::exp(-mean_stderr(ll).mean);
  return out;
}

TaskResult evaluate_task(const Task& task, Scorer& scorer, const TextEncoder& encode,
                         const TaskEvalOptions& options) {
  const int64_t n_docs = options.limit > 0 ? std::min<int64_t>(options.limit, int64_t(task.docs.size()))
                                           : int64_t(task.docs.size());
  const int64_t per_batch = std::max<int64_t>(options.docs_per_batch, 1);
  std::vector<std::vector<LoglikelihoodResult>> results(static_cast<size_t>(n_docs));
  for (int64_t begin = 0; begin < n_docs; begin += per_batch) {
    const int64_t end = std::min(n_docs, begin + per_batch);
    std::vector<LoglikelihoodRequest> requests;
    for (int64_t i = begin; i < end; ++i)
      for (const TaskChoice& c : task.docs[size_t(i)].choices)
        requests.push_back(make_request(encode, c.context, c.continuation, options.bos));
    const std::vector<LoglikelihoodResult> scored = scorer.score(requests);
    BITLM_ASSERT(scored.size() == requests.size());
    size_t k = 0;
    for (int64_t i = begin; i < end; ++i)
      for (size_t j = 0; j < task.docs[size_t(i)].choices.size(); ++j) results[size_t(i)].push_back(scored[k++]);
    if (options.on_progress) options.on_progress(end, n_docs);
  }
  return task_metrics_from(task, n_docs, results);
}

}  // namespace bitlm
