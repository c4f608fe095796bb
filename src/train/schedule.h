// train/schedule.h — learning-rate and weight-decay schedules, pure functions of the step.
//
// two_stage (003 sec. 2.2.3, App. C, Fig. 10): linear warm-up to lr; stage 1 (first half of the
//   steps) decays linearly from lr to lr_stage2 with weight decay on; stage 2 decays linearly from
//   lr_stage2 to min_lr with weight decay 0 ("decay the learning rate and disable weight decay";
//   Table 13: 1.5e-3 -> 1e-3, wd 0.1 -> 0).
// cosine: warm-up, then cosine from lr to min_lr; constant: warm-up, then lr. Weight decay is
//   constant for both.
#pragma once
#include <cstdint>
#include <string>

namespace bitlm {

enum class ScheduleKind { kTwoStage, kCosine, kConstant };
ScheduleKind parse_schedule(const std::string& s);  // "two_stage" | "cosine" | "constant"
const char* schedule_name(ScheduleKind k);

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::kTwoStage;
  float lr = 1.5e-3f, lr_stage2 = 1e-3f, min_lr = 0.0f, weight_decay = 0.1f;
  int64_t warmup_steps = 100, total_steps = 1000;
};

struct StepHyper { float lr, weight_decay; };
StepHyper schedule_at(const ScheduleConfig& c, int64_t step);  // step in [0, total_steps)

}  // namespace bitlm
