// eval/sweep_report.cpp — see sweep_report.h.
#include "eval/sweep_report.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>

#include "core/error.h"
#include "eval/cost_model.h"
#include "eval/power_law.h"
#include "eval/svg_plot.h"

namespace bitlm {
namespace {

using nlohmann::json;

constexpr double kN0 = 1e6;  // the fits' unit of N (power_law.h)
const char* const kModes[] = {"b1.58", "b1", "fp"};

std::string mode_color(const std::string& mode) {
  return mode == "fp" ? "#d62728" : mode == "b1" ? "#2ca02c" : "#1f77b4";
}

bool is_ptq(const json& r) { return r.contains("ptq"); }
bool has_eval(const json& r) { return r.contains("eval") && r["eval"].is_object(); }
bool diverged(const json& r) { return r.contains("train") && r["train"].contains("diverged"); }
double n_params(const json& r) { return r.at("train").value("n_params", 0.0); }
// j[key] as a number; NaN when absent or not a number (a diverged run's loss is written as null).
double number(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : std::numeric_limits<double>::quiet_NaN();
}

std::string num(double v, int digits = 4) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : std::string("—");
}

std::string human(double n) {
  return n >= 1e6 ? fmt::format("{:.2f}M", n / 1e6) : fmt::format("{:.0f}k", n / 1e3);
}

TransformerShape shape_of(const json& r) {
  const json& m = r.at("train").at("model");
  TransformerShape s;
  s.name = r.value("run", "");
  s.n_embd = m.value("n_embd", int64_t(0));
  s.n_ff = m.value("n_ff", int64_t(0));
  s.n_layer = m.value("n_layer", int64_t(0));
  s.n_head = m.value("n_head", int64_t(1));
  s.n_head_kv = m.value("n_head_kv", s.n_head);
  s.n_vocab = m.value("n_vocab", int64_t(0));
  s.glu = m.value("glu", true);
  return s;
}

// 003 eq. 10-12 over the weight matmuls, one token, 7 nm: fp as FP16, b1 / b1.58 as BitNet.
double energy_per_token_pj(const json& r) {
  const WeightKind w = r.value("weight_mode", "fp") == "fp" ? WeightKind::kFp16 : WeightKind::kBitnet;
  return matmul_energy(shape_of(r), 1, w, ProcessNode::k7nm, /*attention=*/false).total() * 1e12;
}

const json* find_run(const std::vector<json>& results, const std::string& size, const std::string& mode) {
  for (const json& r : results)
    if (r.value("grid", false) && r.value("size", "") == size && r.value("weight_mode", "") == mode) return &r;
  return nullptr;
}

double task_headline(const json& t) { return t.contains("acc_norm") ? t["acc_norm"].get<double>() : t.value("acc", 0.0); }

std::vector<std::string> task_names(const std::vector<json>& results) {
  for (const json& r : results)
    if (has_eval(r) && r["eval"].contains("tasks") && !r["eval"]["tasks"].empty()) {
      std::vector<std::string> names;
      for (const auto& [k, v] : r["eval"]["tasks"].items()) names.push_back(k);
      return names;
    }
  return {};
}

double heldout_bpb(const json& r) {
  if (!has_eval(r) || !r["eval"].contains("heldout") || r["eval"]["heldout"].empty())
    return std::numeric_limits<double>::quiet_NaN();
  double bits = 0, bytes = 0;
  for (const json& h : r["eval"]["heldout"]) {
    bits += h.value("nll_nats", 0.0) / std::log(2.0);
    bytes += h.value("n_bytes", 0.0);
  }
  return bytes > 0 ? bits / bytes : std::numeric_limits<double>::quiet_NaN();
}

std::string quality_row(const json& r, const std::string& label, const std::vector<std::string>& tasks) {
  const double loss = result_heldout_loss(r);
  std::string row = fmt::format("| {} | {} | {} | {} | {} |", label, human(n_params(r)), num(loss),
                                num(std::exp(loss), 2), num(heldout_bpb(r)));
  const json no_tasks = json::object();
  const json& t = has_eval(r) ? r["eval"].value("tasks", no_tasks) : no_tasks;
  for (const std::string& name : tasks)
    row += t.contains(name) ? fmt::format(" {:.1f} |", 100 * task_headline(t[name])) : std::string(" — |");
  row += has_eval(r) && r["eval"].contains("tasks_avg") ? fmt::format(" {:.1f} |", 100 * r["eval"]["tasks_avg"].get<double>())
                                                              : std::string(" — |");
  return row + "\n";
}

std::string quality_header(const std::vector<std::string>& tasks, const char* first) {
  std::string head = fmt::format("| {} | N | loss | PPL | bits/byte |", first), rule = "|---|---:|---:|---:|---:|";
  for (const std::string& t : tasks) {
    head += " " + t + " |";
    rule += "---:|";
  }
  return head + " Avg. |\n" + rule + "---:|\n";
}

std::string compute_table(const std::vector<json>& results, double* total_wall, double* total_cpu) {
  std::string md =
      "| run | weights | N | tokens | steps | wall s | CPU s | tokens/s (wall) | tokens/s (CPU) | last train loss | "
      "last val loss | state |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const json& r : results) {
    if (is_ptq(r)) continue;
    const json& t = r.at("train");
    const json& s = t.value("sessions", json::object());
    *total_wall += s.value("wall_s", 0.0);
    *total_cpu += s.value("cpu_s", 0.0);
    md += fmt::format("| {} | {} | {} | {} | {} | {:.0f} | {:.0f} | {:.0f} | {:.0f} | {} | {} | {} |\n", r.value("run", ""),
                      r.value("weight_mode", ""), human(n_params(r)), human(t.value("tokens", 0.0)), t.value("last_step", 0),
                      s.value("wall_s", 0.0), s.value("cpu_s", 0.0), s.value("tokens_per_wall_s", 0.0),
                      s.value("tokens_per_cpu_s", 0.0), num(number(t, "last_loss")), num(number(t, "last_val_loss")),
                      diverged(r) ? fmt::format("diverged at step {}", t["diverged"].value("step", 0)) : std::string("trained"));
  }
  return md;
}

