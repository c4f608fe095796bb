// tests/fuzz/checkpoint_fuzz.cpp — training checkpoints on arbitrary bytes, through every reader:
// load_checkpoint (--resume: into a fixed small model), checkpoint_step, and checkpoint_config +
// load_checkpoint_params (export: into a model built from the file's own config, when small).
// Seeds: fuzz_seeds' checkpoints of that small model (tied and untied head).
// The container is opened once and handed to the four readers (their path forms are that open and
// the same call): parsing the safetensors header four times was ~40 % of an input's time.
#include <memory>

#include "core/thread_pool.h"
#include "fuzz_models.h"
#include "fuzz_util.h"
#include "io/safetensors.h"
#include "train/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bitlm;
  static const TrainConfig cfg = fuzz::checkpoint_config_for_fuzz();
  static TrainModel model(cfg.model);
  static AdamW opt(model.params().size(), cfg.adam);
  auto& file = fuzz::memfile();
  if (!file.write(data, size)) return 0;
  std::unique_ptr<SafetensorsFile> f;
  fuzz::expect_user_error([&] { f = SafetensorsFile::open(file.path()); });
  if (!f) return 0;  // each reader would throw this same error first
  fuzz::expect_user_error([&] { (void)load_checkpoint(*f, cfg, model, opt); });
  fuzz::expect_user_error([&] { (void)checkpoint_step(*f); });
  fuzz::expect_user_error([&] {
    const TrainConfig c = checkpoint_config(*f);
    const TrainModelConfig& m = c.model;
    // A config that passed validate() but names a model too large to build here (export would
    // allocate it; the fuzzer's memory limit is not a finding).
    const double params = double(m.n_vocab) * double(m.n_embd) * 2 +
                          double(m.n_layer) * (4.0 * double(m.n_embd) * double(m.n_embd) + 3.0 * double(m.n_embd) * double(m.n_ff));
    if (params > 1e6) return;
    TrainModel other(m);
    load_checkpoint_params(*f, other);
  });
  return 0;
}
