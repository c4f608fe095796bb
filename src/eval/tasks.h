// eval/tasks.h — the zero-shot tasks of the papers as lm-evaluation-harness poses them
// (shared/docs/FORMATS.md §7, lm-eval @4e7e0d4): every document becomes N choices, each a
// (context, continuation) pair of strings; the metrics pick the likeliest choice.
//   multiple choice (ARC, HellaSwag, PIQA, OpenBookQA, SciQ, BoolQ): one context, continuation
//     " " + choice text (target_delimiter " ");
//   WinoGrande (partial scoring): context_i = sentence[:blank] + option_i, one shared
//     continuation " " + sentence[blank+1:].strip();
//   LAMBADA: one choice, context = all but the last word, continuation " " + last word.
// Readers accept the files in shared/data as they are (llama.cpp HellaSwag text, MosaicML
// llm-foundry jsonl, the PIQA release) and the original / HF-hub layouts; the format is detected
// per file. Malformed input throws FormatError "<path>: line N: ...".
#pragma once
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bitlm {

enum class TaskMetrics {
  kAccAndNorm,  // acc, acc_norm (ll / characters of the choice)
  kAcc,         // acc only (BoolQ, WinoGrande)
  kLastWord,    // LAMBADA: acc = is_greedy, perplexity = exp(-mean ll)
};

struct TaskChoice {
  std::string context, continuation;
  int64_t n_chars = 0;  // Python len() of the choice text without the delimiter: acc_norm's divisor
};

struct TaskDoc {
  std::vector<TaskChoice> choices;
  int32_t gold = 0;
};

struct Task {
  std::string name, path;
  TaskMetrics metrics = TaskMetrics::kAccAndNorm;
  std::vector<TaskDoc> docs;
};

// arc_easy, arc_challenge, hellaswag, piqa, winogrande, boolq, openbookqa, lambada, sciq.
std::span<const std::string_view> known_tasks();
TaskMetrics task_metrics(std::string_view name);  // UserError for an unknown task

// The file of `name` under a data dir laid out like shared/data ("" when none is known: sciq).
std::string default_task_path(std::string_view name, const std::string& data_dir);

// Reads `path` (any layout above) as task `name`. PIQA in its release layout reads its labels
// from the sibling "<stem>-labels.lst".
Task load_task(std::string_view name, const std::string& path);

// Every task of a comma-separated list, each read from `files[name]` when given, else from its
// default file under `data_dir` (a UserError when it has neither) — read before a model loads.
std::vector<Task> load_tasks(const std::string& names, const std::string& data_dir,
                             const std::map<std::string, std::string>& files = {});

// Pieces of the prompt formats, exposed for tests.
std::string hellaswag_preprocess(std::string_view text);   // lm-eval tasks/hellaswag/utils.py
std::string python_capitalize(std::string_view text);      // str.capitalize() on ASCII letters
int64_t utf8_code_points(std::string_view text);           // Python len() of a UTF-8 string

}  // namespace bitlm