struct ModeFit {
  std::string mode;
  std::vector<double> n, loss;
  std::vector<std::string> sizes;
  bool have_offset = false, have_pure = false;
  PowerLawFit offset, pure;
};

ModeFit fit_mode(const std::vector<json>& results, const std::vector<std::string>& sizes, const std::string& mode) {
  ModeFit f;
  f.mode = mode;
  for (const std::string& size : sizes)
    if (const json* r = find_run(results, size, mode); r && !diverged(*r) && std::isfinite(result_heldout_loss(*r))) {
      f.n.push_back(n_params(*r));
      f.loss.push_back(result_heldout_loss(*r));
      f.sizes.push_back(size);
    }
  if (f.n.size() >= 3) {
    f.offset = fit_power_law_offset(f.n, f.loss, kN0);
    f.have_offset = true;
  }
  if (f.n.size() >= 2) {
    f.pure = fit_power_law(f.n, f.loss, kN0);
    f.have_pure = true;
  }
  return f;
}

std::string fits_section(const std::vector<ModeFit>& fits) {
  std::string md =
      "Fitted by least squares on the held-out loss (nats per token) of the grid runs, N in units of "
      "N0 = 1e6 non-embedding parameters; ± is one standard error (from the Jacobian, s² (JᵀJ)⁻¹; none when the fit "
      "is exact, i.e. points = parameters).\n\n"
      "| weights | law | a | α | c | RMSE | dof |\n|---|---|---:|---:|---:|---:|---:|\n";
  auto pm = [](double v, double se, int dof) {
    return dof > 0 ? fmt::format("{:.4f} ± {:.4f}", v, se) : fmt::format("{:.4f}", v);
  };
  for (const ModeFit& f : fits) {
    if (f.have_offset && f.offset.degenerate)
      md += fmt::format("| {} | a·(N/N0)^-α + c | degenerate: α runs to its search bound ({:.0e}), a and c to ±∞ together — "
                        "these {} sizes hold no curvature to fit a floor | | | {:.2e} | {} |\n",
                        f.mode, f.offset.alpha, f.n.size(), f.offset.rmse, f.offset.dof);
    else if (f.have_offset)
      md += fmt::format("| {} | a·(N/N0)^-α + c | {} | {} | {} | {:.2e} | {} |\n", f.mode, pm(f.offset.a, f.offset.se_a, f.offset.dof),
                        pm(f.offset.alpha, f.offset.se_alpha, f.offset.dof), pm(f.offset.c, f.offset.se_c, f.offset.dof),
                        f.offset.rmse, f.offset.dof);
    if (f.have_pure)
      md += fmt::format("| {} | a·(N/N0)^-α | {} | {} | 0 | {:.2e} | {} |\n", f.mode, pm(f.pure.a, f.pure.se_a, f.pure.dof),
                        pm(f.pure.alpha, f.pure.se_alpha, f.pure.dof), f.pure.rmse, f.pure.dof);
    if (!f.have_pure) md += fmt::format("| {} | (fewer than 2 trained sizes: no fit) | | | | | |\n", f.mode);
  }
  md += "\nResiduals (observed − fitted loss) of the offset law, per size:\n\n| weights |";
  std::string rule = "|---|";
  size_t max_n = 0;
  for (const ModeFit& f : fits) max_n = std::max(max_n, f.sizes.size());
  const ModeFit* widest = nullptr;
  for (const ModeFit& f : fits)
    if (f.sizes.size() == max_n) widest = &f;
  if (widest)
    for (const std::string& s : widest->sizes) {
      md += " " + s + " |";
      rule += "---:|";
    }
  md += "\n" + rule + "\n";
  for (const ModeFit& f : fits) {
    md += "| " + f.mode + " |";
    for (size_t i = 0; i < max_n; ++i)
      md += f.have_offset && i < f.offset.residuals.size() ? fmt::format(" {:+.2e} |", f.offset.residuals[i]) : std::string(" — |");
    md += "\n";
  }
  return md;
}

