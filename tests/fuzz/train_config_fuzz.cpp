// tests/fuzz/train_config_fuzz.cpp — TrainConfig::from_file (what `bitlm train -c FILE` reads) on
// arbitrary bytes; a config that loads must survive to_json -> from_json unchanged.
#include "fuzz_util.h"
#include "train/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return bitlm::fuzz::run_on_file(data, size, [](const std::string& path) {
    const bitlm::TrainConfig cfg = bitlm::TrainConfig::from_file(path);
    const nlohmann::json j = cfg.to_json();
    FUZZ_CHECK(bitlm::TrainConfig::from_json(j, "round trip").to_json() == j);
  });
}
