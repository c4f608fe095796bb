#include "core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "core/sys.h"

namespace bitlm {

ProgressBar::ProgressBar(std::string label, int64_t total)
    : label_(std::move(label)), total_(std::max<int64_t>(total, 1)), start_s_(now_seconds()),
      tty_(isatty(STDERR_FILENO)) {}

ProgressBar::~ProgressBar() {
  if (!finished_) finish();
}

void ProgressBar::update(int64_t done, const std::string& suffix) {
  done_ = done;
  const double t = now_seconds();
  if (!tty_ || t - last_draw_s_ < 0.1) return;
  last_draw_s_ = t;
  draw(suffix);
}

void ProgressBar::draw(const std::string& suffix) {
  constexpr int kWidth = 30;
  const double frac = std::clamp(double(done_) / double(total_), 0.0, 1.0);
  const int filled = int(frac * kWidth);
  const double elapsed = now_seconds() - start_s_;
  const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
  std::string bar(size_t(filled), '#');
  bar.resize(kWidth, '.');
  fmt::print(stderr, "\r{} [{}] {}/{} {:3.0f}% {:.0f}s ETA {:.0f}s {}\x1b[K", label_, bar, done_,
             total_, frac * 100, elapsed, eta, suffix);
  std::fflush(stderr);
}

void ProgressBar::finish(const std::string& suffix) {
  if (finished_) return;
  finished_ = true;
  if (tty_) {
    draw(suffix);
    fmt::print(stderr, "\n");
  } else {
    fmt::print(stderr, "{}: {}/{} done in {:.1f}s {}\n", label_, done_, total_,
               now_seconds() - start_s_, suffix);
  }
}

}  // namespace bitlm
