// tests/fuzz/fuzz_models.h — the fixed training config checkpoint_fuzz loads into, shared with
// fuzz_seeds (which writes the seed checkpoints with it) so the seeds pass the shape check.
#pragma once
#include "train/train_config.h"

namespace bitlm::fuzz {

inline TrainConfig checkpoint_config_for_fuzz(bool tied = true) {
  TrainConfig c;
  c.model.n_vocab = 32;
  c.model.n_embd = 16;
  c.model.n_ff = 32;
  c.model.n_layer = 1;
  c.model.n_head = 2;
  c.model.n_head_kv = 1;
  c.model.seq_len = 8;
  c.model.tied_embedding = tied;
  c.batch_size = 2;
  c.steps = 4;
  return c;
}

}  // namespace bitlm::fuzz
