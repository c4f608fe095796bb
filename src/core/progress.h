// core/progress.h — progress on stderr: on a terminal a one-line bar redrawn at most 10 times a
// second; otherwise (a log file, a pipe) a plain line at most every `log_interval_s` seconds
// (the first at the first update) and a summary line at the end, so a log shows progress too.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace bitlm {

struct ProgressOptions {
  int64_t first = 0;           // units done before this run (a resume): rate and ETA count from here
  double log_interval_s = 10;  // not a terminal: one plain line at most this often (0: every update)
  std::FILE* out = nullptr;    // nullptr: stderr
  int tty = -1;                // -1: ask isatty(out); 0 or 1 forces plain lines or the bar (tests)
};

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, ProgressOptions options = {});
  ~ProgressBar();
  void update(int64_t done, const std::string& suffix = {});
  void finish(const std::string& suffix = {});

 private:
  void draw(const std::string& suffix);
  void log_line(const std::string& suffix);
  double eta_s() const;
  std::string label_;
  int64_t total_, first_, done_;
  double interval_s_, start_s_, last_draw_s_ = 0, last_log_s_ = -1;
  std::FILE* out_;
  bool tty_, finished_ = false;
};

}  // namespace bitlm
