// tests/fuzz/safetensors_fuzz.cpp — SafetensorsFile::open on arbitrary bytes (bitlm checkpoints and
// Hugging Face files share the reader), then every tensor read as floats where its dtype allows.
#include "fuzz_util.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return bitlm::fuzz::run_on_file(data, size, [](const std::string& path) {
    const auto f = bitlm::SafetensorsFile::open(path);
    for (const auto& [name, t] : f->tensors()) {
      FUZZ_CHECK(t.bytes.size() == t.n_elements() * bitlm::safetensors_dtype_bytes(t.dtype));
      bitlm::fuzz::expect_user_error([&, &name = name, &t = t] {
        const std::vector<float> v = f->read_f32(name);
        FUZZ_CHECK(v.size() == t.n_elements());
      });
    }
  });
}
