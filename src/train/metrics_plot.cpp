// train/metrics_plot.cpp — metrics JSONL -> SVG (see metrics_plot.h). Two panels sharing the step
// axis, 800x560 px; polylines in data order; axis ticks at "nice" 1-2-5 steps.
#include "train/metrics_plot.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/error.h"

namespace bitlm {
namespace {

constexpr double kWidth = 800, kPanelHeight = 250, kLeft = 70, kRight = 20, kTop = 40, kGap = 40;

struct Range { double lo, hi; };

Range range_of(std::initializer_list<const std::vector<double>*> series) {
  Range r{INFINITY, -INFINITY};
  for (const auto* s : series)
    for (double v : *s) r = {std::min(r.lo, v), std::max(r.hi, v)};
  if (r.hi <= r.lo) r = {r.lo - 0.5, r.lo + 0.5};
  return r;
}

double nice_step(double span) {  // 1-2-5 step giving about 5 ticks
  const double raw = span / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

struct Panel {
  double top;
  Range x, y;
  double px(double v) const { return kLeft + (v - x.lo) / (x.hi - x.lo) * (kWidth - kLeft - kRight); }
  double py(double v) const { return top + kPanelHeight - (v - y.lo) / (y.hi - y.lo) * kPanelHeight; }
};

std::string polyline(const Panel& p, const std::vector<double>& xs, const std::vector<double>& ys,
                     const char* color) {
  std::string pts;
  for (size_t i = 0; i < xs.size(); ++i) pts += fmt::format("{:.1f},{:.1f} ", p.px(xs[i]), p.py(ys[i]));
  return fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>)", color, pts) + "\n";
}

std::string axes(const Panel& p, const std::string& label) {
  std::string s = fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#888"/>)",
                              kLeft, p.top, kWidth - kLeft - kRight, kPanelHeight) + "\n";
  const double ys = nice_step(p.y.hi - p.y.lo);
  for (double v = std::ceil(p.y.lo / ys) * ys; v <= p.y.hi + 1e-12 * ys; v += ys)
    s += fmt::format(R"(<line x1="{0}" x2="{1}" y1="{2:.1f}" y2="{2:.1f}" stroke="#eee"/><text x="{3}" y="{4:.1f}" text-anchor="end">{5:g}</text>)",
                     kLeft, kWidth - kRight, p.py(v), kLeft - 5, p.py(v) + 4, v) + "\n";
  const double xs = nice_step(p.x.hi - p.x.lo);
  for (double v = std::ceil(p.x.lo / xs) * xs; v <= p.x.hi + 1e-12 * xs; v += xs)
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{:g}</text>)", p.px(v),
                     p.top + kPanelHeight + 15, v) + "\n";
  s += fmt::format(R"(<text x="{}" y="{}" font-weight="bold">{}</text>)", kLeft, p.top - 6, label) + "\n";
  return s;
}

double number(const nlohmann::json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) throw FormatError(where, fmt::format("'{}' is missing or not a number", key));
  return it->get<double>();
}

}  // namespace

MetricsSeries read_metrics_jsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(fmt::format("{}: cannot open", path));
  MetricsSeries m;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const std::string where = fmt::format("{}: line {}", path, n);
    if (!j.is_object()) throw FormatError(where, "not a JSON object");
    if (j.contains("val_loss")) {
      m.val_step.push_back(number(j, "step", where));
      m.val_loss.push_back(number(j, "val_loss", where));
    } else {
      m.step.push_back(number(j, "step", where));
      m.loss.push_back(number(j, "loss", where));
      m.lr.push_back(number(j, "lr", where));
    }
  }
  return m;
}

std::string metrics_svg(const MetricsSeries& m, const std::string& title) {
  if (m.step.empty()) throw UserError(fmt::format("{}: no training steps to plot", title));
  const Range x = range_of({&m.step, &m.val_step});
  const Panel loss{kTop, x, range_of({&m.loss, &m.val_loss})};
  const Panel lr{kTop + kPanelHeight + kGap, x, {0, range_of({&m.lr}).hi}};
  std::string s = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="11">)"
      "\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      kWidth, lr.top + kPanelHeight + 30);
  s += fmt::format(R"(<text x="{}" y="18" font-size="14">{}</text>)", kLeft, title) + "\n";
  s += axes(loss, "loss (blue: train, red: validation)") + polyline(loss, m.step, m.loss, "#1f77b4");
  if (!m.val_step.empty()) s += polyline(loss, m.val_step, m.val_loss, "#d62728");
  s += axes(lr, "learning rate") + polyline(lr, m.step, m.lr, "#2ca02c");
  return s + "</svg>\n";
}

}  // namespace bitlm
