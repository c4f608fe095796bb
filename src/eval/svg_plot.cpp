// eval/svg_plot.cpp — see svg_plot.h.
#include "eval/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace bitlm {
namespace {

struct Axis {
  bool log = true;
  double lo = 0, hi = 1;  // in axis units (log10 of the value on a log axis)
  std::vector<double> ticks;  // values
  double unit(double v) const { return log ? std::log10(v) : v; }
};

double nice_step(double span) {  // a 1-2-5 step giving about 5 ticks
  const double raw = span / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

Axis make_axis(bool log, double vmin, double vmax) {
  Axis a;
  a.log = log;
  if (log) {
    a.lo = std::floor(std::log10(vmin));
    a.hi = std::max(a.lo + 1, std::ceil(std::log10(vmax)));
    for (double e = a.lo; e <= a.hi; ++e) a.ticks.push_back(std::pow(10.0, e));
    return a;
  }
  if (vmax <= vmin) vmin -= 0.5, vmax += 0.5;
  const double step = nice_step(vmax - vmin);
  a.lo = std::floor(vmin / step) * step;
  a.hi = std::ceil(vmax / step) * step;
  for (double t = a.lo; t <= a.hi + step * 1e-9; t += step) a.ticks.push_back(t);
  return a;
}

std::string tick_label(const Axis& a, double v) {
  return a.log ? fmt::format("1e{:.0f}", std::log10(v)) : fmt::format("{:g}", v);
}

}  // namespace

std::string svg_panel(const PlotPanel& p, const std::vector<PlotSeries>& series) {
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  auto usable = [&](double x, double y) { return (!p.log_x || x > 0) && (!p.log_y || y > 0) && std::isfinite(x) && std::isfinite(y); };
  for (const PlotSeries& s : series)
    for (const auto& [x, y] : s.xy)
      if (usable(x, y)) xmin = std::min(xmin, x), xmax = std::max(xmax, x), ymin = std::min(ymin, y), ymax = std::max(ymax, y);
  if (!std::isfinite(xmin)) xmin = 1, xmax = 10, ymin = 1, ymax = 10;
  const Axis ax = make_axis(p.log_x, xmin, xmax), ay = make_axis(p.log_y, ymin, ymax);
  const auto px = [&](double x) { return p.x0 + p.w * (ax.unit(x) - ax.lo) / (ax.hi - ax.lo); };
  const auto py = [&](double y) { return p.y0 + p.h - p.h * (ay.unit(y) - ay.lo) / (ay.hi - ay.lo); };
  std::string s = fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n",
                              p.x0, p.y0, p.w, p.h);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n", p.x0 + p.w / 2,
                   p.y0 - 10, p.title);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\">{}</text>\n", p.x0 + p.w / 2,
                   p.y0 + p.h + 36, p.x_label);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 {} {})\">{}</text>\n",
                   p.x0 - 48, p.y0 + p.h / 2, p.x0 - 48, p.y0 + p.h / 2, p.y_label);
  for (double t : ax.ticks) {
    const double x = px(t);
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#ddd\"/>\n", x, p.y0, x, p.y0 + p.h);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>\n", x, p.y0 + p.h + 16,
                     tick_label(ax, t));
  }
  for (double t : ay.ticks) {
    const double y = py(t);
    s += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", p.x0, y, p.x0 + p.w, y);
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" font-size=\"11\">{}</text>\n", p.x0 - 6, y + 4,
                     p.log_y ? fmt::format("{:g}", t) : tick_label(ay, t));
  }
  for (size_t k = 0; k < series.size(); ++k) {
    const PlotSeries& se = series[k];
    std::string pts;
    for (const auto& [x, y] : se.xy) {
      if (!usable(x, y)) continue;
      pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
      if (!se.dashed)
        s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\"/>\n", px(x), py(y),
                         se.points_only ? 5 : 3, se.color);
    }
    if (!se.points_only && !pts.empty())
      s += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{}/>\n", pts, se.color,
                       se.dashed ? 1.5 : 2, se.dashed ? " stroke-dasharray=\"6 4\"" : "");
    if (se.label.empty()) continue;
    const double lx = p.legend_right ? p.x0 + p.w - 220 : p.x0 + 10;
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", lx, p.y0 + 10 + 18 * double(k),
                     se.color);
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>\n", lx + 18, p.y0 + 21 + 18 * double(k), se.label);
  }
  return s;
}

std::string svg_document(int width, int height, const std::string& body) {
  return fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\">\n"
                     "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{}</svg>\n", width, height, body);
}

}  // namespace bitlm
