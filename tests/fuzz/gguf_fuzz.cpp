// tests/fuzz/gguf_fuzz.cpp — GgufFile::open on arbitrary bytes, then every typed getter on every key
// and every tensor's data. Seeds: fuzz_seeds' small GGUFs (every value type, several tensor types).
#include "fuzz_util.h"
#include "io/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return bitlm::fuzz::run_on_file(data, size, [](const std::string& path) {
    const auto f = bitlm::GgufFile::open(path);
    for (const auto& [key, value] : f->metadata()) {
      bitlm::fuzz::expect_user_error([&] { (void)f->get_uint(key); });
      bitlm::fuzz::expect_user_error([&] { (void)f->get_float(key); });
      bitlm::fuzz::expect_user_error([&] { (void)f->get_string(key); });
      bitlm::fuzz::expect_user_error([&] { (void)f->get_bool(key); });
      bitlm::fuzz::expect_user_error([&] { (void)f->get_string_array(key); });
      bitlm::fuzz::expect_user_error([&] { (void)f->get_f32_array(key); });
      bitlm::fuzz::expect_user_error([&] { (void)f->get_i32_array(key); });
    }
    for (const auto& t : f->tensors()) {
      const auto bytes = f->tensor_data(t);
      FUZZ_CHECK(bytes.size() == t.n_bytes);
      FUZZ_CHECK(t.offset + t.n_bytes <= f->file_size());
      volatile uint8_t sink = 0;  // touch both ends (ASan checks the bounds)
      if (!bytes.empty()) sink = uint8_t(bytes.front() + bytes.back());
      (void)sink;
      FUZZ_CHECK(f->find_tensor(t.name) == &t);
    }
  });
}
