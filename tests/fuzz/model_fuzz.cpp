// tests/fuzz/model_fuzz.cpp — Model::load (the GGUF reader, the config and tensor-table checks, the
// weight repacking) on arbitrary bytes, then one forward step of two tokens in int8 activations.
// Seeds: fuzz_seeds' nano models (synth --shape nano: T2 with an F16 head, T1 with a Q8_0 head).
#include <array>

#include "core/thread_pool.h"
#include "fuzz_util.h"
#include "model/forward.h"
#include "model/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bitlm;
  static ThreadPool pool(1);
  auto& file = fuzz::memfile();
  if (!file.write(data, size)) return 0;
  fuzz::expect_user_error([&] {
    const auto model = Model::load(file.path());
    // Small enough for the fuzzer's memory limit (a file may claim a huge width with tiny tensors
    // only if the loader let it: those it refuses).
    if (model->config.n_embd > 4096 || model->config.n_vocab > (1 << 18)) return;
    Forward fwd(*model, 4, pool);
    const std::array<int32_t, 2> tokens = {0, int32_t(model->config.n_vocab - 1)};
    fwd.eval(tokens);
    for (const float x : fwd.last_logits()) (void)x;
  });
  return 0;
}
