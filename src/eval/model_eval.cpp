// eval/model_eval.cpp — see model_eval.h.
#include "eval/model_eval.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "core/sys.h"
#include "core/thread_pool.h"
#include "eval/model_scorer.h"
#include "eval/perplexity.h"
#include "eval/report.h"
#include "eval/task_eval.h"
#include "eval/tasks.h"
#include "model/forward.h"
#include "tokenizer/tokenizer.h"

namespace bitlm {

nlohmann::json evaluate_model_file(const std::string& model_path, const ModelEvalOptions& o) {
  const double t0 = now_seconds();
  const std::vector<Task> tasks = load_tasks(o.tasks, o.data_dir);  // every input is read before the model loads
  std::vector<std::vector<std::string>> docs;
  for (const std::string& file : o.heldout) {
    docs.push_back(read_documents(file));
    if (o.heldout_docs > 0 && int64_t(docs.back().size()) > o.heldout_docs) docs.back().resize(size_t(o.heldout_docs));
    if (docs.back().empty()) throw UserError(fmt::format("{}: no text to score (the file is empty)", file));
  }
  const auto model = Model::load(model_path);
  const auto tok = Tokenizer::from_gguf(*model->file);
  ThreadPool pool(std::max(o.threads, 1));
  const int64_t n_ctx = o.ctx > 0 ? o.ctx : model->config.n_ctx_train;
  Forward fwd(*model, n_ctx, pool);
  ModelScorer scorer(fwd);
  const TextEncoder encode = text_encoder(*tok);
  std::vector<PerplexityEntry> entries;
  for (size_t i = 0; i < docs.size(); ++i) {
    PerplexityOptions po;
    po.n_ctx = n_ctx;
    po.stride = n_ctx / 2;
    po.bos = tok->bos();
    entries.push_back({o.heldout[i], perplexity(docs[i], scorer, encode, po), po.n_ctx, po.stride});
  }
  nlohmann::json heldout = perplexity_json(entries);
  for (size_t i = 0; i < entries.size(); ++i) heldout[i]["loss"] = entries[i].stats.nll_per_token();
  std::vector<TaskResult> results;
  double sum = 0;
  for (const Task& t : tasks) {
    TaskEvalOptions to;
    to.limit = o.task_limit;
    to.bos = tok->bos();
    results.push_back(evaluate_task(t, scorer, encode, to));
    sum += results.back().acc_norm.value_or(results.back().acc);
  }
  nlohmann::json out = {{"model", model_path}, {"heldout", heldout}, {"tasks", task_results_json(results)},
                        {"task_limit", o.task_limit}, {"n_ctx", n_ctx}};
  if (!results.empty()) out["tasks_avg"] = sum / double(results.size());
  out["eval_s"] = now_seconds() - t0;
  return out;
}

}  // namespace bitlm
