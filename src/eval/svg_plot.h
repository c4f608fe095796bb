// eval/svg_plot.h — one plot panel as SVG elements: axes (log10 decades or linear 1-2-5 ticks),
// polylines and points per series, a legend. The cost report's size plot and the sweep report's
// scaling plots draw with it.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace bitlm {

struct PlotSeries {
  std::string label, color;
  std::vector<std::pair<double, double>> xy;
  bool points_only = false, dashed = false;
};

struct PlotPanel {
  std::string title, x_label, y_label;
  bool log_x = true, log_y = true;
  bool legend_right = false;  // legend in the top-right corner instead of the top-left
  double x0 = 80, y0 = 50, w = 370, h = 300;  // the plot area, in px
};

// Points with x or y <= 0 on a log axis are skipped.
std::string svg_panel(const PlotPanel& panel, const std::vector<PlotSeries>& series);
// A standalone SVG document of that size around `body`, on white.
std::string svg_document(int width, int height, const std::string& body);

}  // namespace bitlm
