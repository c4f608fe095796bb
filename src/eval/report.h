// eval/report.h — report writers: task results as JSON and as a markdown table shaped like the
// papers' Table 2/5 (one row per model, one column per task, "Avg." last; acc_norm where a task
// has it, as lm-eval reports and the b1.58 paper tabulates), and perplexity results.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/perplexity.h"
#include "eval/task_eval.h"

namespace bitlm {

struct PerplexityEntry {
  std::string file;
  PerplexityStats stats;
  int64_t n_ctx = 0, stride = 0;
};

nlohmann::json task_results_json(const std::vector<TaskResult>& results);
nlohmann::json perplexity_json(const std::vector<PerplexityEntry>& entries);

// | Model | arc_easy | ... | Avg. | — accuracy in percent; the headline metric per task is acc_norm
// when it exists, else acc (LAMBADA: acc; its perplexity goes in a note column).
std::string task_results_markdown(const std::string& model, const std::vector<TaskResult>& results);
std::string perplexity_markdown(const std::string& model, const std::vector<PerplexityEntry>& entries);

}  // namespace bitlm
