// io/json_file.cpp — see json_file.h.
#include "io/json_file.h"

#include "core/error.h"
#include "io/mapped_file.h"

#include <string>

namespace bitlm {

nlohmann::json read_json_file(const std::string& path) {
  const MappedFile file(path);
  const char* text = reinterpret_cast<const char*>(file.data());
  try {
    return nlohmann::json::parse(text, text + file.size());
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    throw FormatError(path, std::string("not valid JSON: ") + e.what());
  }
}

}  // namespace bitlm
