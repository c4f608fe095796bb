// eval/tasks.cpp — task file readers and lm-eval prompt formats (see tasks.h; prompts from
// shared/docs/FORMATS.md §7 and each shared/data/*/SOURCE.md).
#include "eval/tasks.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "core/error.h"

namespace bitlm {
namespace {

using json = nlohmann::json;

constexpr std::array<std::string_view, 9> kTasks = {
    "arc_easy", "arc_challenge", "hellaswag", "piqa", "winogrande",
    "boolq", "openbookqa", "lambada", "sciq"};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view strip(std::string_view s) {  // Python str.strip() on ASCII whitespace
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view lstrip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open task file", path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

// One jsonl record with the file and line for every error it raises.
struct Record {
  const json& j;
  const std::string& path;
  int64_t line;

  [[noreturn]] void fail(std::string_view what) const {
    throw FormatError(path, fmt::format("line {}: {}", line, what));
  }
  bool has(const char* key) const { return j.contains(key); }
  const json& field(const char* key) const {
    if (!j.contains(key)) fail(fmt::format("missing field \"{}\"", key));
    return j.at(key);
  }
  std::string str(const char* key) const {
    const json& v = field(key);
    if (!v.is_string()) fail(fmt::format("field \"{}\" is not a string", key));
    return v.get<std::string>();
  }
  int64_t integer(const char* key) const {
    const json& v = field(key);
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_string()) {  // WinoGrande "answer": "1", HellaSwag "label": "3"
      const std::string s = v.get<std::string>();
      int64_t value = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
      if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return value;
    }
    fail(fmt::format("field \"{}\" is not an integer", key));
  }
  std::vector<std::string> strings(const json& v, std::string_view what) const {
    if (!v.is_array() || v.empty()) fail(fmt::format("{} is not a non-empty list", what));
    std::vector<std::string> out;
    for (const json& e : v) {
      if (!e.is_string()) fail(fmt::format("{} holds a non-string", what));
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  std::vector<std::string> strings(const char* key) const {
    return strings(field(key), fmt::format("field \"{}\"", key));
  }
  int32_t gold(int64_t value, size_t n_choices) const {
    if (value < 0 || value >= int64_t(n_choices))
      fail(fmt::format("label {} out of range [0, {})", value, n_choices));
    return int32_t(value);
  }
};

// " " + choice after one shared context (target_delimiter " ").
TaskDoc multiple_choice(const std::string& context, const std::vector<std::string>& choices,
                        int64_t gold, const Record& r) {
  TaskDoc doc;
  for (const std::string& c : choices)
    doc.choices.push_back({context, " " + c, utf8_code_points(c)});
  doc.gold = r.gold(gold, choices.size());
  return doc;
}

std::string question_answer(std::string_view question) {
  return fmt::format("Question: {}\nAnswer:", question);
}

// ARC / OpenBookQA originals: {"question": {"stem", "choices": [{"text","label"}]}, "answerKey"};
// HF hub: {"question"|"question_stem": str, "choices": {"text": [], "label": []}, "answerKey"}.
struct LabelledChoices { std::vector<std::string> texts; int64_t gold; };
LabelledChoices labelled_choices(const json& choices, const Record& r) {
  std::vector<std::string> texts, labels;
  if (choices.is_array()) {
    for (const json& c : choices) {
      if (!c.is_object() || !c.contains("text") || !c.contains("label") || !c["text"].is_string() ||
          !c["label"].is_string())
        r.fail("a choice is not {\"text\": str, \"label\": str}");
      texts.push_back(c["text"].get<std::string>());
      labels.push_back(c["label"].get<std::string>());
    }
  } else if (choices.is_object() && choices.contains("text") && choices.contains("label")) {
    texts = r.strings(choices["text"], "choices.text");
    labels = r.strings(choices["label"], "choices.label");
  } else {
    r.fail("field \"choices\" is neither a list of {text, label} nor {text: [], label: []}");
  }
  if (texts.empty() || texts.size() != labels.size()) r.fail("choices: texts and labels differ in count");
  const std::string key = r.str("answerKey");
  const auto at = std::find(labels.begin(), labels.end(), key);
  if (at == labels.end()) r.fail(fmt::format("answerKey \"{}\" is not one of the choice labels", key));
  return {texts, at - labels.begin()};
}

std::string question_stem(const Record& r) {
  const json& q = r.field("question");
  if (q.is_object()) {
    if (!q.contains("stem") || !q["stem"].is_string()) r.fail("field \"question.stem\" is missing");
    return q["stem"].get<std::string>();
  }
  return r.str("question");
}

TaskDoc arc_doc(const Record& r) {  // "Question: {question}\nAnswer:" -> " {choice}"
  if (!r.has("question"))  // MosaicML: query = "Question: <stem>"
    return multiple_choice(r.str("query") + "\nAnswer:", r.strings("choices"), r.integer("gold"), r);
  const json& q = r.j["question"];
  const LabelledChoices c = labelled_choices(q.is_object() && q.contains("choices") ? q["choices"] : r.field("choices"), r);
  return multiple_choice(question_answer(question_stem(r)), c.texts, c.gold, r);
}

TaskDoc openbookqa_doc(const Record& r) {  // "{question_stem}" -> " {choice}"
  if (!r.has("question") && !r.has("question_stem"))
    return multiple_choice(r.str("query"), r.strings("choices"), r.integer("gold"), r);
  const std::string stem = r.has("question_stem") ? r.str("question_stem") : question_stem(r);
  const json& q = r.has("question") ? r.j["question"] : r.j;
  const LabelledChoices c = labelled_choices(q.is_object() && q.contains("choices") ? q["choices"] : r.field("choices"), r);
  return multiple_choice(stem, c.texts, c.gold, r);
}

TaskDoc boolq_doc(const Record& r) {  // "{passage}\nQuestion: {question}?\nAnswer:" -> " no" | " yes"
  static const std::vector<std::string> kNoYes = {"no", "yes"};
  if (r.has("query")) {  // MosaicML: "Passage: <passage>\nQuestion: <question>?"
    const std::string query = r.str("query");
    if (!query.starts_with("Passage: ")) r.fail("field \"query\" does not start with \"Passage: \"");
    return multiple_choice(query.substr(9) + "\nAnswer:", r.strings("choices"), r.integer("gold"), r);
  }
  int64_t label = 0;
  if (r.has("answer")) {  // the Google release: "answer": true|false
    if (!r.j["answer"].is_boolean()) r.fail("field \"answer\" is not true/false");
    label = r.j["answer"].get<bool>() ? 1 : 0;
  } else {
    label = r.integer("label");  // HF super_glue
  }
  const std::string context = fmt::format("{}\nQuestion: {}?\nAnswer:", r.str("passage"), r.str("question"));
  return multiple_choice(context, kNoYes, label, r);
}

TaskDoc piqa_doc(const Record& r, int64_t label) {  // "Question: {goal}\nAnswer:" -> " {sol}"
  if (r.has("query")) {
    const std::string q = r.str("query");
    const std::string context = q.starts_with("Question: ") ? q + "\nAnswer:" : question_answer(q);
    return multiple_choice(context, r.strings("choices"), r.integer("gold"), r);
  }
  return multiple_choice(question_answer(r.str("goal")), {r.str("sol1"), r.str("sol2")}, label, r);
}

TaskDoc sciq_doc(const Record& r) {  // "{support.lstrip()}\nQuestion: {question}\nAnswer:", gold 3
  const std::string context = fmt::format("{}\nQuestion: {}\nAnswer:", lstrip(r.str("support")), r.str("question"));
  return multiple_choice(context, {r.str("distractor1"), r.str("distractor2"), r.str("distractor3"),
                                   r.str("correct_answer")}, 3, r);
}

TaskDoc hellaswag_from_parts(const std::string& query, const std::vector<std::string>& endings,
                             int64_t gold, const Record& r) {
  std::vector<std::string> choices;
  for (const std::string& e : endings) choices.push_back(hellaswag_preprocess(e));
  return multiple_choice(hellaswag_preprocess(query), choices, gold, r);
}

TaskDoc hellaswag_doc(const Record& r) {  // rowanz/hellaswag jsonl or HF
  if (r.has("query")) return hellaswag_from_parts(r.str("query"), r.strings("choices"), r.integer("gold"), r);
  const std::string query =
      r.str("activity_label") + ": " + r.str("ctx_a") + " " + python_capitalize(r.str("ctx_b"));
  return hellaswag_from_parts(query, r.strings("endings"), r.integer("label"), r);
}

// llama.cpp's text has `activity_label + ": " + ctx` with ctx = ctx_a + " " + ctx_b; lm-eval
// capitalizes ctx_b. ctx_b (ActivityNet) is the lower-case fragment after the last ". ", so that
// fragment is capitalized when it starts with a lower-case letter — an approximation for the few
// WikiHow items whose ctx_b cannot be told apart (docs/evaluation.md).
std::string hellaswag_text_query(std::string_view line) {
  size_t start = line.rfind(". ");
  start = start == std::string_view::npos ? line.find(": ") : start;
  if (start == std::string_view::npos) return std::string(line);
  start += 2;
  const std::string_view tail = line.substr(start);
  if (tail.empty() || tail.front() < 'a' || tail.front() > 'z' || tail.find('[') != std::string_view::npos)
    return std::string(line);
  return std::string(line.substr(0, start)) + python_capitalize(tail);
}

std::vector<TaskDoc> read_hellaswag_text(const std::string& path, const std::vector<std::string>& lines) {
  if (lines.size() % 6 != 0)
    throw FormatError(path, fmt::format("line {}: the file has {} lines, not 6 per task (context, label, "
                                        "4 endings)", lines.size(), lines.size()));
  std::vector<TaskDoc> docs;
  const json none;
  for (size_t i = 0; i < lines.size(); i += 6) {
    const Record r{none, path, int64_t(i + 2)};
    int64_t label = -1;
    const std::string& l = lines[i + 1];
    const auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), label);
    if (ec != std::errc() || end != l.data() + l.size()) r.fail(fmt::format("label \"{}\" is not an integer", l));
    docs.push_back(hellaswag_from_parts(hellaswag_text_query(lines[i]),
                                        {lines[i + 2], lines[i + 3], lines[i + 4], lines[i + 5]}, label, r));
  }
  return docs;
}

TaskDoc winogrande_doc(const Record& r) {
  TaskDoc doc;
  std::vector<std::string> contexts;
  std::string rest;
  int64_t gold = 0;
  if (r.has("context_options")) {  // MosaicML: the partial-scoring layout already
    contexts = r.strings("context_options");
    rest = r.str("continuation");
    gold = r.integer("gold");
  } else {  // original / HF: sentence with "_", option1, option2, answer "1" | "2"
    const std::string sentence = r.str("sentence");
    const size_t blank = sentence.find('_');
    if (blank == std::string::npos) r.fail("field \"sentence\" has no blank \"_\"");
    for (const char* option : {"option1", "option2"}) contexts.push_back(sentence.substr(0, blank).append(r.str(option)));
    rest = sentence.substr(blank + 1);
    gold = r.integer("answer") - 1;
  }
  const std::string continuation = fmt::format(" {}", strip(rest));
  for (std::string& c : contexts) doc.choices.push_back({std::move(c), continuation, 0});
  doc.gold = r.gold(gold, doc.choices.size());
  return doc;
}

TaskDoc lambada_doc(const Record& r) {
  std::string context, word;
  if (r.has("context")) {  // MosaicML: context without its trailing space, continuation = last word
    context = r.str("context");
    word = r.str("continuation");
  } else {  // OpenAI / HF: {"text"}; lm-eval splits on the last ' '
    const std::string text = r.str("text");
    const size_t space = text.rfind(' ');
    if (space == std::string::npos) r.fail("field \"text\" has no space before a last word");
    context = text.substr(0, space);
    word = text.substr(space + 1);
  }
  TaskDoc doc;
  doc.choices.push_back({context, " " + word, utf8_code_points(word)});
  return doc;
}

// PIQA's release keeps labels in "<stem>-labels.lst" next to "<stem>.jsonl".
std::vector<int64_t> piqa_labels(const std::string& path) {
  std::filesystem::path p(path);
  const std::string labels_path = (p.parent_path() / (p.stem().string() + "-labels.lst")).string();
  if (!std::filesystem::exists(labels_path)) return {};
  std::vector<int64_t> labels;
  int64_t n = 0;
  for (const std::string& line : read_lines(labels_path)) {
    ++n;
    if (strip(line).empty()) continue;
    int64_t v = 0;
    const std::string_view s = strip(line);
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size())
      throw FormatError(labels_path, fmt::format("line {}: label \"{}\" is not an integer", n, line));
    labels.push_back(v);
  }
  return labels;
}

std::vector<TaskDoc> read_jsonl(std::string_view name, const std::string& path,
                                const std::vector<std::string>& lines) {
  const std::vector<int64_t> labels = name == "piqa" ? piqa_labels(path) : std::vector<int64_t>{};
  std::vector<TaskDoc> docs;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (strip(lines[i]).empty()) continue;
    const int64_t line_no = int64_t(i + 1);
    json j;
    try {
      j = json::parse(lines[i]);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
      throw FormatError(path, fmt::format("line {}: bad JSON: {}", line_no, e.what()));
    }
    const Record r{j, path, line_no};
    if (!j.is_object()) r.fail("the line is not a JSON object");
    if (name == "arc_easy" || name == "arc_challenge") docs.push_back(arc_doc(r));
    else if (name == "openbookqa") docs.push_back(openbookqa_doc(r));
    else if (name == "boolq") docs.push_back(boolq_doc(r));
    else if (name == "hellaswag") docs.push_back(hellaswag_doc(r));
    else if (name == "winogrande") docs.push_back(winogrande_doc(r));
    else if (name == "lambada") docs.push_back(lambada_doc(r));
    else if (name == "sciq") docs.push_back(sciq_doc(r));
    else if (name == "piqa") {
      int64_t label = -1;
      if (r.has("label")) label = r.integer("label");
      else if (!r.has("query")) {
        if (docs.size() >= labels.size())
          r.fail(labels.empty() ? "no \"label\" field and no -labels.lst file beside the jsonl"
                                : fmt::format("the labels file has only {} labels", labels.size()));
        label = labels[docs.size()];
      }
      docs.push_back(piqa_doc(r, label));
    }
  }
  if (name == "piqa" && !labels.empty() && labels.size() != docs.size())
    throw FormatError(path, fmt::format("{} records but {} labels in the -labels.lst file", docs.size(), labels.size()));
  return docs;
}

}  // namespace

