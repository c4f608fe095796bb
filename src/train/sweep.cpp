// train/sweep.cpp — see sweep.h.
#include "train/sweep.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/cpu.h"
#include "core/error.h"
#include "core/sys.h"
#include "io/atomic_write.h"
#include "io/gguf.h"
#include "model/ptq_model.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/trainer.h"

namespace bitlm {
namespace {

using nlohmann::json;

void refuse_unknown(const json& obj, std::initializer_list<const char*> known, const std::string& where,
                    const std::string& section) {
  if (!obj.is_object()) throw FormatError(where, fmt::format("'{}' must be a JSON object", section));
  for (const auto& [k, v] : obj.items()) {
    bool ok = false;
    for (const char* kk : known) ok |= k == kk;
    if (!ok) throw FormatError(where, fmt::format("unknown key '{}{}'", section.empty() ? "" : section + ".", k));
  }
}

template <typename T>
T get_or(const json& obj, const char* key, T fallback, const std::string& where, const std::string& section) {
  const auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw FormatError(where, fmt::format("'{}{}' has the wrong type ({})", section.empty() ? "" : section + ".", key,
                                         it->dump()));
  }
}

SweepRun make_run(const json& base, const json& patch, const std::string& name, const SweepSpec& spec,
                  const std::string& where) {
  const std::string& out_dir = spec.out_dir;
  json merged = base;
  merged.merge_patch(patch);
  merged["out_dir"] = out_dir + "/" + name;
  SweepRun r;
  r.name = name;
  r.results_dir = spec.results_dir + "/" + name;
  r.config = TrainConfig::from_json(merged, fmt::format("{} (run '{}')", where, name));
  r.config_json = merged;
  return r;
}

SweepEval parse_eval(const json& e, const std::string& where) {
  refuse_unknown(e, {"heldout", "heldout_docs", "ctx", "tasks", "task_limit"}, where, "eval");
  SweepEval s;
  s.heldout = get_or(e, "heldout", s.heldout, where, "eval");
  s.heldout_docs = get_or(e, "heldout_docs", s.heldout_docs, where, "eval");
  s.ctx = get_or(e, "ctx", s.ctx, where, "eval");
  s.tasks = get_or(e, "tasks", s.tasks, where, "eval");
  s.task_limit = get_or(e, "task_limit", s.task_limit, where, "eval");
  BITLM_CHECK(s.heldout_docs >= 0 && s.ctx >= 0 && s.task_limit >= 0, "{}: eval counts must be >= 0", where);
  return s;
}

SweepPtq parse_ptq(const json& p, const std::string& where) {
  refuse_unknown(p, {"from", "method", "wbits", "abits", "group_size"}, where, "ptq[]");
  SweepPtq q;
  q.from = get_or(p, "from", q.from, where, "ptq[]");
  q.method = get_or(p, "method", q.method, where, "ptq[]");
  q.wbits = get_or(p, "wbits", q.wbits, where, "ptq[]");
  q.abits = get_or(p, "abits", q.abits, where, "ptq[]");
  q.group_size = get_or(p, "group_size", q.group_size, where, "ptq[]");
  BITLM_CHECK(q.method == "absmax" || q.method == "gptq", "{}: ptq method '{}' is not absmax or gptq", where, q.method);
  return q;
}

}  // namespace

std::string SweepPtq::name() const { return ptq_name(options()); }

PtqOptions SweepPtq::options() const {
  PtqOptions o;
  o.method = method;
  o.wbits = wbits;
  o.abits = abits;
  o.group_size = group_size;
  return o;
}