std::string gap_section(const std::vector<json>& results, const std::vector<std::string>& sizes) {
  std::string md = "| size | N | fp loss | b1.58 − fp | b1 − fp | b1.58 − fp (% of fp) | b1 − fp (% of fp) |\n"
                   "|---|---:|---:|---:|---:|---:|---:|\n";
  std::vector<std::pair<double, double>> gaps158;  // (N, gap)
  for (const std::string& size : sizes) {
    const json* fp = find_run(results, size, "fp");
    if (!fp) continue;
    const double lf = result_heldout_loss(*fp);
    auto gap = [&](const char* mode) {
      const json* r = find_run(results, size, mode);
      return r ? result_heldout_loss(*r) - lf : std::numeric_limits<double>::quiet_NaN();
    };
    const double g158 = gap("b1.58"), g1 = gap("b1");
    if (std::isfinite(g158)) gaps158.push_back({n_params(*fp), g158});
    // A mode without a result at this size is "—", not "+nan".
    auto signed_or_dash = [](double v, const char* spec) {
      return std::isfinite(v) ? fmt::format(fmt::runtime(spec), v) : std::string("—");
    };
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", size, human(n_params(*fp)), num(lf),
                      signed_or_dash(g158, "{:+.4f}"), signed_or_dash(g1, "{:+.4f}"),
                      signed_or_dash(100 * g158 / lf, "{:+.1f}%"), signed_or_dash(100 * g1 / lf, "{:+.1f}%"));
  }
  if (gaps158.size() >= 2) {
    const auto& [n0, g0] = gaps158.front();
    const auto& [n1, g1] = gaps158.back();
    md += fmt::format(
        "\nFrom the smallest to the largest size ({} → {} parameters, {:.1f}x) the b1.58 − fp gap goes from {:+.4f} to "
        "{:+.4f} nats per token: it {}.\n",
        human(n0), human(n1), n1 / n0, g0, g1,
        g1 < g0 ? fmt::format("shrinks by {:.4f} ({:.0f}%)", g0 - g1, 100 * (g0 - g1) / std::abs(g0))
                : fmt::format("does NOT shrink (it grows by {:.4f})", g1 - g0));
  }
  return md;
}

