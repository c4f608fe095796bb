// cli/cmd_plot.cpp — `bitlm plot METRICS.jsonl -o curves.svg`: loss and LR curves of a training
// run (train/metrics_plot.h).
#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "io/atomic_write.h"
#include "train/metrics_plot.h"

namespace bitlm::cli {
namespace {

struct PlotArgs { std::string metrics, out, title; };

void setup(CLI::App& root) {
  auto a = std::make_shared<PlotArgs>();
  CLI::App* c = root.add_subcommand("plot", "draw loss and learning-rate curves of a training run as SVG");
  c->add_option("metrics", a->metrics, "metrics.jsonl written by `bitlm train`")->required();
  c->add_option("-o,--output", a->out, "SVG file to write")->required();
  c->add_option("--title", a->title, "plot title (default: the metrics path)");
  c->callback([a] {
    const std::string svg = metrics_svg(read_metrics_jsonl(a->metrics), a->title.empty() ? a->metrics : a->title);
    atomic_write_text(a->out, svg);
    fmt::print(stderr, "wrote {}\n", a->out);
  });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
