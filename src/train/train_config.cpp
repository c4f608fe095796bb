// train/train_config.cpp — JSON <-> TrainConfig, field by field, unknown keys refused.
#include "train/train_config.h"

#include <limits>
#include <type_traits>

#include "core/error.h"

namespace bitlm {
namespace {

using nlohmann::json;

// Reads obj[key] into `out` if present; a wrong type names the file and key.
template <typename T>
void field(const json& obj, const char* key, T& out, const std::string& where) {
  const auto it = obj.find(key);
  if (it == obj.end()) return;
  // A float into an integer field converts as static_cast: past the type's range that is undefined
  // (found by train_config_fuzz: "n_head": 5e101), so it is refused by name.
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    constexpr double lo = double(std::numeric_limits<T>::min()), hi = 2.0 * double(std::numeric_limits<T>::max() / 2 + 1);
    if (it->is_number_float() && !(it->template get<double>() >= lo && it->template get<double>() < hi))
      throw FormatError(where, fmt::format("key '{}' = {} is out of range", key, it->dump()));
  }
  try {
    out = it->get<T>();
  } catch (const json::exception&) {
    throw FormatError(where, fmt::format("key '{}' has the wrong type ({})", key, it->dump()));
  }
}

void refuse_unknown(const json& obj, std::initializer_list<const char*> known, const std::string& where,
                    const char* section) {
  for (const auto& [k, v] : obj.items()) {
    bool ok = false;
    for (const char* kk : known) ok |= k == kk;
    if (!ok) throw FormatError(where, fmt::format("unknown key '{}{}'", section, k));
  }
}

}  // namespace

TrainConfig TrainConfig::from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw FormatError(where, "the config must be a JSON object");
  TrainConfig c;
  refuse_unknown(j, {"model", "schedule", "adam", "train_data", "valid_data", "tokenizer", "out_dir", "steps",
                     "batch_size", "grad_accum", "grad_clip", "seed", "init_std", "threads",
                     "checkpoint_every", "eval_every", "eval_batches", "matmul_precision"}, where, "");
  if (j.contains("model")) {
    const json& m = j["model"];
    refuse_unknown(m, {"arch", "n_vocab", "n_embd", "n_ff", "n_layer", "n_head", "n_head_kv", "seq_len", "weight_mode",
                       "activation", "tied_embedding", "rms_eps", "rope_theta", "quant_groups", "act_quant"}, where, "model.");
    TrainModelConfig& mc = c.model;
    field(m, "arch", mc.arch, where);
    field(m, "n_vocab", mc.n_vocab, where); field(m, "n_embd", mc.n_embd, where);
    field(m, "n_ff", mc.n_ff, where); field(m, "n_layer", mc.n_layer, where);
    field(m, "n_head", mc.n_head, where); field(m, "n_head_kv", mc.n_head_kv, where);
    field(m, "seq_len", mc.seq_len, where); field(m, "tied_embedding", mc.tied_embedding, where);
    field(m, "rms_eps", mc.rms_eps, where); field(m, "rope_theta", mc.rope_theta, where);
    field(m, "quant_groups", mc.quant_groups, where);
    std::string mode = weight_mode_name(mc.weight_mode), act = std::string(activation_name(mc.activation));
    field(m, "weight_mode", mode, where);
    field(m, "activation", act, where);
    mc.weight_mode = parse_weight_mode(mode);
    if (act != "silu" && act != "relu2") throw FormatError(where, fmt::format("model.activation '{}' is not silu or relu2", act));
    mc.activation = act == "relu2" ? FfnActivation::kRelu2 : FfnActivation::kSilu;
    std::string act_quant = mc.elastic_act ? "elastic" : "absmax";
    field(m, "act_quant", act_quant, where);
    if (act_quant != "absmax" && act_quant != "elastic")
      throw FormatError(where, fmt::format("model.act_quant '{}' is not absmax or elastic", act_quant));
    mc.elastic_act = act_quant == "elastic";
  } else {
    c.model.n_vocab = 0;
  }
  if (!j.contains("model") || !j["model"].contains("n_vocab")) c.model.n_vocab = 0;  // from the data
  if (j.contains("schedule")) {
    const json& s = j["schedule"];
    refuse_unknown(s, {"kind", "lr", "lr_stage2", "min_lr", "weight_decay", "warmup_steps"}, where, "schedule.");
    std::string kind = schedule_name(c.schedule.kind);
    field(s, "kind", kind, where);
    c.schedule.kind = parse_schedule(kind);
    field(s, "lr", c.schedule.lr, where); field(s, "lr_stage2", c.schedule.lr_stage2, where);
    field(s, "min_lr", c.schedule.min_lr, where); field(s, "weight_decay", c.schedule.weight_decay, where);
    field(s, "warmup_steps", c.schedule.warmup_steps, where);
  }
  if (j.contains("adam")) {
    const json& a = j["adam"];
    refuse_unknown(a, {"beta1", "beta2", "eps"}, where, "adam.");
    field(a, "beta1", c.adam.beta1, where); field(a, "beta2", c.adam.beta2, where); field(a, "eps", c.adam.eps, where);
  }
  field(j, "train_data", c.train_data, where); field(j, "valid_data", c.valid_data, where);
  field(j, "tokenizer", c.tokenizer, where); field(j, "out_dir", c.out_dir, where);
  field(j, "steps", c.steps, where); field(j, "batch_size", c.batch_size, where);
  field(j, "grad_accum", c.grad_accum, where); field(j, "grad_clip", c.grad_clip, where);
  field(j, "seed", c.seed, where); field(j, "init_std", c.init_std, where);
  field(j, "threads", c.threads, where); field(j, "checkpoint_every", c.checkpoint_every, where);
  field(j, "eval_every", c.eval_every, where); field(j, "eval_batches", c.eval_batches, where);
  std::string precision = c.model.matmul_precision == MatmulPrecision::kBf16 ? "bf16" : "fp32";
  field(j, "matmul_precision", precision, where);
  if (precision != "fp32" && precision != "bf16")
    throw FormatError(where, fmt::format("matmul_precision '{}' is not fp32 or bf16", precision));
  c.model.matmul_precision = precision == "bf16" ? MatmulPrecision::kBf16 : MatmulPrecision::kFp32;
  c.schedule.total_steps = c.steps;
  return c;
}