SweepSpec SweepSpec::from_json(const json& j, const std::string& where) {
  refuse_unknown(j, {"name", "out_dir", "data", "data_tokenizer", "base", "sizes", "weight_modes", "extra_runs",
                     "eval", "ptq", "results_dir"}, where, "");
  SweepSpec s;
  s.path = where;
  s.name = get_or<std::string>(j, "name", "sweep", where, "");
  s.out_dir = get_or<std::string>(j, "out_dir", "runs/sweep", where, "");
  s.data_tokenizer = get_or<std::string>(j, "data_tokenizer", "", where, "");
  s.results_dir = get_or<std::string>(j, "results_dir", "docs/reproduction/" + s.name, where, "");
  for (const json& d : get_or(j, "data", json::array(), where, "")) {
    refuse_unknown(d, {"text", "prefix"}, where, "data[]");
    s.data.push_back({get_or<std::string>(d, "text", "", where, "data[]"), get_or<std::string>(d, "prefix", "", where, "data[]")});
    BITLM_CHECK(!s.data.back().text.empty() && !s.data.back().prefix.empty(), "{}: data[] needs 'text' and 'prefix'", where);
  }
  const json base = get_or(j, "base", json::object(), where, "");
  refuse_unknown(base, {"model", "schedule", "adam", "train_data", "valid_data", "tokenizer", "steps", "batch_size",
                        "grad_accum", "grad_clip", "seed", "init_std", "threads", "checkpoint_every", "eval_every",
                        "eval_batches", "matmul_precision"}, where, "base");
  s.weight_modes = get_or(j, "weight_modes", std::vector<std::string>{"b1.58", "b1", "fp"}, where, "");
  for (const std::string& m : s.weight_modes) parse_weight_mode(m);
  std::set<std::string> names;
  auto add = [&](SweepRun r) {
    BITLM_CHECK(names.insert(r.name).second, "{}: two runs are named '{}'", where, r.name);
    s.runs.push_back(std::move(r));
  };
  std::map<std::string, json> size_model;
  for (const json& sz : get_or(j, "sizes", json::array(), where, "")) {
    refuse_unknown(sz, {"name", "model"}, where, "sizes[]");
    const std::string name = get_or<std::string>(sz, "name", "", where, "sizes[]");
    BITLM_CHECK(!name.empty() && size_model.count(name) == 0, "{}: every size needs a unique 'name'", where);
    size_model[name] = get_or(sz, "model", json::object(), where, "sizes[]");
    s.sizes.push_back(name);
  }
  BITLM_CHECK(!s.sizes.empty(), "{}: 'sizes' lists no model size", where);
  for (const std::string& size : s.sizes)
    for (const std::string& mode : s.weight_modes) {
      json patch = {{"model", size_model[size]}};
      patch["model"]["weight_mode"] = mode;
      SweepRun r = make_run(base, patch, size + "-" + mode, s, where);
      r.size = size;
      add(std::move(r));
    }
  for (const json& x : get_or(j, "extra_runs", json::array(), where, "")) {
    refuse_unknown(x, {"name", "size", "weight_mode", "note", "config"}, where, "extra_runs[]");
    const std::string name = get_or<std::string>(x, "name", "", where, "extra_runs[]");
    const std::string size = get_or<std::string>(x, "size", "", where, "extra_runs[]");
    BITLM_CHECK(!name.empty(), "{}: every extra run needs a 'name'", where);
    BITLM_CHECK(size_model.count(size), "{}: extra run '{}' names size '{}', which 'sizes' does not define", where, name, size);
    json patch = {{"model", size_model[size]}};
    patch["model"]["weight_mode"] = get_or<std::string>(x, "weight_mode", "b1.58", where, "extra_runs[]");
    patch.merge_patch(get_or(x, "config", json::object(), where, "extra_runs[]"));
    SweepRun r = make_run(base, patch, name, s, where);
    r.size = size;
    r.grid = false;
    r.note = get_or<std::string>(x, "note", "", where, "extra_runs[]");
    add(std::move(r));
  }
  if (j.contains("eval")) s.eval = parse_eval(j["eval"], where);
  for (const json& p : get_or(j, "ptq", json::array(), where, "")) s.ptq.push_back(parse_ptq(p, where));
  return s;
}

SweepSpec SweepSpec::from_file(const std::string& path) { return from_json(read_json_file(path), path); }

const SweepRun* SweepSpec::find(const std::string& run_name) const {
  for (const SweepRun& r : runs)
    if (r.name == run_name) return &r;
  return nullptr;
}

const char* run_status_name(RunStatus s) {
  switch (s) {
    case RunStatus::kNew: return "new";
    case RunStatus::kPartial: return "partial";
    case RunStatus::kTrained: return "trained";
    case RunStatus::kDiverged: return "diverged";
    case RunStatus::kBusy: return "busy";
    case RunStatus::kDone: return "done";
  }
  return "?";
}

std::string run_checkpoint_path(const SweepRun& run) { return run.config.out_dir + "/checkpoint.safetensors"; }
std::string run_diverged_path(const SweepRun& run) { return run.config.out_dir + "/diverged.json"; }
std::string run_sessions_path(const SweepRun& run) { return run.config.out_dir + "/sessions.jsonl"; }
std::string run_result_path(const SweepRun& run) { return run.results_dir + "/result.json"; }

