// train/export_hf.cpp — see export_hf.h.
#include "train/export_hf.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

#include "core/error.h"
#include "io/atomic_write.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/hf_convert.h"
#include "quant/quantize.h"
#include "tokenizer/hf_tokenizer.h"
#include "train/checkpoint.h"
#include "train/train_model.h"

namespace bitlm {

void export_hf(const TrainModel& model, const std::string& tokenizer_gguf, const std::string& dir) {
  namespace fs = std::filesystem;
  const TrainModelConfig& c = model.config();
  BITLM_CHECK(c.weight_mode != WeightMode::kFp,
              "export --format hf: an fp model is not supported yet (the 2B-4T layout holds ternary or binary weights)");
  BITLM_CHECK(c.arch == "bitnet", "export --format hf: arch '{}' is not supported (bitnet: the 2B-4T layout)", c.arch);
  BITLM_CHECK(c.quant_groups == 1,
              "export --format hf: the model was trained with model.quant_groups = {}; the 2B-4T layout holds one "
              "weight scale per tensor",
              c.quant_groups);
  BITLM_CHECK(!c.elastic_act, "export --format hf: the model has learned activation scales (model.act_quant "
                               "\"elastic\"), which the Hugging Face BitNet format has no place for; export GGUF");
  BITLM_CHECK(!tokenizer_gguf.empty(), "export --format hf: the checkpoint names no tokenizer (give --tokenizer)");
  const ModelConfig mc = c.model_config();
  const auto tok_file = GgufFile::open(tokenizer_gguf);
  const Vocab vocab = read_vocab(*tok_file);
  BITLM_CHECK(int64_t(vocab.tokens.size()) <= c.n_vocab, "{}: the tokenizer has {} tokens, the model only {}",
              tokenizer_gguf, vocab.tokens.size(), c.n_vocab);

  std::map<std::string, const ParamTensor*> by_name;
  for (const ParamTensor& t : model.tensors()) by_name[t.name] = &t;
  const std::span<const float> params = model.params();
  SafetensorsWriter st;
  st.set_metadata("format", "pt");
  const TensorTable& names = mc.tensors();
  const auto add = [&](TensorRole role, int64_t layer) {
    const auto it = by_name.find(names.gguf_name(role, layer));
    if (it == by_name.end()) return;  // a tied head
    const ParamTensor& t = *it->second;
    const std::span<const float> p = params.subspan(t.offset, t.size());
    const std::string hf = hf_tensor_name_bitnet(role, layer);
    if (t.kind == TensorKind::kLinear) {
      BITLM_CHECK(t.rows % 4 == 0, "export --format hf: tensor '{}' has {} rows, not a multiple of 4 (packing)", t.name,
                  t.rows);
      std::vector<int8_t> q(p.size());  // the training quantizer, as export_gguf
      const float beta = c.weight_mode == WeightMode::kTernary ? quantize_absmean(p, q) : quantize_sign(p, q).beta;
      st.add(hf, SafetensorsDtype::kU8, {uint64_t(t.rows / 4), uint64_t(t.cols)}, pack_hf_ternary(q, t.rows, t.cols));
      st.add_f32(hf + "_scale", {1}, {&beta, 1});
    } else if (t.kind == TensorKind::kNorm) {
      st.add_f32(hf, {uint64_t(t.cols)}, p);
    } else {
      st.add_f32(hf, {uint64_t(t.rows), uint64_t(t.cols)}, p);
    }
  };
  add(TensorRole::kTokenEmbd, -1);
  for (int64_t l = 0; l < mc.n_layer; ++l)
    for (const TensorRow& row : names.blocks) add(row.role, l);
  add(TensorRole::kOutputNorm, -1);
  add(TensorRole::kOutput, -1);

  nlohmann::ordered_json config = {
      {"architectures", nlohmann::ordered_json::array({"BitNetForCausalLM"})},
      {"model_type", "bitnet"},
      {"hidden_size", mc.n_embd},
      {"intermediate_size", mc.n_ff},
      {"num_hidden_layers", mc.n_layer},
      {"num_attention_heads", mc.n_head},
      {"num_key_value_heads", mc.n_head_kv},
      {"hidden_act", std::string(activation_name(mc.activation))},
      {"rms_norm_eps", mc.rms_eps},
      {"rope_theta", mc.rope_theta},
      {"max_position_embeddings", mc.n_ctx_train},
      {"vocab_size", mc.n_vocab},
      {"tie_word_embeddings", c.tied_embedding},
      {"torch_dtype", "float32"},
      {"quantization_config",
       {{"quant_method", "bitnet"}, {"linear_class", "autobitlinear"}, {"quantization_mode", "offline"}}},
  };
  nlohmann::ordered_json gen = {{"do_sample", false}};
  if (vocab.bos >= 0) config["bos_token_id"] = gen["bos_token_id"] = vocab.bos;
  if (vocab.eos >= 0) config["eos_token_id"] = gen["eos_token_id"] = vocab.eos;

  fs::create_directories(dir);
  const auto path = [&](const char* name) { return (fs::path(dir) / name).string(); };
  st.write(path("model.safetensors"));
  atomic_write_text(path("tokenizer.json"), hf_tokenizer_json(vocab));
  atomic_write_text(path("tokenizer_config.json"),
                    hf_tokenizer_config_json(vocab, tok_file->get_string("tokenizer.chat_template").value_or(""),
                                             mc.n_ctx_train));
  atomic_write_text(path("generation_config.json"), gen.dump(2) + "\n");
  atomic_write_text(path("config.json"), config.dump(2) + "\n");  // last: a folder with a config is complete
}

void export_checkpoint_hf(const std::string& checkpoint, const std::string& tokenizer_gguf, const std::string& dir) {
  const TrainConfig cfg = checkpoint_config(checkpoint);
  TrainModel model(cfg.model);
  load_checkpoint_params(checkpoint, model);
  export_hf(model, tokenizer_gguf.empty() ? cfg.tokenizer : tokenizer_gguf, dir);
}

}  // namespace bitlm
