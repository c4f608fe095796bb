// tests/eval/sweep_report_test.cpp — the sweep report from result.json objects alone: losses that
// follow a known law give its exponent back, the gap section says whether b1.58 − fp shrinks (and
// says so plainly when it does not), diverged runs stay out of the fits, PTQ rows sit beside the
// trained b1 / b1.58 of their size.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/sweep_report.h"

namespace bitlm {
namespace {

using nlohmann::json;

json result(const std::string& size, const std::string& mode, double n_params, double loss, bool grid = true) {
  const double tokens = 100000;
  json r = {{"run", size + "-" + mode}, {"size", size}, {"weight_mode", mode}, {"grid", grid}, {"note", ""},
            {"train", {{"n_params", n_params}, {"tokens", tokens}, {"last_step", 10}, {"last_loss", loss},
                       {"model", {{"n_embd", 64}, {"n_ff", 128}, {"n_layer", 2}, {"n_head", 2}, {"n_head_kv", 2},
                                  {"n_vocab", 100}, {"glu", true}}},
                       {"sessions", {{"wall_s", 10.0}, {"cpu_s", 9.0}, {"cpu", "test cpu"}}}}},
            {"eval", {{"heldout", json::array({{{"file", "v.txt"}, {"n_tokens", tokens}, {"n_bytes", 4 * tokens},
                                                {"nll_nats", loss * tokens}}})},
                      {"tasks", {{"piqa", {{"acc", 0.5}, {"acc_norm", 0.55}}}}},
                      {"tasks_avg", 0.55}}}};
  return r;
}

// L = a (N/1e6)^-alpha + c with a mode-dependent gap that shrinks with N.
std::vector<json> grid(double alpha, bool gap_shrinks) {
  std::vector<json> out;
  const double ns[] = {1e5, 3e5, 1e6, 3e6};
  const char* sizes[] = {"xs", "s", "m", "l"};
  for (int i = 0; i < 4; ++i) {
    const double fp = 0.8 * std::pow(ns[i] / 1e6, -alpha) + 1.5;
    const double gap = gap_shrinks ? 0.3 * std::pow(ns[i] / 1e5, -0.5) : 0.1 + 0.05 * i;
    out.push_back(result(sizes[i], "b1.58", ns[i], fp + gap));
    out.push_back(result(sizes[i], "b1", ns[i], fp + 2 * gap));
    out.push_back(result(sizes[i], "fp", ns[i], fp));
  }
  return out;
}

const std::vector<std::string> kSizes = {"xs", "s", "m", "l"};

TEST(SweepReport, FitsGiveTheKnownExponentAndTheGapVerdict) {
  const SweepReport rep = build_sweep_report("t", grid(0.3, true), kSizes);
  // fp follows the law exactly: alpha 0.3000, c 1.5000 in the fits table.
  EXPECT_NE(rep.markdown.find("| fp | a·(N/N0)^-α + c | 0.8000 ± 0.0000 | 0.3000 ± 0.0000 | 1.5000 ± 0.0000"), std::string::npos)
      << rep.markdown;
  EXPECT_NE(rep.markdown.find("it shrinks by"), std::string::npos);
  EXPECT_NE(rep.scaling_svg.find("<svg"), std::string::npos);
  EXPECT_NE(rep.energy_svg.find("<svg"), std::string::npos);
  EXPECT_NE(rep.markdown.find("test cpu"), std::string::npos);

  const SweepReport grows = build_sweep_report("t", grid(0.3, false), kSizes);
  EXPECT_NE(grows.markdown.find("does NOT shrink"), std::string::npos) << grows.markdown;
}

// A mode whose losses lie on a straight line in log N gets "degenerate" in the offset-law row, not
// a ± 10³ estimate, and its plotted curve is the pure power law.
TEST(SweepReport, ADegenerateOffsetFitIsNamedNotPrinted) {
  std::vector<json> rs;
  const double ns[] = {1e5, 3e5, 1e6, 3e6};
  for (int i = 0; i < 4; ++i) {
    rs.push_back(result(kSizes[i], "fp", ns[i], 4.0 - 0.1 * std::log(ns[i] / 1e6)));
    rs.push_back(result(kSizes[i], "b1.58", ns[i], 0.8 * std::pow(ns[i] / 1e6, -0.3) + 1.6));
  }
  const SweepReport rep = build_sweep_report("t", rs, kSizes);
  EXPECT_NE(rep.markdown.find("| fp | a·(N/N0)^-α + c | degenerate"), std::string::npos) << rep.markdown;
  EXPECT_EQ(rep.markdown.find("| b1.58 | a·(N/N0)^-α + c | degenerate"), std::string::npos) << rep.markdown;
  EXPECT_NE(rep.scaling_svg.find("fp fit (pure law)"), std::string::npos);
}

TEST(SweepReport, DivergedRunsStayOutOfTheFitsAndPtqRowsAreListed) {
  std::vector<json> rs = grid(0.3, true);
  json hot = result("s", "fp", 3e5, 0, false);
  hot["run"] = "s-fp-lr4e-2";
  hot["train"]["diverged"] = {{"step", 7}, {"loss", "nan"}};
  hot["eval"] = nullptr;
  rs.push_back(hot);
  json ptq = result("m", "fp", 1e6, 9.0, false);
  ptq["run"] = "m-fp-gptq-w2a16";
  ptq["ptq"] = {{"method", "gptq"}, {"wbits", 2}, {"abits", 16}};
  rs.push_back(ptq);
  const SweepReport rep = build_sweep_report("t", rs, kSizes);
  EXPECT_NE(rep.markdown.find("diverged at step 7"), std::string::npos);
  EXPECT_NE(rep.markdown.find("m: fp + gptq PTQ, W2A16"), std::string::npos) << rep.markdown;
  EXPECT_NE(rep.markdown.find("m: b1.58 trained (QAT), W1.58A8"), std::string::npos);
  // The fp fit is still exact: neither the diverged run nor the PTQ model (grid = false) entered it.
  EXPECT_NE(rep.markdown.find("0.3000 ± 0.0000"), std::string::npos);
  EXPECT_TRUE(std::isnan(result_heldout_loss(hot)));
  EXPECT_NEAR(result_heldout_loss(ptq), 9.0, 1e-12);
}

}  // namespace
}  // namespace bitlm
