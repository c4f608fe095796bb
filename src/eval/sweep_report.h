// eval/sweep_report.h — the report of a sweep (`bitlm sweep`), built from the runs' result.json
// files alone (train/sweep.h: results_dir/<run>/result.json), so it can be rebuilt from what is
// committed without any checkpoint:
//  - how the compute was spent: per run N, tokens, wall and CPU seconds, tokens/s;
//  - 003 Table 4/5-style tables per size: held-out loss, perplexity, bits per byte, zero-shot tasks;
//  - the gaps b1.58 − fp and b1 − fp per size (held-out loss, nats per token);
//  - the scaling law L(N) = a (N/1e6)^-alpha + c per weight mode (003 eq. 13, eval/power_law.h)
//    with standard errors and residuals, and the pure power law;
//  - the inference-optimal view: loss against the arithmetic energy per token at 7 nm (003 eq.
//    10-12, eval/cost_model.h, weight matmuls only; fp as FP16 and b1/b1.58 as INT8 adds);
//  - the ablations (extra runs, against the grid run of the same size and mode);
//  - post-training quantization rows (result.json with a "ptq" object), beside b1 / b1.58 of the
//    same size (003 Table 3).
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace bitlm {

struct SweepReport {
  std::string markdown;
  std::string scaling_svg;  // loss against N, log-log, with the fitted laws
  std::string energy_svg;   // loss against energy per token (7 nm)
};

// `results`: result.json objects (grid runs, extra runs, PTQ models), in the sweep's order;
// `sizes`: the sweep's size names, smallest first. Runs that diverged appear in the tables as such
// and stay out of the fits.
SweepReport build_sweep_report(const std::string& name, const std::vector<nlohmann::json>& results,
                               const std::vector<std::string>& sizes);

// The held-out loss (nats per token) of a result.json: the mean over its held-out files weighted
// by tokens; NaN when it has none (a diverged run).
double result_heldout_loss(const nlohmann::json& result);

}  // namespace bitlm
