// eval/model_eval.h — one model file through the evaluation a sweep gives every run: held-out
// perplexity (loss in nats per token, bits per byte; eval/perplexity.h) and the zero-shot tasks
// (eval/task_eval.h), as one JSON object. `bitlm sweep` calls it for each trained run and each
// post-training-quantized model, so all of them are scored by the same code on the same text.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bitlm {

struct ModelEvalOptions {
  std::vector<std::string> heldout;  // text files (read_documents)
  int64_t heldout_docs = 0;          // first N documents of each; 0 = all
  int64_t ctx = 0;                   // window; 0 = the model's training context
  std::string tasks;                 // comma-separated task names; empty = none
  int64_t task_limit = 0;            // first N documents of each task; 0 = all
  std::string data_dir;              // where default_task_path looks
  int threads = 1;
};

// {"heldout": perplexity_json entries (plus "loss": nats per token), "tasks": task_results_json,
//  "tasks_avg": mean headline accuracy (acc_norm where a task has it), "eval_s": seconds}.
nlohmann::json evaluate_model_file(const std::string& model_path, const ModelEvalOptions& options);

}  // namespace bitlm
