// tests/eval/tasks_test.cpp — task readers: every file in shared/data, the original layouts, and
// malformed files (an error naming the file and the line, never a crash or a wrong score).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "eval/tasks.h"

namespace bitlm {
namespace {

const std::string kData = std::string(BITLM_SHARED_DIR) + "/data";

std::string write_temp(const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / "bitlm_eval_tasks_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string error_of(std::string_view task, const std::string& path) {
  try {
    load_task(task, path);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "no error";
}

struct SharedFile { std::string_view task; size_t n_docs; size_t n_choices; };

TEST(Tasks, EverySharedFileLoadsWithItsStandardSize) {
  for (const SharedFile& f : {SharedFile{"arc_easy", 2376, 0}, {"arc_challenge", 1172, 0}, {"hellaswag", 10042, 4},
                              {"piqa", 1838, 2}, {"winogrande", 1267, 2}, {"boolq", 3270, 2},
                              {"openbookqa", 500, 4}, {"lambada", 5153, 1}}) {
    const Task t = load_task(f.task, default_task_path(f.task, kData));
    ASSERT_FALSE(t.docs.empty()) << f.task;
    EXPECT_EQ(t.docs.size(), f.n_docs) << f.task;
    for (const TaskDoc& d : t.docs) {
      ASSERT_GE(d.gold, 0) << f.task;
      ASSERT_LT(size_t(d.gold), d.choices.size()) << f.task;
      if (f.n_choices > 0) {
        ASSERT_EQ(d.choices.size(), f.n_choices) << f.task;
      }
    }
  }
}

TEST(Tasks, SharedFilesGiveTheLmEvalPrompts) {
  const Task arc = load_task("arc_easy", default_task_path("arc_easy", kData));
  EXPECT_EQ(arc.docs[0].choices[0].context,
            "Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:");
  EXPECT_EQ(arc.docs[0].choices[0].continuation, " Sunlight is the source of energy for nearly all ecosystems.");
  EXPECT_EQ(arc.docs[0].choices[0].n_chars, 59);
  EXPECT_EQ(arc.docs[0].gold, 0);

  const Task hs = load_task("hellaswag", default_task_path("hellaswag", kData));
  EXPECT_EQ(hs.docs[0].choices[3].context, "Roof shingle removal: A man is sitting on a roof. He");
  EXPECT_EQ(hs.docs[0].choices[3].continuation, " starts pulling up roofing on a roof.");
  EXPECT_EQ(hs.docs[0].gold, 3);

  const Task boolq = load_task("boolq", default_task_path("boolq", kData));
  const std::string& ctx = boolq.docs[0].choices[0].context;
  EXPECT_TRUE(ctx.starts_with("All biomass goes through")) << ctx.substr(0, 40);
  EXPECT_TRUE(ctx.ends_with("?\nAnswer:"));
  EXPECT_EQ(boolq.docs[0].choices[0].continuation, " no");
  EXPECT_EQ(boolq.docs[0].choices[1].continuation, " yes");

  const Task piqa = load_task("piqa", default_task_path("piqa", kData));
  EXPECT_EQ(piqa.docs[0].choices[0].context, "Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:");
  EXPECT_EQ(piqa.docs[0].gold, 0);
  EXPECT_EQ(piqa.docs[1].gold, 1);

  const Task wg = load_task("winogrande", default_task_path("winogrande", kData));
  EXPECT_EQ(wg.docs[0].choices[1].context, "Sarah was a much better surgeon than Maria so Maria");
  EXPECT_EQ(wg.docs[0].choices[0].continuation, " always got the easier cases.");
  EXPECT_EQ(wg.docs[0].gold, 1);

  const Task lambada = load_task("lambada", default_task_path("lambada", kData));
  EXPECT_TRUE(lambada.docs[0].choices[0].context.ends_with("I don't care about"));
  EXPECT_EQ(lambada.docs[0].choices[0].continuation, " signs");

  const Task obqa = load_task("openbookqa", default_task_path("openbookqa", kData));
  EXPECT_EQ(obqa.docs[1].choices[0].context, "There is most likely going to be fog around:");
  EXPECT_EQ(obqa.docs[1].choices[0].continuation, " a marsh");
}

TEST(Tasks, OriginalLayoutsGiveTheSamePrompts) {
  const Task arc = load_task("arc_challenge", write_temp("arc.jsonl",
      R"({"question": {"stem": "Why?", "choices": [{"text": "x", "label": "A"}, {"text": "yy", "label": "B"}]}, "answerKey": "B"})" "\n"
      R"({"question": "How?", "choices": {"text": ["p", "q", "r"], "label": ["1", "2", "3"]}, "answerKey": "1"})" "\n"));
  ASSERT_EQ(arc.docs.size(), 2u);
  EXPECT_EQ(arc.docs[0].choices[1].context, "Question: Why?\nAnswer:");
  EXPECT_EQ(arc.docs[0].choices[1].continuation, " yy");
  EXPECT_EQ(arc.docs[0].gold, 1);
  EXPECT_EQ(arc.docs[1].gold, 0);

  const Task boolq = load_task("boolq", write_temp("boolq.jsonl",
      R"({"question": "is it true", "passage": "P.", "answer": true, "title": "t"})" "\n"
      R"({"question": "is it", "passage": "Q.", "label": 0})" "\n"));
  EXPECT_EQ(boolq.docs[0].choices[0].context, "P.\nQuestion: is it true?\nAnswer:");
  EXPECT_EQ(boolq.docs[0].gold, 1);
  EXPECT_EQ(boolq.docs[1].gold, 0);

  const Task wg = load_task("winogrande", write_temp("wg.jsonl",
      R"({"sentence": "Tom beat Sam because _ was  faster. ", "option1": "Tom", "option2": "Sam", "answer": "1"})" "\n"));
  EXPECT_EQ(wg.docs[0].choices[0].context, "Tom beat Sam because Tom");
  EXPECT_EQ(wg.docs[0].choices[1].context, "Tom beat Sam because Sam");
  EXPECT_EQ(wg.docs[0].choices[1].continuation, " was  faster.");
  EXPECT_EQ(wg.docs[0].gold, 0);

  const Task lambada = load_task("lambada", write_temp("lambada.jsonl", R"({"text": "a b  c word"})" "\n"));
  EXPECT_EQ(lambada.docs[0].choices[0].context, "a b  c");
  EXPECT_EQ(lambada.docs[0].choices[0].continuation, " word");

  const Task hs = load_task("hellaswag", write_temp("hs.jsonl",
      R"({"activity_label": "Jump", "ctx_a": "A boy runs.", "ctx_b": "the boy", "endings": ["jumps [title] high.", "b", "c", "d"], "label": "2"})" "\n"));
  EXPECT_EQ(hs.docs[0].choices[0].context, "Jump: A boy runs. The boy");
  EXPECT_EQ(hs.docs[0].choices[0].continuation, " jumps. high.");
  EXPECT_EQ(hs.docs[0].gold, 2);

  const Task piqa = load_task("piqa", write_temp("piqa_hf.jsonl", R"({"goal": "g", "sol1": "a", "sol2": "b", "label": 1})" "\n"));
  EXPECT_EQ(piqa.docs[0].gold, 1);

  const Task sciq = load_task("sciq", write_temp("sciq.jsonl",
      R"({"question": "Q?", "distractor1": "a", "distractor2": "b", "distractor3": "c", "correct_answer": "d", "support": "  S."})" "\n"));
  EXPECT_EQ(sciq.docs[0].choices[3].context, "S.\nQuestion: Q?\nAnswer:");
  EXPECT_EQ(sciq.docs[0].choices[3].continuation, " d");
  EXPECT_EQ(sciq.docs[0].gold, 3);
}

TEST(Tasks, MalformedFilesNameTheFileAndLine) {
  const std::string good = R"({"query": "Question: q", "choices": ["a", "b"], "gold": 1})";
  struct Case { std::string name, text, expect; };
  for (const Case& c : {
           Case{"bad_json.jsonl", good + "\n{\"query\": \"Question: q\", \"choices\": [\"a\"\n", "line 2: bad JSON"},
           Case{"missing.jsonl", good + "\n" + good + "\n{\"choices\": [\"a\"], \"gold\": 0}\n", "line 3: missing field \"query\""},
           Case{"range.jsonl", R"({"query": "Question: q", "choices": ["a", "b"], "gold": 2})" "\n", "line 1: label 2 out of range [0, 2)"},
           Case{"negative.jsonl", R"({"query": "Question: q", "choices": ["a", "b"], "gold": -1})" "\n", "line 1: label -1 out of range"},
           Case{"type.jsonl", R"({"query": "Question: q", "choices": "a", "gold": 0})" "\n", "line 1: field \"choices\" is not a non-empty list"},
           Case{"gold_type.jsonl", R"({"query": "Question: q", "choices": ["a"], "gold": 0.5})" "\n", "line 1: field \"gold\" is not an integer"},
           Case{"not_object.jsonl", good + "\n[1, 2]\n", "line 2: the line is not a JSON object"},
           // a number past double's range: nlohmann throws out_of_range there, not parse_error
           Case{"overflow.jsonl", R"({"query": "Question: q", "choices": ["a", "b"], "gold": 1e999})" "\n", "line 1: bad JSON"},
           Case{"answer_key.jsonl", R"({"question": "q", "choices": {"text": ["a"], "label": ["A"]}, "answerKey": "E"})" "\n", "line 1: answerKey \"E\""},
       }) {
    const std::string path = write_temp(c.name, c.text);
    const std::string err = error_of("arc_easy", path);
    EXPECT_NE(err.find(path), std::string::npos) << err;
    EXPECT_NE(err.find(c.expect), std::string::npos) << err;
  }
}

TEST(Tasks, MalformedHellaSwagTextPiqaLabelsAndOthers) {
  const std::string hs = write_temp("hs.txt", "A: b. c\n1\ne1\ne2\ne3\ne4\nA: x\nnot-a-number\ne1\ne2\ne3\ne4\n");
  EXPECT_NE(error_of("hellaswag", hs).find(hs + ": line 8: label \"not-a-number\""), std::string::npos) << error_of("hellaswag", hs);
  const std::string hs_range = write_temp("hs_range.txt", "A: b\n4\ne1\ne2\ne3\ne4\n");
  EXPECT_NE(error_of("hellaswag", hs_range).find("line 2: label 4 out of range [0, 4)"), std::string::npos);
  const std::string hs_short = write_temp("hs_short.txt", "A: b\n1\ne1\n");
  EXPECT_NE(error_of("hellaswag", hs_short).find("not 6 per task"), std::string::npos);

  const std::string piqa = write_temp("piqa_nolabels.jsonl", R"({"goal": "g", "sol1": "a", "sol2": "b"})" "\n");
  EXPECT_NE(error_of("piqa", piqa).find("line 1: no \"label\" field and no -labels.lst"), std::string::npos);
  const std::string piqa2 = write_temp("piqa2.jsonl", R"({"goal": "g", "sol1": "a", "sol2": "b"})" "\n");
  write_temp("piqa2-labels.lst", "2\n");
  EXPECT_NE(error_of("piqa", piqa2).find("line 1: label 2 out of range [0, 2)"), std::string::npos);

  const std::string wg = write_temp("wg_bad.jsonl", R"({"sentence": "no blank", "option1": "a", "option2": "b", "answer": "1"})" "\n");
  EXPECT_NE(error_of("winogrande", wg).find("line 1: field \"sentence\" has no blank"), std::string::npos);
  const std::string wg3 = write_temp("wg_answer.jsonl", R"({"sentence": "a _ b", "option1": "a", "option2": "b", "answer": "3"})" "\n");
  EXPECT_NE(error_of("winogrande", wg3).find("line 1: label 2 out of range [0, 2)"), std::string::npos);
  const std::string boolq = write_temp("boolq_bad.jsonl", R"({"question": "q", "passage": "p", "answer": "yes"})" "\n");
  EXPECT_NE(error_of("boolq", boolq).find("line 1: field \"answer\" is not true/false"), std::string::npos);

  EXPECT_NE(error_of("lambada", write_temp("empty.jsonl", "\n\n")).find("empty"), std::string::npos);
  EXPECT_THROW(load_task("arc_easy", "/nonexistent/file.jsonl"), IoError);
  EXPECT_THROW(load_task("no_such_task", hs), UserError);
}

TEST(Tasks, PromptHelpersFollowPython) {
  EXPECT_EQ(hellaswag_preprocess("  [header] How to x [title] Do y.  [step] Now   z. "), " How to x. Do y.  Now  z.");  // Python: one pass, no re-strip
  EXPECT_EQ(python_capitalize("the Lady"), "The lady");
  EXPECT_EQ(utf8_code_points("caf\xc3\xa9"), 4);  // "café": 4 characters, 5 bytes
}

}  // namespace
}  // namespace bitlm