TrainConfig TrainConfig::from_file(const std::string& path) {
  return from_json(read_json_file(path), path);
}

json TrainConfig::model_json() const {
  const TrainModelConfig& m = model;
  json j = {{"arch", m.arch}, {"n_vocab", m.n_vocab}, {"n_embd", m.n_embd}, {"n_ff", m.n_ff}, {"n_layer", m.n_layer},
          {"n_head", m.n_head}, {"n_head_kv", m.n_head_kv}, {"seq_len", m.seq_len},
          {"weight_mode", weight_mode_name(m.weight_mode)}, {"activation", std::string(activation_name(m.activation))},
          {"tied_embedding", m.tied_embedding}, {"rms_eps", m.rms_eps}, {"rope_theta", m.rope_theta}};
  // written only when grouped, so that the checkpoints of every ungrouped run keep their bytes
  if (m.quant_groups != 1) j["quant_groups"] = m.quant_groups;
  if (m.elastic_act) j["act_quant"] = "elastic";  // likewise: absmax checkpoints keep their bytes
  return j;
}

json TrainConfig::to_json() const {
  return {{"model", model_json()},
          {"schedule", {{"kind", schedule_name(schedule.kind)}, {"lr", schedule.lr}, {"lr_stage2", schedule.lr_stage2},
                        {"min_lr", schedule.min_lr}, {"weight_decay", schedule.weight_decay},
                        {"warmup_steps", schedule.warmup_steps}}},
          {"adam", {{"beta1", adam.beta1}, {"beta2", adam.beta2}, {"eps", adam.eps}}},
          {"train_data", train_data}, {"valid_data", valid_data}, {"tokenizer", tokenizer}, {"out_dir", out_dir},
          {"steps", steps}, {"batch_size", batch_size}, {"grad_accum", grad_accum}, {"grad_clip", grad_clip},
          {"seed", seed}, {"init_std", init_std}, {"threads", threads}, {"checkpoint_every", checkpoint_every},
          {"eval_every", eval_every}, {"eval_batches", eval_batches},
          {"matmul_precision", model.matmul_precision == MatmulPrecision::kBf16 ? "bf16" : "fp32"}};
}

void TrainConfig::validate() const {
  model.validate();
  BITLM_CHECK(steps > 0 && batch_size > 0 && grad_accum > 0, "steps, batch_size and grad_accum must be positive");
  BITLM_CHECK(schedule.lr > 0 && schedule.warmup_steps >= 0, "schedule.lr must be positive, warmup_steps >= 0");
  BITLM_CHECK(checkpoint_every >= 0 && eval_every >= 0 && eval_batches > 0, "checkpoint_every/eval_every must be >= 0");
  BITLM_CHECK(grad_clip >= 0, "grad_clip must be >= 0 (0 = off)");
}

}  // namespace bitlm
