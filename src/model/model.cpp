// model/model.cpp — see model.h.
#include "model/model.h"

namespace bitlm {

std::unique_ptr<Model> Model::load(const std::string& path) {
  auto m = std::make_unique<Model>();
  m->file = GgufFile::open(path);
  m->config = ModelConfig::from_gguf(*m->file);
  m->weights = ModelWeights::load(*m->file, m->config);
  return m;
}

}  // namespace bitlm
