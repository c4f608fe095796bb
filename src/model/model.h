// model/model.h — a loaded model: the open GGUF file (its mmap backs the embedding and head),
// the config read from it and the weights.
#pragma once
#include <memory>
#include <string>

#include "io/gguf.h"
#include "model/config.h"
#include "model/weights.h"

namespace bitlm {

struct Model {
  std::unique_ptr<GgufFile> file;
  ModelConfig config;
  ModelWeights weights;

  // Opens, validates and loads `path`; FormatError / IoError naming the file otherwise.
  static std::unique_ptr<Model> load(const std::string& path);
};

}  // namespace bitlm
