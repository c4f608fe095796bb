// tests/core/progress_test.cpp — ProgressBar off a terminal (a log file): plain lines at the
// interval, and an ETA from this run's rate when it resumes part-way.
#include "core/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>

namespace bitlm {
namespace {

std::string read_back(std::FILE* f) {
  std::rewind(f);
  std::string s;
  for (int c; (c = std::fgetc(f)) != EOF;) s += char(c);
  return s;
}

TEST(Progress, PlainLinesWhenNotATerminal) {
  std::FILE* every = std::tmpfile();
  std::FILE* rarely = std::tmpfile();
  {
    ProgressBar a("train", 5, {.log_interval_s = 0, .out = every, .tty = 0});
    ProgressBar b("train", 5, {.log_interval_s = 3600, .out = rarely, .tty = 0});
    for (int i = 1; i <= 5; ++i) {
      a.update(i, "loss 1.5");
      b.update(i);
    }
  }
  const std::string all = read_back(every), first = read_back(rarely);
  EXPECT_NE(all.find("train: 1/5 (20%)"), std::string::npos) << all;
  EXPECT_NE(all.find("train: 4/5 (80%)"), std::string::npos) << all;
  EXPECT_NE(all.find("| loss 1.5"), std::string::npos) << all;
  EXPECT_EQ(all.find('\r'), std::string::npos) << "no bar redraws in a log";
  // the first update always prints, then nothing until the interval has passed; then the summary
  EXPECT_NE(first.find("train: 1/5"), std::string::npos) << first;
  EXPECT_EQ(first.find("train: 2/5"), std::string::npos) << first;
  EXPECT_NE(first.find("train: 5/5 done in"), std::string::npos) << first;
  std::fclose(every);
  std::fclose(rarely);
}

// Resumed at 900 of 1000: one unit in ~0.2 s leaves 99 units, ~20 s. Counting the 900 earlier
// units as this run's made the ETA 0 s.
TEST(Progress, EtaAfterAResumeUsesThisRunsRate) {
  std::FILE* f = std::tmpfile();
  {
    ProgressBar bar("train", 1000, {.first = 900, .log_interval_s = 0, .out = f, .tty = 0});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    bar.update(901);
  }
  const std::string s = read_back(f);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(s, m, std::regex("901/1000 .* ETA ([0-9]+)s"))) << s;
  EXPECT_GE(std::stoi(m[1]), 15) << s;
  std::fclose(f);
}

}  // namespace
}  // namespace bitlm
