// train/schedule.cpp — see schedule.h.
#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace bitlm {

ScheduleKind parse_schedule(const std::string& s) {
  if (s == "two_stage") return ScheduleKind::kTwoStage;
  if (s == "cosine") return ScheduleKind::kCosine;
  if (s == "constant") return ScheduleKind::kConstant;
  throw UserError(fmt::format("schedule '{}' is not one of two_stage, cosine, constant", s));
}

const char* schedule_name(ScheduleKind k) {
  return k == ScheduleKind::kTwoStage ? "two_stage" : k == ScheduleKind::kCosine ? "cosine" : "constant";
}

namespace {

float lerp(float a, float b, double f) { return float(double(a) + (double(b) - double(a)) * f); }

// Fraction of [begin, end) done at step (clamped to [0, 1]).
double progress(int64_t step, int64_t begin, int64_t end) {
  if (end <= begin) return 1.0;
  return std::clamp(double(step - begin) / double(end - begin), 0.0, 1.0);
}

}  // namespace

StepHyper schedule_at(const ScheduleConfig& c, int64_t step) {
  if (step < c.warmup_steps) return {c.lr * float(step + 1) / float(c.warmup_steps), c.weight_decay};
  switch (c.kind) {
    case ScheduleKind::kConstant:
      return {c.lr, c.weight_decay};
    case ScheduleKind::kCosine: {
      const double f = progress(step, c.warmup_steps, c.total_steps);
      return {lerp(c.min_lr, c.lr, 0.5 * (1.0 + std::cos(M_PI * f))), c.weight_decay};
    }
    case ScheduleKind::kTwoStage: {
      const int64_t half = c.total_steps / 2;
      if (step < half) return {lerp(c.lr, c.lr_stage2, progress(step, c.warmup_steps, half)), c.weight_decay};
      return {lerp(c.lr_stage2, c.min_lr, progress(step, half, c.total_steps)), 0.0f};
    }
  }
  return {c.lr, c.weight_decay};
}

}  // namespace bitlm
