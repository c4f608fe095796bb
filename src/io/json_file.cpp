// io/json_file.cpp — see json_file.h.
#include "io/json_file.h"

#include "core/error.h"
#include "io/mapped_file.h"

namespace bitlm {

nlohmann::json read_json_file(const std::string& path) {
  const MappedFile file(path);
  const char* text = reinterpret_cast<const char*>(file.data());
  nlohmann::json j = nlohmann::json::parse(text, text + file.size(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw FormatError(path, "not valid JSON");
  return j;
}

}  // namespace bitlm
