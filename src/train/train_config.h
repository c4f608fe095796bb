// train/train_config.h — everything `bitlm train --config FILE.json` reads. Every field has a
// default; unknown keys are refused (a typo must not silently train with a default). Layout:
//   { "model": { "arch": "bitnet" (bitnet | bitnet-b1.58 | llama: names, RoPE pairing, sub-norms),
//                "n_vocab": 0 (= from the data), "n_embd": 256, "n_ff": 688, "n_layer": 4,
//                "n_head": 8, "n_head_kv": 8, "seq_len": 256, "weight_mode": "b1.58",
//                "activation": "silu", "tied_embedding": true, "rms_eps": 1e-5, "rope_theta": 1e4,
//                "quant_groups": 1 (003 App. A.1 group quantization; train/train_model.h),
//                "act_quant": "absmax" | "elastic" (003 Table 9's learned activation scales) },
//     "schedule": { "kind": "two_stage", "lr": 1.5e-3, "lr_stage2": 1e-3, "min_lr": 0,
//                   "weight_decay": 0.1, "warmup_steps": 100 },
//     "adam": { "beta1": 0.9, "beta2": 0.95, "eps": 1e-8 },
//     "train_data": "data/tinystories_train", "valid_data": "", "tokenizer": "",
//     "out_dir": "runs/train", "steps": 1000, "batch_size": 8, "grad_accum": 1, "grad_clip": 0,
//     "seed": 1234, "init_std": 0.02, "threads": 0, "checkpoint_every": 100, "eval_every": 0,
//     "eval_batches": 16, "matmul_precision": "fp32" }
// matmul_precision "bf16" rounds dY to bf16 in the BitLinear backward matmuls (AVX-512 BF16;
// ops/matmul_bf16.cpp); stored in TrainModelConfig, outside the checkpoint's shape.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "io/json_file.h"  // read_json_file, for the config and the sweep files
#include "train/optimizer.h"
#include "train/schedule.h"
#include "train/train_model.h"

namespace bitlm {

struct TrainConfig {
  TrainModelConfig model;
  ScheduleConfig schedule;  // total_steps = steps
  AdamWConfig adam;
  std::string train_data = "data/tinystories_train", valid_data, tokenizer, out_dir = "runs/train";
  int64_t steps = 1000, batch_size = 8, grad_accum = 1, checkpoint_every = 100, eval_every = 0,
          eval_batches = 16;
  uint64_t seed = 1234;
  float grad_clip = 0.0f, init_std = 0.02f;
  int threads = 0;

  // `where` names the source in error messages (the config file path).
  static TrainConfig from_json(const nlohmann::json& j, const std::string& where);
  static TrainConfig from_file(const std::string& path);
  nlohmann::json to_json() const;
  nlohmann::json model_json() const;  // the part a checkpoint must match
  void validate() const;
};

}  // namespace bitlm
