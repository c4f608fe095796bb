// train/metrics_plot.h — `bitlm plot`: the trainer's metrics JSONL (train/trainer.cpp writes one
// line per step {step, loss, lr, ...} and one per validation {step, val_loss, val_ppl}) read back
// and drawn as a self-contained SVG: the loss panel (train and validation) above the LR panel.
#pragma once
#include <string>
#include <vector>

namespace bitlm {

struct MetricsSeries {
  std::vector<double> step, loss, lr;  // one entry per training step line
  std::vector<double> val_step, val_loss;
};

// FormatError(path, "line N: ...") on a line that is not a JSON object with numeric fields.
MetricsSeries read_metrics_jsonl(const std::string& path);
// UserError when there is no training step to draw.
std::string metrics_svg(const MetricsSeries& m, const std::string& title);

}  // namespace bitlm
