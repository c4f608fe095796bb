#include "core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "core/sys.h"

namespace bitlm {

ProgressBar::ProgressBar(std::string label, int64_t total, ProgressOptions options)
    : label_(std::move(label)), total_(std::max<int64_t>(total, 1)), first_(options.first), done_(options.first),
      interval_s_(options.log_interval_s), start_s_(now_seconds()), out_(options.out ? options.out : stderr),
      tty_(options.tty >= 0 ? options.tty == 1 : isatty(fileno(out_)) == 1) {}

ProgressBar::~ProgressBar() {
  if (!finished_) finish();
}

// From the rate of this run only: a resumed run's earlier units took no time here (counting them
// made the ETA after a resume 2-3x too low).
double ProgressBar::eta_s() const {
  const int64_t done_here = done_ - first_;
  return done_here > 0 ? (now_seconds() - start_s_) * double(total_ - done_) / double(done_here) : 0;
}

void ProgressBar::update(int64_t done, const std::string& suffix) {
  done_ = done;
  const double t = now_seconds();
  if (!tty_) {
    if (last_log_s_ < 0 || t - last_log_s_ >= interval_s_) {
      last_log_s_ = t;
      log_line(suffix);
    }
    return;
  }
  if (t - last_draw_s_ < 0.1) return;
  last_draw_s_ = t;
  draw(suffix);
}

void ProgressBar::draw(const std::string& suffix) {
  constexpr int kWidth = 30;
  const double frac = std::clamp(double(done_) / double(total_), 0.0, 1.0);
  const int filled = int(frac * kWidth);
  std::string bar(size_t(filled), '#');
  bar.resize(kWidth, '.');
  fmt::print(out_, "\r{} [{}] {}/{} {:3.0f}% {:.0f}s ETA {:.0f}s {}\x1b[K", label_, bar, done_, total_, frac * 100,
             now_seconds() - start_s_, eta_s(), suffix);
  std::fflush(out_);
}

void ProgressBar::log_line(const std::string& suffix) {
  fmt::print(out_, "{}: {}/{} ({:.0f}%) | {:.0f}s, ETA {:.0f}s{}{}\n", label_, done_, total_,
             100.0 * double(done_) / double(total_), now_seconds() - start_s_, eta_s(), suffix.empty() ? "" : " | ",
             suffix);
  std::fflush(out_);
}

void ProgressBar::finish(const std::string& suffix) {
  if (finished_) return;
  finished_ = true;
  if (tty_) {
    draw(suffix);
    fmt::print(out_, "\n");
  } else {
    fmt::print(out_, "{}: {}/{} done in {:.1f}s {}\n", label_, done_, total_, now_seconds() - start_s_, suffix);
  }
  std::fflush(out_);
}

}  // namespace bitlm