RunProgress run_progress(const SweepRun& run) {
  if (std::filesystem::exists(run_result_path(run))) return {RunStatus::kDone, run.config.steps};
  if (std::filesystem::exists(run_diverged_path(run))) return {RunStatus::kDiverged, 0};
  const std::string ckpt = run_checkpoint_path(run);
  if (!std::filesystem::exists(ckpt)) return {RunStatus::kNew, 0};
  const TrainConfig saved = checkpoint_config(ckpt);
  TrainConfig want = run.config;
  want.model.n_vocab = saved.model.n_vocab;  // 0 in the sweep file means "from the data"
  BITLM_CHECK(saved.model_json() == want.model_json() && saved.batch_size == want.batch_size &&
                  saved.grad_accum == want.grad_accum && saved.steps == want.steps && saved.seed == want.seed &&
                  saved.train_data == want.train_data,
              "{}: the checkpoint there was trained with another config than run '{}' of the sweep ({} there); "
              "move the folder away to train the run again",
              ckpt, run.name, saved.to_json().dump());
  const int64_t step = checkpoint_step(ckpt);
  return {step >= run.config.steps ? RunStatus::kTrained : RunStatus::kPartial, step};
}

int64_t non_embedding_params(const TrainModelConfig& m) {
  const int64_t per_layer = m.n_embd * m.q_dim() + 2 * m.n_embd * m.kv_dim() + m.q_dim() * m.n_embd +
                            3 * m.n_embd * m.n_ff;
  return per_layer * m.n_layer;
}

}  // namespace bitlm

namespace bitlm {
namespace {

// An exclusive flock on a file in the run folder, released when the process ends however it ends.
class RunLock {
 public:
  explicit RunLock(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw IoError(fmt::format("{}: cannot open the run's lock file", path));
    held_ = ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
  }
  ~RunLock() { ::close(fd_); }
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  bool held() const { return held_; }