std::span<const std::string_view> known_tasks() { return kTasks; }

TaskMetrics task_metrics(std::string_view name) {
  if (name == "boolq" || name == "winogrande") return TaskMetrics::kAcc;
  if (name == "lambada") return TaskMetrics::kLastWord;
  if (std::find(kTasks.begin(), kTasks.end(), name) == kTasks.end())
    throw UserError(fmt::format("unknown task '{}' (known: {})", name, fmt::join(kTasks, ", ")));
  return TaskMetrics::kAccAndNorm;
}

std::string default_task_path(std::string_view name, const std::string& data_dir) {
  const std::filesystem::path d(data_dir);
  if (name == "arc_easy") return (d / "arc/arc_easy_test.llmfoundry.jsonl").string();
  if (name == "arc_challenge") return (d / "arc/arc_challenge_test.llmfoundry.jsonl").string();
  if (name == "hellaswag") return (d / "hellaswag/hellaswag_val_full.txt").string();
  if (name == "piqa") return (d / "piqa/valid.jsonl").string();
  if (name == "winogrande") return (d / "winogrande/winogrande_xl_dev.llmfoundry.jsonl").string();
  if (name == "boolq") return (d / "boolq/boolq_dev.llmfoundry.jsonl").string();
  if (name == "openbookqa") return (d / "openbookqa/openbookqa_main_test.llmfoundry.jsonl").string();
  if (name == "lambada") return (d / "lambada/lambada_openai_test.llmfoundry.jsonl").string();
  task_metrics(name);  // throws for an unknown name
  return {};
}

