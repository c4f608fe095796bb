// tests/cli/cli_test.cpp — the built `bitlm` on bad input: exit code 2 and exactly one stderr
// line naming the file and the problem. Bad files are a synth tiny model with patched bytes or
// rewritten with GgufWriter.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli_runner.h"
#include "io/gguf.h"
#include "model/synth.h"

namespace bitlm {
namespace {

using test::CliRun;
using test::read_all;
const auto tmp = test::tmp_path;
const auto run = test::run_bitlm;
void write_all(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

class BadInput : public testing::Test {
 protected:
  static void SetUpTestSuite() { write_synth_model({.shape = "micro", .seed = 3}, good()); }
  static std::string good() { return tmp("good.gguf"); }

  static void expect_one_line_error(const std::string& args, const std::string& file, const std::string& what) {
    const CliRun r = run(args);
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << "want '" << what << "' in: " << r.err;
  }
  // Rewrites the good model with one change applied to its metadata or tensors.
  static std::string rewrite(const std::string& name, const std::function<void(GgufWriter&, const GgufFile&)>& edit) {
    const auto f = GgufFile::open(good());
    GgufWriter w;
    edit(w, *f);
    const std::string path = tmp(name);
    w.write(path);
    return path;
  }
  static void copy_meta(GgufWriter& w, const GgufFile& f, const std::string& skip = "") {
    for (const auto& [k, v] : f.metadata())
      if (k != skip && k != "general.alignment") w.set(k, v);
  }
  static void copy_tensors(GgufWriter& w, const GgufFile& f, const std::string& skip = "") {
    for (const auto& t : f.tensors()) {
      if (t.name == skip) continue;
      const auto d = f.tensor_data(t);
      w.add_tensor(t.name, t.ne, t.type, {d.begin(), d.end()});
    }
  }
};

TEST_F(BadInput, NonexistentFile) { expect_one_line_error("info -m " + tmp("nope.gguf"), tmp("nope.gguf"), ""); }

TEST_F(BadInput, TruncatedFile) {
  const std::string p = tmp("trunc.gguf");
  write_all(p, read_all(good()).substr(0, 100));
  expect_one_line_error("info -m " + p, p, "");
}

TEST_F(BadInput, WrongMagic) {
  const std::string p = tmp("magic.gguf");
  std::string s = read_all(good());
  s[0] = 'X';
  write_all(p, s);
  expect_one_line_error("info -m " + p, p, "");
}

TEST_F(BadInput, TensorDataPastTheEnd) {
  const std::string p = tmp("short.gguf");
  const std::string s = read_all(good());
  write_all(p, s.substr(0, s.size() - 4096));
  expect_one_line_error("info -m " + p, p, "");
}

TEST_F(BadInput, UnknownArch) {
  const auto p = rewrite("arch.gguf", [](GgufWriter& w, const GgufFile& f) {
    copy_meta(w, f, "general.architecture");
    w.set("general.architecture", GgufValue::string("gpt-j"));
    copy_tensors(w, f);
  });
  expect_one_line_error("info -m " + p, p, "unknown architecture 'gpt-j'");
}

TEST_F(BadInput, AbsurdDimension) {
  const auto p = rewrite("dim.gguf", [](GgufWriter& w, const GgufFile& f) {
    copy_meta(w, f, "bitnet-b1.58.embedding_length");
    w.set("bitnet-b1.58.embedding_length", GgufValue::u64(uint64_t(1) << 40));
    copy_tensors(w, f);
  });
  expect_one_line_error("info -m " + p, p, "bitnet-b1.58.embedding_length");
}

TEST_F(BadInput, UnknownTensorType) {
  const std::string p = tmp("type.gguf");
  std::string s = read_all(good());
  // The type field follows the tensor name and its dims: patch blk.0.attn_q.weight's T2 (1024) to 99.
  const std::string name = "blk.0.attn_q.weight";
  const size_t at = s.find(name) + name.size() + 4 + 2 * 8;
  ASSERT_EQ(uint8_t(s[at]), 0x00);
  ASSERT_EQ(uint8_t(s[at + 1]), 0x04);
  s[at] = 99, s[at + 1] = 0;
  write_all(p, s);
  expect_one_line_error("info -m " + p, p, "");
}

TEST_F(BadInput, MissingTokenizer) {
  const auto p = rewrite("notok.gguf", [](GgufWriter& w, const GgufFile& f) {
    for (const auto& [k, v] : f.metadata())
      if (k.rfind("tokenizer.", 0) != 0 && k != "general.alignment") w.set(k, v);
    copy_tensors(w, f);
  });
  expect_one_line_error("generate -n 2 -p hi -m " + p, p, "");
}

TEST_F(BadInput, PromptLongerThanTheContext) {
  const CliRun r = run("generate -n 2 -c 16 -p 'this prompt is much longer than sixteen bytes' -m " + good());
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("but the context is 16"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// A bad BITLM_ISA is one line and exit 2 with any thread count, never an abort from whichever
// pool worker first picks a kernel table (it did so in ~1 run of 3 at -t 2).
TEST_F(BadInput, UnknownIsaInTheEnvironment) {
  setenv("BITLM_ISA", "avx9", 1);
  for (int i = 0; i < 6; ++i) expect_one_line_error("generate -t 2 -n 2 -p hi -m " + good(), "BITLM_ISA=avx9", "runs only");
  unsetenv("BITLM_ISA");
}

// The config's own fault is reported even when its data is missing too (the data is opened after).
TEST_F(BadInput, TrainConfigNumbersBeforeMissingData) {
  const std::string cfg = tmp("bad_steps.json");
  write_all(cfg, R"({"steps": -3, "train_data": ")" + tmp("no_such_shards") + R"("})");
  expect_one_line_error("train -c " + cfg, "", "steps");
}

// `generate` on a micro model with the given extra arguments.
CliRun generate_micro(const std::string& args) {
  const std::string p = tmp("gen.gguf");
  write_synth_model({.shape = "micro", .seed = 5}, p);
  return run("generate --temp 0 -p 'hello' -m " + p + " " + args);
}

// More threads than CPUs is capped, with a note: the spinning pool would only take turns.
TEST(Cli, ThreadsAboveTheCpuCountAreCapped) {
  const CliRun r = generate_micro("-n 2 -t 512");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("-t 512 is more than the"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("threads 512"), std::string::npos) << r.err;
}

TEST(Cli, GenerateStreamsTextAndTimings) {
  const CliRun r = generate_micro("-n 8 -t 2");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("generation:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace bitlm
