// train/checkpoint.cpp — see checkpoint.h.
#include "train/checkpoint.h"

#include <cstring>
#include <type_traits>

#include "core/error.h"
#include "io/checksum.h"
#include "io/safetensors.h"

namespace bitlm {
namespace {

constexpr const char* kFormat = "bitlm-train-checkpoint";

std::span<const uint8_t> as_bytes(std::span<const float> v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size_bytes()};
}

uint32_t arenas_crc(std::span<const float> params, std::span<const float> m, std::span<const float> v) {
  return crc32(as_bytes(v), crc32(as_bytes(m), crc32(as_bytes(params))));
}

const std::string& meta(const SafetensorsFile& f, const char* key) {
  const auto it = f.metadata().find(key);
  if (it == f.metadata().end()) throw FormatError(f.path(), fmt::format("checkpoint metadata '{}' is missing", key));
  return it->second;
}

// A number from the metadata: integers ("step") or, for T = double, "elapsed_s".
template <class T = int64_t>
T meta_number(const SafetensorsFile& f, const char* key) {
  try {
    if constexpr (std::is_integral_v<T>)
      return std::stoll(meta(f, key));
    else
      return std::stod(meta(f, key));
  } catch (const std::logic_error&) {
    throw FormatError(f.path(), fmt::format("checkpoint metadata '{}' = '{}' is not {}", key, meta(f, key),
                                            std::is_integral_v<T> ? "an integer" : "a number"));
  }
}

void check_format(const SafetensorsFile& f) {
  if (f.metadata().count("format") == 0 || meta(f, "format") != kFormat)
    throw FormatError(f.path(), "not a bitlm training checkpoint (metadata 'format' is not 'bitlm-train-checkpoint')");
  if (meta(f, "version") != "1")
    throw FormatError(f.path(), fmt::format("checkpoint version {} is not supported (1)", meta(f, "version")));
}

TrainConfig config_of(const SafetensorsFile& f) {
  try {
    return TrainConfig::from_json(nlohmann::json::parse(meta(f, "config")), f.path() + " (metadata 'config')");
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(f.path(), fmt::format("metadata 'config' is not valid JSON: {}", e.what()));
  }
}

void check_same_model(const SafetensorsFile& f, const TrainConfig& saved, const TrainModelConfig& want) {
  TrainConfig w = saved;
  w.model = want;
  nlohmann::json a = saved.model_json(), b = w.model_json();
  for (const auto& [key, value] : b.items())  // keys written only when set (act_quant) absent there
    if (!a.contains(key)) a[key] = nullptr;
  for (const auto& [key, value] : a.items())
    if (b[key] != value)
      throw UserError(fmt::format("{}: the checkpoint was made for a different model: model.{} = {} there, {} here",
                                  f.path(), key, value.dump(), b[key].dump()));
}

void read_into(const SafetensorsFile& f, const std::string& name, std::span<float> out) {
  const SafetensorsTensor& t = f.tensor(name);
  if (t.dtype != SafetensorsDtype::kF32 || t.n_elements() != out.size())
    throw FormatError(f.path(), fmt::format("tensor '{}' has {} elements of {} (expected {} F32)", name, t.n_elements(),
                                            safetensors_dtype_name(t.dtype), out.size()));
  std::memcpy(out.data(), t.bytes.data(), out.size_bytes());
}

void verify_crc(const SafetensorsFile& f, uint32_t crc) {
  const std::string want = meta(f, "crc32"), got = fmt::format("{:08x}", crc);
  if (want != got)
    throw FormatError(f.path(), fmt::format("checksum mismatch (stored {}, computed {}): the checkpoint is corrupt", want, got));
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainConfig& cfg, TrainModel& model, AdamW& opt,
                     const TrainState& state) {
  SafetensorsWriter w;
  for (const ParamTensor& t : model.tensors()) {
    const std::vector<uint64_t> shape = t.rows == 1 ? std::vector<uint64_t>{uint64_t(t.cols)}
                                                    : std::vector<uint64_t>{uint64_t(t.rows), uint64_t(t.cols)};
    w.add_f32("param." + t.name, shape, model.param(t));
    w.add_f32("adam_m." + t.name, shape, opt.m().subspan(t.offset, t.size()));
    w.add_f32("adam_v." + t.name, shape, opt.v().subspan(t.offset, t.size()));
  }
  w.set_metadata("format", kFormat);
  w.set_metadata("version", "1");
  w.set_metadata("config", cfg.to_json().dump());
  w.set_metadata("step", std::to_string(state.step));
  w.set_metadata("adam_steps", std::to_string(opt.steps()));
  w.set_metadata("data_shard", std::to_string(state.data.shard));
  w.set_metadata("data_offset", std::to_string(state.data.offset));
  w.set_metadata("data_epoch", std::to_string(state.data.epoch));
  w.set_metadata("elapsed_s", fmt::format("{}", state.elapsed_s));
  w.set_metadata("crc32", fmt::format("{:08x}", arenas_crc(model.params(), opt.m(), opt.v())));
  w.write(path);
}

TrainState load_checkpoint(const SafetensorsFile& f, const TrainConfig& cfg, TrainModel& model, AdamW& opt) {
  check_format(f);
  const TrainConfig saved = config_of(f);
  check_same_model(f, saved, cfg.model);
  BITLM_CHECK(saved.batch_size == cfg.batch_size && saved.grad_accum == cfg.grad_accum,
              "{}: the checkpoint was trained with batch_size {} x grad_accum {}, this run uses {} x {} "
              "(resuming would not continue the same run)", f.path(), saved.batch_size, saved.grad_accum,
              cfg.batch_size, cfg.grad_accum);
  for (const ParamTensor& t : model.tensors()) {
    read_into(f, "param." + t.name, model.param(t));
    read_into(f, "adam_m." + t.name, opt.m().subspan(t.offset, t.size()));
    read_into(f, "adam_v." + t.name, opt.v().subspan(t.offset, t.size()));
  }
  verify_crc(f, arenas_crc(model.params(), opt.m(), opt.v()));
  opt.set_steps(meta_number(f, "adam_steps"));
  TrainState st;
  st.step = meta_number(f, "step");
  st.data = {meta_number(f, "data_shard"), meta_number(f, "data_offset"), meta_number(f, "data_epoch")};
  if (f.metadata().count("elapsed_s")) st.elapsed_s = meta_number<double>(f, "elapsed_s");
  return st;
}

TrainConfig checkpoint_config(const SafetensorsFile& f) {
  check_format(f);
  return config_of(f);
}

int64_t checkpoint_step(const SafetensorsFile& f) {
  check_format(f);
  return meta_number(f, "step");
}

void load_checkpoint_params(const SafetensorsFile& f, TrainModel& model) {
  check_format(f);
  check_same_model(f, config_of(f), model.config());
  std::vector<float> m(model.params().size()), v(model.params().size());
  for (const ParamTensor& t : model.tensors()) {
    read_into(f, "param." + t.name, model.param(t));
    read_into(f, "adam_m." + t.name, std::span<float>(m).subspan(t.offset, t.size()));
    read_into(f, "adam_v." + t.name, std::span<float>(v).subspan(t.offset, t.size()));
  }
  verify_crc(f, arenas_crc(model.params(), m, v));
}

TrainState load_checkpoint(const std::string& path, const TrainConfig& cfg, TrainModel& model, AdamW& opt) {
  return load_checkpoint(*SafetensorsFile::open(path), cfg, model, opt);
}

TrainConfig checkpoint_config(const std::string& path) { return checkpoint_config(*SafetensorsFile::open(path)); }

int64_t checkpoint_step(const std::string& path) { return checkpoint_step(*SafetensorsFile::open(path)); }

void load_checkpoint_params(const std::string& path, TrainModel& model) {
  load_checkpoint_params(*SafetensorsFile::open(path), model);
}

}  // namespace bitlm