std::string scaling_svg(const std::vector<ModeFit>& fits) {
  std::vector<PlotSeries> series;
  for (const ModeFit& f : fits) {
    PlotSeries pts{f.mode, mode_color(f.mode), {}, true};
    for (size_t i = 0; i < f.n.size(); ++i) pts.xy.push_back({f.n[i], f.loss[i]});
    series.push_back(pts);
    // The offset law's curve where it is a fit; the pure power law's where the offset law is degenerate.
    const bool offset_usable = f.have_offset && !f.offset.degenerate;
    if ((offset_usable || f.have_pure) && !f.n.empty()) {
      const PowerLawFit& law = offset_usable ? f.offset : f.pure;
      PlotSeries curve{f.mode + fmt::format(" fit{}, α = {:.2f}", offset_usable ? "" : " (pure law)", law.alpha),
                       mode_color(f.mode), {}, false, true};
      const double lo = f.n.front() / 1.5, hi = f.n.back() * 1.5;
      for (int i = 0; i <= 40; ++i) {
        const double n = lo * std::pow(hi / lo, i / 40.0);
        curve.xy.push_back({n, law.predict(n)});
      }
      series.push_back(curve);
    }
  }
  PlotPanel p{"Held-out loss against model size (003 eq. 13 fits)", "non-embedding parameters N", "loss (nats / token)"};
  p.log_y = false;
  p.legend_right = true;
  p.w = 520;
  return svg_document(660, 420, svg_panel(p, series));
}

std::string energy_section(const std::vector<json>& results, const std::vector<std::string>& sizes, std::string* svg) {
  std::string md = "| run | weights | N | energy / token (pJ, 7 nm) | loss |\n|---|---|---:|---:|---:|\n";
  std::vector<PlotSeries> series;
  for (const char* mode : kModes) {
    PlotSeries s{mode, mode_color(mode), {}};
    for (const std::string& size : sizes)
      if (const json* r = find_run(results, size, mode)) {
        const double e = energy_per_token_pj(*r), loss = result_heldout_loss(*r);
        md += fmt::format("| {} | {} | {} | {:.3g} | {} |\n", r->value("run", ""), mode, human(n_params(*r)), e, num(loss));
        if (std::isfinite(loss)) s.xy.push_back({e, loss});
      }
    if (!s.xy.empty()) series.push_back(s);
  }
  PlotPanel p{"Inference-optimal view: loss against energy per token (003 eq. 10-12, 7 nm)", "energy per token (pJ)",
              "loss (nats / token)"};
  p.log_y = false;
  p.legend_right = true;
  p.w = 520;
  *svg = svg_document(660, 420, svg_panel(p, series));
  return md;
}

std::string ablation_section(const std::vector<json>& results) {
  std::string md = "| run | note | against | its loss | run's loss | difference | state |\n|---|---|---|---:|---:|---:|---|\n";
  bool any = false;
  for (const json& r : results) {
    if (r.value("grid", true) || is_ptq(r)) continue;
    any = true;
    const json* base = find_run(results, r.value("size", ""), r.value("weight_mode", ""));
    const double lb = base ? result_heldout_loss(*base) : std::nan(""), lr = result_heldout_loss(r);
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", r.value("run", ""), r.value("note", ""),
                      base ? base->value("run", "") : std::string("—"), num(lb), num(lr),
                      std::isfinite(lr - lb) ? fmt::format("{:+.4f}", lr - lb) : std::string("—"),
                      diverged(r) ? fmt::format("diverged at step {}", r["train"]["diverged"].value("step", 0))
                                  : std::string("trained"));
  }
  return any ? md : std::string("(no extra runs have results yet)\n");
}