 private:
  int fd_;
  bool held_ = false;
};

void append_line(const std::string& path, const nlohmann::json& j) {
  std::ofstream f(path, std::ios::app);
  if (!(f << j.dump() << '\n') || !f.flush()) throw IoError(fmt::format("{}: cannot append", path));
}

void write_json_atomic(const std::string& path, const nlohmann::json& j) {
  const std::string text = j.dump(2) + "\n";
  atomic_write_file(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

}  // namespace

std::vector<std::string> prepare_sweep_data(const SweepSpec& spec) {
  std::vector<std::string> written;
  for (const SweepDataPrep& d : spec.data) {
    if (std::filesystem::exists(d.prefix + "_0000.bin")) continue;
    BITLM_CHECK(!spec.data_tokenizer.empty(), "{}: shards {}_*.bin are missing and no data_tokenizer is set to make them",
                spec.path, d.prefix);
    const auto file = GgufFile::open(spec.data_tokenizer);
    const auto tok = Tokenizer::from_gguf(*file);
    std::ifstream f(d.text, std::ios::binary);
    if (!f) throw IoError(fmt::format("{}: cannot open", d.text));
    const std::string text{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
    const std::filesystem::path parent = std::filesystem::path(d.prefix).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    prepare_shards(text, [&](std::string_view doc) { return tok->encode(doc, /*add_bos=*/false); }, tok->eos(),
                   tok->n_vocab(), d.prefix, 100'000'000);
    written.push_back(d.prefix);
  }
  return written;
}

SweepTrainOutcome train_sweep_run(const SweepRun& run, bool progress) {
  SweepTrainOutcome out;
  if (const RunProgress p = run_progress(run);
      p.status == RunStatus::kTrained || p.status == RunStatus::kDiverged || p.status == RunStatus::kDone) {
    out.status = p.status;
    out.from_step = out.to_step = p.step;
    return out;
  }
  std::filesystem::create_directories(run.config.out_dir);
  const RunLock lock(run.config.out_dir + "/.lock");
  if (!lock.held()) {
    out.status = RunStatus::kBusy;
    return out;
  }
  const RunProgress before = run_progress(run);  // again: the other process may have finished it
  out.status = before.status;
  out.from_step = out.to_step = before.step;
  if (before.status == RunStatus::kTrained || before.status == RunStatus::kDiverged || before.status == RunStatus::kDone)
    return out;
  write_json_atomic(run.config.out_dir + "/config.json", run.config_json);
  TrainOptions opt;
  opt.progress = progress;
  if (before.status == RunStatus::kPartial) opt.resume = run_checkpoint_path(run);
  const double wall0 = now_seconds(), cpu0 = process_cpu_seconds();
  auto session = [&](int64_t to_step, bool stopped) {
    out.to_step = to_step;
    out.wall_s = now_seconds() - wall0;
    out.cpu_s = process_cpu_seconds() - cpu0;
    append_line(run_sessions_path(run), {{"from_step", out.from_step}, {"to_step", to_step}, {"wall_s", out.wall_s},
                                         {"cpu_s", out.cpu_s}, {"stopped", stopped}, {"cpu", cpu_features().brand}});
  };
  try {
    const TrainResult r = run_training(run.config, opt);
    session(r.steps_done, r.interrupted);
    out.status = r.interrupted ? RunStatus::kPartial : RunStatus::kTrained;
  } catch (const TrainingDiverged& e) {
    session(e.step, false);
    write_json_atomic(run_diverged_path(run), {{"step", e.step}, {"loss", std::isnan(e.loss) ? "nan" : "inf"},
                                               {"message", e.what()}});
    out.status = RunStatus::kDiverged;
  }
  return out;
}

}  // namespace bitlm

namespace bitlm {
namespace {

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) throw FormatError(path, "a line is not JSON: " + line.substr(0, 80));
    lines.push_back(std::move(j));
  }
  return lines;
}

}  // namespace

nlohmann::json sweep_train_summary(const SweepRun& run) {
  const TrainConfig& c = run.config;
  const TrainModelConfig& m = c.model;
  const int64_t tokens_per_step = c.batch_size * c.grad_accum * m.seq_len;
  nlohmann::json s = {
      {"model", {{"arch", m.arch}, {"n_vocab", m.n_vocab}, {"n_embd", m.n_embd}, {"n_ff", m.n_ff},
                 {"n_layer", m.n_layer}, {"n_head", m.n_head}, {"n_head_kv", m.n_head_kv}, {"seq_len", m.seq_len},
                 {"glu", true}}},
      {"n_params", non_embedding_params(m)}, {"steps", c.steps}, {"tokens_per_step", tokens_per_step},
      {"lr", c.schedule.lr}};
  if (m.elastic_act) s["model"]["act_quant"] = "elastic";  // 003 Table 9's ablation; absmax runs unchanged
  double wall = 0, cpu = 0;
  int64_t steps_trained = 0;
  std::string cpu_name;
  for (const json& l : read_jsonl(run_sessions_path(run))) {
    wall += l.value("wall_s", 0.0);
    cpu += l.value("cpu_s", 0.0);
    steps_trained += l.value("to_step", int64_t(0)) - l.value("from_step", int64_t(0));
    cpu_name = l.value("cpu", cpu_name);
  }
  s["sessions"] = {{"wall_s", wall}, {"cpu_s", cpu}, {"steps", steps_trained}, {"cpu", cpu_name},
                   {"tokens_per_wall_s", wall > 0 ? double(steps_trained * tokens_per_step) / wall : 0.0},
                   {"tokens_per_cpu_s", cpu > 0 ? double(steps_trained * tokens_per_step) / cpu : 0.0}};
  int64_t last_step = 0;
  for (const json& l : read_jsonl(c.out_dir + "/metrics.jsonl")) {
    if (l.contains("loss")) {
      s["last_loss"] = l["loss"];
      last_step = l.value("step", last_step);
    }
    if (l.contains("val_loss")) s["last_val_loss"] = l["val_loss"];
  }
  s["last_step"] = last_step;
  s["tokens"] = last_step * tokens_per_step;
  if (std::filesystem::exists(run_diverged_path(run))) s["diverged"] = read_json_file(run_diverged_path(run));
  return s;
}

void write_run_results(const SweepRun& run, const nlohmann::json& eval, int64_t keep_every) {
  std::filesystem::create_directories(run.results_dir);
  const nlohmann::json train = sweep_train_summary(run);
  write_json_atomic(run.results_dir + "/config.json", run.config_json);
  std::string sessions, metrics;
  for (const json& l : read_jsonl(run_sessions_path(run))) sessions += l.dump() + "\n";
  const std::vector<json> lines = read_jsonl(run.config.out_dir + "/metrics.jsonl");
  for (size_t i = 0; i < lines.size(); ++i) {
    const json& l = lines[i];
    const bool val = l.contains("val_loss"), last = i + 1 == lines.size();
    if (val || last || l.value("step", int64_t(0)) % std::max<int64_t>(keep_every, 1) == 0) metrics += l.dump() + "\n";
  }
  atomic_write_text(run.results_dir + "/sessions.jsonl", sessions);
  atomic_write_text(run.results_dir + "/metrics.jsonl", metrics);
  write_json_atomic(run_result_path(run), {{"run", run.name}, {"size", run.size}, {"note", run.note}, {"grid", run.grid},
                                           {"weight_mode", weight_mode_name(run.config.model.weight_mode)},
                                           {"train", train}, {"eval", eval}});
}

}  // namespace bitlm
