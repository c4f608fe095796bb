// cli/cmd_eval.cpp — `bitlm eval ppl` (sliding-window perplexity and bits per byte of text files)
// and `bitlm eval tasks` (the papers' zero-shot tasks, scored as lm-evaluation-harness does),
// both writing a JSON report and printing a markdown table.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/sys.h"
#include "core/thread_pool.h"
#include "eval/model_scorer.h"
#include "eval/perplexity.h"
#include "eval/report.h"
#include "eval/task_eval.h"
#include "eval/tasks.h"
#include "io/atomic_write.h"
#include "model/forward.h"
#include "tokenizer/tokenizer.h"

namespace bitlm::cli {
namespace {

struct EvalArgs {
  std::string model, out_json, act = "int8", kv_type = "f16";
  std::vector<std::string> data_files;
  std::string tasks = "arc_easy,arc_challenge,hellaswag,piqa,winogrande,boolq,openbookqa,lambada";
  std::string data_dir = std::string(BITLM_SHARED_DIR) + "/data";
  std::vector<std::string> task_files;  // task=PATH
  int64_t n_ctx = 0, stride = 0, limit = 0;
  int threads = 0;
  bool no_bos = false;
};

struct Runtime {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<Forward> fwd;
  int32_t bos = -1;
};

Runtime open_model(const EvalArgs& a, int64_t default_ctx) {
  Runtime rt;
  rt.model = Model::load(a.model);
  rt.tok = Tokenizer::from_gguf(*rt.model->file);
  rt.pool = std::make_unique<ThreadPool>(thread_count(a.threads));
  const int64_t n_ctx = context_size(a.n_ctx, default_ctx, rt.model->config.n_ctx_train, a.model);
  rt.fwd = std::make_unique<Forward>(*rt.model, n_ctx, *rt.pool, a.act == "none" ? ActMode::kNone : ActMode::kInt8, kPromptStep,
                                     parse_kv_type(a.kv_type));
  rt.bos = a.no_bos ? -1 : rt.tok->bos();
  return rt;
}

std::string model_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

void write_json(const std::string& path, const nlohmann::json& j) {
  if (path.empty()) return;
  atomic_write_text(path, j.dump(2) + "\n");
  fmt::print(stderr, "wrote {}\n", path);
}

std::function<void(int64_t, int64_t)> progress_to(std::unique_ptr<ProgressBar>& bar, std::string label) {
  return [&bar, label](int64_t done, int64_t total) {
    if (!bar) bar = std::make_unique<ProgressBar>(label, total);
    bar->update(done);
  };
}

void run_ppl(const EvalArgs& a) {
  BITLM_CHECK(!a.data_files.empty(), "eval ppl: give at least one --data FILE");
  std::vector<std::vector<std::string>> documents;  // every file read before the model loads
  for (const std::string& file : a.data_files) {
    documents.push_back(read_documents(file));
    if (documents.back().empty())  // a perplexity over no tokens would read 1
      throw UserError(fmt::format("{}: no text to score (the file is empty)", file));
  }
  Runtime rt = open_model(a, 512);
  ModelScorer scorer(*rt.fwd);
  const TextEncoder encode = text_encoder(*rt.tok);
  std::vector<PerplexityEntry> entries;
  for (size_t i = 0; i < a.data_files.size(); ++i) {
    const std::string& file = a.data_files[i];
    PerplexityOptions o;
    o.n_ctx = rt.fwd->n_ctx();
    o.stride = a.stride > 0 ? a.stride : o.n_ctx / 2;
    o.bos = rt.bos;
    std::unique_ptr<ProgressBar> bar;
    o.on_progress = progress_to(bar, "ppl " + model_name(file));
    const double t0 = now_seconds();
    const PerplexityStats s = perplexity(documents[i], scorer, encode, o);
    if (bar) bar->finish(fmt::format("{:.1f} s", now_seconds() - t0));
    if (s.n_tokens == 0)
      throw UserError(fmt::format("{}: no token to score (each document is shorter than two tokens)", file));
    entries.push_back({file, s, o.n_ctx, o.stride});
  }
  fmt::print("{}", perplexity_markdown(model_name(a.model), entries));
  write_json(a.out_json, {{"model", a.model}, {"kv_type", a.kv_type}, {"perplexity", perplexity_json(entries)}});
}

std::map<std::string, std::string> parse_task_files(const std::vector<std::string>& specs) {
  std::map<std::string, std::string> out;
  for (const std::string& s : specs) {
    const size_t eq = s.find('=');
    BITLM_CHECK(eq != std::string::npos && eq > 0, "--task-file wants task=PATH, got '{}'", s);
    task_metrics(s.substr(0, eq));  // an unknown task name fails here
    out[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return out;
}

void run_tasks(const EvalArgs& a) {
  const std::map<std::string, std::string> files = parse_task_files(a.task_files);
  const std::vector<Task> tasks = load_tasks(a.tasks, a.data_dir, files);  // read before the model loads
  Runtime rt = open_model(a, 2048);
  ModelScorer scorer(*rt.fwd);
  const TextEncoder encode = text_encoder(*rt.tok);
  std::vector<TaskResult> results;
  for (const Task& t : tasks) {
    TaskEvalOptions o;
    o.limit = a.limit;
    o.bos = rt.bos;
    std::unique_ptr<ProgressBar> bar;
    o.on_progress = progress_to(bar, t.name);
    const double t0 = now_seconds();
    results.push_back(evaluate_task(t, scorer, encode, o));
    if (bar) bar->finish(fmt::format("acc {:.4f}, {:.1f} s", results.back().acc, now_seconds() - t0));
  }
  fmt::print("{}", task_results_markdown(model_name(a.model), results));
  if (scorer.n_truncated_continuations() > 0)
    fmt::print(stderr, "note: {} continuations were longer than the {}-token context; only their last {} tokens were scored\n",
               scorer.n_truncated_continuations(), rt.fwd->n_ctx(), rt.fwd->n_ctx());
  write_json(a.out_json, {{"model", a.model}, {"limit", a.limit}, {"n_ctx", rt.fwd->n_ctx()},
                          {"bos", rt.bos >= 0}, {"act", a.act}, {"kv_type", a.kv_type},
                          {"truncated_continuations", scorer.n_truncated_continuations()},
                          {"tasks", task_results_json(results)}});
}

void add_common(CLI::App* c, EvalArgs& a) {
  c->add_option("-m,--model", a.model, "model GGUF file")->required();
  c->add_option("-c,--ctx-size", a.n_ctx, "context window (0: ppl 512, tasks 2048, at most the model's training context)")
      ->check(at_least(0));
  c->add_option("-t,--threads", a.threads, "threads (0: every CPU this process may run on)")->check(at_least(0));
  c->add_option("--act", a.act, "activations: int8 or none")->check(CLI::IsMember({"int8", "none"}));
  add_kv_type_option(c, a.kv_type);
  c->add_flag("--no-bos", a.no_bos, "do not prepend BOS to contexts / documents");
  c->add_option("-o,--output", a.out_json, "write the JSON report here");
}

void setup(CLI::App& root) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* eval = root.add_subcommand("eval", "perplexity and zero-shot task evaluation");
  eval->require_subcommand(1);
  CLI::App* ppl = eval->add_subcommand("ppl", "sliding-window perplexity and bits per byte of text files");
  add_common(ppl, *a);
  ppl->add_option("--data", a->data_files, "text files (TinyStories <|endoftext|> lines split documents)")
      ->required()->check(CLI::ExistingFile);
  ppl->add_option("--stride", a->stride, "tokens scored per window after the first (default ctx/2)")
      ->check(at_least(0));
  ppl->callback([a] { run_ppl(*a); });
  CLI::App* tasks = eval->add_subcommand("tasks", "zero-shot tasks, lm-evaluation-harness scoring");
  add_common(tasks, *a);
  tasks->add_option("--tasks", a->tasks, "comma-separated task names");
  tasks->add_option("--limit", a->limit, "first N documents per task (0: all)")->check(at_least(0));
  tasks->add_option("--data-dir", a->data_dir, "folder laid out like shared/data");
  tasks->add_option("--task-file", a->task_files, "task=PATH: a task's file, in any supported layout");
  tasks->callback([a] { run_tasks(*a); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