std::string ptq_section(const std::vector<json>& results, const std::vector<std::string>& sizes,
                        const std::vector<std::string>& tasks) {
  std::string md = quality_header(tasks, "model (size: method, W bits / A bits)");
  bool any = false;
  for (const std::string& size : sizes) {
    bool size_any = false;
    for (const json& r : results)
      if (is_ptq(r) && r.value("size", "") == size) size_any = true;
    if (!size_any) continue;
    any = true;
    for (const char* mode : kModes)
      if (const json* g = find_run(results, size, mode))
        md += quality_row(*g, fmt::format("{}: {} trained{}{}", size, mode, std::string(mode) == "fp" ? "" : " (QAT)",
                                          std::string(mode) == "fp" ? ", W16A16" : std::string(mode) == "b1" ? ", W1A8" : ", W1.58A8"),
                          tasks);
    for (const json& r : results) {
      if (!is_ptq(r) || r.value("size", "") != size) continue;
      const json& q = r["ptq"];
      const double wb = q.value("wbits", 0.0);
      md += quality_row(r, fmt::format("{}: fp + {} PTQ, W{}A{}{}", size, q.value("method", ""),
                                       wb == std::floor(wb) ? fmt::format("{}", int(wb)) : fmt::format("{}", wb),
                                       q.value("abits", 16),
                                       q.value("group_size", 0) > 0 ? fmt::format(", group {}", q.value("group_size", 0)) : ""),
                        tasks);
    }
  }
  return any ? md : std::string("(no post-training-quantized models have results yet)\n");
}

}  // namespace

double result_heldout_loss(const json& r) {
  if (diverged(r) || !has_eval(r) || !r["eval"].contains("heldout") || r["eval"]["heldout"].empty())
    return std::numeric_limits<double>::quiet_NaN();
  double nll = 0, tokens = 0;
  for (const json& h : r["eval"]["heldout"]) {
    nll += h.value("nll_nats", 0.0);
    tokens += h.value("n_tokens", 0.0);
  }
  return tokens > 0 ? nll / tokens : std::numeric_limits<double>::quiet_NaN();
}

SweepReport build_sweep_report(const std::string& name, const std::vector<json>& results,
                               const std::vector<std::string>& sizes) {
  SweepReport rep;
  const std::vector<std::string> tasks = task_names(results);
  std::string& md = rep.markdown;
  md += fmt::format("# Sweep '{}': results\n\nGenerated by `bitlm sweep` from the committed result.json files ({} models). "
                    "Loss is the held-out cross-entropy in nats per token (lower is better); tasks are zero-shot "
                    "accuracy in percent (acc_norm where the task has it).\n\n",
                    name, results.size());
  std::string cpu;
  for (const json& r : results)
    if (r.contains("train") && r["train"].contains("sessions")) cpu = r["train"]["sessions"].value("cpu", cpu);
  double wall = 0, cpu_s = 0;
  md += "## How the compute was spent\n\n" + compute_table(results, &wall, &cpu_s);
  md += fmt::format("\nTotal: {:.0f} s wall ({:.2f} h), {:.0f} s CPU, on {}.\n\n", wall, wall / 3600, cpu_s,
                    cpu.empty() ? std::string("(CPU not recorded)") : cpu);
  md += "## Quality per size (003 Tables 4/5 style)\n\n" + quality_header(tasks, "model");
  for (const std::string& size : sizes)
    for (const char* mode : kModes)
      if (const json* r = find_run(results, size, mode)) md += quality_row(*r, fmt::format("{} {}", size, mode), tasks);
  md += "\n## Gap to fp per size\n\n" + gap_section(results, sizes);
  std::vector<ModeFit> fits;
  for (const char* mode : kModes) fits.push_back(fit_mode(results, sizes, mode));
  md += "\n## Scaling law L(N) = a·(N/N0)^-α + c (003 eq. 13)\n\n" + fits_section(fits);
  md += "\n![loss against N](scaling.svg)\n";
  rep.scaling_svg = scaling_svg(fits);
  md += "\n## Inference-optimal view: loss against energy per token\n\n"
        "Energy: 003 eq. 10-12 over the weight matmuls of one token at 7 nm (Table 1), fp as FP16 multiply-adds, "
        "b1/b1.58 as INT8 adds plus the two rescaling multiplies; attention's activation products and the head are "
        "left out.\n\n" +
        energy_section(results, sizes, &rep.energy_svg) + "\n![loss against energy](energy.svg)\n";
  md += "\n## Ablations and the stability test (003 Table 9, Fig. 6)\n\n" + ablation_section(results);
  md += "\n## Post-training quantization against training in low bits (003 Table 3)\n\n" + ptq_section(results, sizes, tasks);
  return rep;
}

}  // namespace bitlm
