// tests/train/metrics_plot_test.cpp — `bitlm plot`'s reader and SVG writer: step and validation
// lines are told apart, a malformed line is refused naming its line number, the SVG holds one
// polyline per series with every point inside the plot area.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "core/error.h"
#include "train/metrics_plot.h"

namespace bitlm {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / fmt::format("bitlm_plot_test_{}_{}", getpid(), name);
  std::ofstream(path) << text;
  return path.string();
}

constexpr const char* kMetrics =
    R"({"step":1,"loss":8.3,"lr":1e-4,"tokens":10}
{"step":2,"loss":7.0,"lr":2e-4}
{"step":2,"val_loss":7.5,"val_ppl":1808}
{"step":3,"loss":6.0,"lr":1.5e-4}
)";

TEST(MetricsPlot, ReadsStepAndValidationLines) {
  const std::string path = write_temp("ok.jsonl", kMetrics);
  const MetricsSeries m = read_metrics_jsonl(path);
  EXPECT_EQ(m.step, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(m.loss, (std::vector<double>{8.3, 7.0, 6.0}));
  EXPECT_EQ(m.lr, (std::vector<double>{1e-4, 2e-4, 1.5e-4}));
  EXPECT_EQ(m.val_step, (std::vector<double>{2}));
  EXPECT_EQ(m.val_loss, (std::vector<double>{7.5}));
  std::filesystem::remove(path);
}

TEST(MetricsPlot, MalformedLineNamesItsNumber) {
  const std::string path = write_temp("bad.jsonl", std::string(kMetrics) + "{\"step\":4,\"loss\":\"x\",\"lr\":0}\n");
  try {
    read_metrics_jsonl(path);
    FAIL() << "accepted a non-numeric loss";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("line 5"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

TEST(MetricsPlot, SvgHasOnePolylinePerSeriesInsideThePlot) {
  const std::string path = write_temp("svg.jsonl", kMetrics);
  const std::string svg = metrics_svg(read_metrics_jsonl(path), "run");
  std::filesystem::remove(path);
  const std::regex poly(R"re(points="([^"]*)")re");
  int n_lines = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), poly); it != std::sregex_iterator(); ++it) {
    ++n_lines;
    std::istringstream pts((*it)[1].str());
    double x, y;
    char comma;
    while (pts >> x >> comma >> y) {
      EXPECT_GE(x, 70.0); EXPECT_LE(x, 780.0);
      EXPECT_GE(y, 40.0); EXPECT_LE(y, 580.0);
    }
  }
  EXPECT_EQ(n_lines, 3);  // train loss, validation loss, LR
  EXPECT_THROW(metrics_svg(MetricsSeries{}, "empty"), UserError);
}

}  // namespace
}  // namespace bitlm
