// train/checkpoint.h — the training checkpoint schema, stored in a safetensors container
// (io/safetensors.h, written atomically: temp file, fsync, rename).
//   tensors: "param.<name>", "adam_m.<name>", "adam_v.<name>" (F32, the model's tensor table)
//   metadata: format = "bitlm-train-checkpoint", version = "1", config (the TrainConfig JSON),
//             step, adam_steps, data_shard, data_offset, data_epoch, crc32 (hex, over the params,
//             m and v arenas in table order), elapsed_s (training wall time so far, summed over
//             resumes; absent before it was added, read as 0)
// A checkpoint is loaded only if its format, checksum and model config all match; anything else
// is refused with a message naming the file and the mismatch.
#pragma once
#include <cstdint>
#include <string>

#include "train/data.h"
#include "train/optimizer.h"
#include "train/train_config.h"
#include "train/train_model.h"

namespace bitlm {

class SafetensorsFile;

struct TrainState {
  int64_t step = 0;  // optimizer steps done
  double elapsed_s = 0;  // wall time of those steps, over every run that made them
  ShardLoader::Position data;
};

void save_checkpoint(const std::string& path, const TrainConfig& cfg, TrainModel& model, AdamW& opt,
                     const TrainState& state);
// Restores model parameters, optimizer moments and step; returns the training state.
TrainState load_checkpoint(const std::string& path, const TrainConfig& cfg, TrainModel& model, AdamW& opt);
// The config a checkpoint was written with (for export and --resume without --config).
TrainConfig checkpoint_config(const std::string& path);
// The optimizer steps it holds (no checksum pass: for deciding whether a run is finished).
int64_t checkpoint_step(const std::string& path);
// Parameters only (export): checks format, checksum and model shape.
void load_checkpoint_params(const std::string& path, TrainModel& model);

// The same four readers on a file already opened with SafetensorsFile::open (each checks the
// format first): the header is parsed once for all of them (the fuzz target calls all four).
TrainState load_checkpoint(const SafetensorsFile& f, const TrainConfig& cfg, TrainModel& model, AdamW& opt);
TrainConfig checkpoint_config(const SafetensorsFile& f);
int64_t checkpoint_step(const SafetensorsFile& f);
void load_checkpoint_params(const SafetensorsFile& f, TrainModel& model);

}  // namespace bitlm
