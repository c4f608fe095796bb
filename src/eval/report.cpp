// eval/report.cpp — JSON and markdown for task and perplexity results (see report.h).
#include "eval/report.h"

#include <fmt/format.h>

namespace bitlm {

nlohmann::json task_results_json(const std::vector<TaskResult>& results) {
  nlohmann::json out = nlohmann::json::object();
  for (const TaskResult& r : results) {
    nlohmann::json j = {{"n_docs", r.n_docs}, {"acc", r.acc}, {"acc_stderr", r.acc_stderr}};
    if (r.acc_norm) {
      j["acc_norm"] = *r.acc_norm;
      j["acc_norm_stderr"] = *r.acc_norm_stderr;
    }
    if (r.perplexity) j["perplexity"] = *r.perplexity;
    out[r.task] = j;
  }
  return out;
}

nlohmann::json perplexity_json(const std::vector<PerplexityEntry>& entries) {
  nlohmann::json out = nlohmann::json::array();
  for (const PerplexityEntry& e : entries)
    out.push_back({{"file", e.file}, {"n_ctx", e.n_ctx}, {"stride", e.stride}, {"n_docs", e.stats.n_docs},
                   {"n_tokens", e.stats.n_tokens}, {"n_bytes", e.stats.n_bytes}, {"nll_nats", e.stats.nll},
                   {"perplexity", e.stats.perplexity()}, {"bits_per_byte", e.stats.bits_per_byte()}});
  return out;
}

std::string task_results_markdown(const std::string& model, const std::vector<TaskResult>& results) {
  std::string head = "| Model |", rule = "|---|", row = fmt::format("| {} |", model);
  double sum = 0;
  for (const TaskResult& r : results) {
    const double headline = r.acc_norm.value_or(r.acc);
    sum += headline;
    head += fmt::format(" {}{} |", r.task, r.acc_norm ? " (acc_norm)" : "");
    rule += "---:|";
    row += fmt::format(" {:.1f} |", 100 * headline);
  }
  head += " Avg. |\n";
  rule += "---:|\n";
  row += fmt::format(" {:.1f} |\n", results.empty() ? 0.0 : 100 * sum / double(results.size()));
  std::string notes = "\n| task | n | acc | acc_norm | ppl |\n|---|---:|---:|---:|---:|\n";
  for (const TaskResult& r : results)
    notes += fmt::format("| {} | {} | {:.4f} ± {:.4f} | {} | {} |\n", r.task, r.n_docs, r.acc, r.acc_stderr,
                         r.acc_norm ? fmt::format("{:.4f} ± {:.4f}", *r.acc_norm, *r.acc_norm_stderr) : "",
                         r.perplexity ? fmt::format("{:.4g}", *r.perplexity) : "");
  return head + rule + row + notes;
}

std::string perplexity_markdown(const std::string& model, const std::vector<PerplexityEntry>& entries) {
  std::string out = "| Model | data | ctx | stride | tokens | bytes | PPL | bits/byte |\n"
                    "|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (const PerplexityEntry& e : entries)
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {:.4g} | {:.4f} |\n", model, e.file, e.n_ctx, e.stride,
                       e.stats.n_tokens, e.stats.n_bytes, e.stats.perplexity(), e.stats.bits_per_byte());
  return out;
}

}  // namespace bitlm
