// core/progress.h — a one-line progress bar on stderr, redrawn at most 10 times a second and
// silent when stderr is not a terminal (then a final summary line only).
#pragma once
#include <cstdint>
#include <string>

namespace bitlm {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total);
  ~ProgressBar();
  void update(int64_t done, const std::string& suffix = {});
  void finish(const std::string& suffix = {});

 private:
  void draw(const std::string& suffix);
  std::string label_;
  int64_t total_, done_ = 0;
  double start_s_, last_draw_s_ = 0;
  bool tty_, finished_ = false;
};

}  // namespace bitlm