Task load_task(std::string_view name, const std::string& path) {
  Task task{std::string(name), path, task_metrics(name), {}};
  const std::vector<std::string> lines = read_lines(path);
  const auto first = std::find_if(lines.begin(), lines.end(), [](const std::string& l) { return !strip(l).empty(); });
  if (first == lines.end()) throw FormatError(path, "the task file is empty");
  const bool jsonl = strip(*first).front() == '{';
  if (!jsonl && name != "hellaswag")
    throw FormatError(path, fmt::format("line {}: expected a JSON object per line", first - lines.begin() + 1));
  task.docs = jsonl ? read_jsonl(name, path, lines) : read_hellaswag_text(path, lines);
  return task;
}

std::string hellaswag_preprocess(std::string_view text) {
  std::string s(strip(text));
  replace_all(s, " [title]", ". ");
  static const std::regex kBracketed("\\[.*?\\]");
  s = std::regex_replace(s, kBracketed, "");
  replace_all(s, "  ", " ");  // Python replace: one left-to-right pass, "   " -> "  "
  return s;
}

std::string python_capitalize(std::string_view text) {
  std::string s(text);
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 0 && c >= 'a' && c <= 'z') s[i] = char(c - 'a' + 'A');
    if (i > 0 && c >= 'A' && c <= 'Z') s[i] = char(c - 'A' + 'a');
  }
  return s;
}

int64_t utf8_code_points(std::string_view text) {
  return std::count_if(text.begin(), text.end(), [](char c) { return (uint8_t(c) & 0xC0) != 0x80; });
}

std::vector<Task> load_tasks(const std::string& names, const std::string& data_dir,
                             const std::map<std::string, std::string>& files) {
  std::vector<Task> tasks;
  std::stringstream list(names);
  for (std::string name; std::getline(list, name, ',');) {
    if (name.empty()) continue;
    const auto it = files.find(name);
    const std::string path = it != files.end() ? it->second : default_task_path(name, data_dir);
    BITLM_CHECK(!path.empty(), "task '{}' has no default file under {}; give --task-file {}=PATH", name, data_dir,
                name);
    tasks.push_back(load_task(name, path));
  }
  return tasks;
}

}  // namespace bitlm
