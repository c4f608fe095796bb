// io/json_file.h — a JSON file read whole (config.json, tokenizer.json, a safetensors index):
// IoError when it cannot be read, FormatError naming the path when it is not JSON.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace bitlm {

nlohmann::json read_json_file(const std::string& path);

}  // namespace bitlm
