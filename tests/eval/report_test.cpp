// tests/eval/report_test.cpp — the Table 2/5-style markdown and the JSON report.
#include <gtest/gtest.h>

#include "eval/report.h"

namespace bitlm {
namespace {

TEST(Report, MarkdownUsesAccNormWhereItExistsAndAverages) {
  TaskResult arc{"arc_easy", 10, 0.5, 0.1, 0.7, 0.1, std::nullopt};
  TaskResult boolq{"boolq", 10, 0.6, 0.1, std::nullopt, std::nullopt, std::nullopt};
  TaskResult lambada{"lambada", 10, 0.2, 0.1, std::nullopt, std::nullopt, 12.5};
  const std::string md = task_results_markdown("m.gguf", {arc, boolq, lambada});
  EXPECT_NE(md.find("| Model | arc_easy (acc_norm) | boolq | lambada | Avg. |"), std::string::npos) << md;
  EXPECT_NE(md.find("| m.gguf | 70.0 | 60.0 | 20.0 | 50.0 |"), std::string::npos) << md;
  const nlohmann::json j = task_results_json({arc, lambada});
  EXPECT_DOUBLE_EQ(j["arc_easy"]["acc_norm"].get<double>(), 0.7);
  EXPECT_FALSE(j["lambada"].contains("acc_norm"));
  EXPECT_DOUBLE_EQ(j["lambada"]["perplexity"].get<double>(), 12.5);
}

}  // namespace
}  // namespace bitlm
