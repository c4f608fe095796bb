// io/safetensors.cpp — the header is parsed with nlohmann-json (exceptions off the hot path: it is
// read once) and every entry is checked before a span into the map is handed out.
#include "io/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/checked.h"
#include "core/error.h"
#include "core/fp16.h"
#include "io/atomic_write.h"
#include "io/json_file.h"
#include "io/mapped_file.h"

namespace bitlm {
namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit
constexpr std::string_view kMetadataKey = "__metadata__";

struct DtypeInfo { SafetensorsDtype dtype; std::string_view name; uint64_t bytes; };
constexpr DtypeInfo kDtypes[] = {
    {SafetensorsDtype::kF32, "F32", 4}, {SafetensorsDtype::kF16, "F16", 2}, {SafetensorsDtype::kBF16, "BF16", 2},
    {SafetensorsDtype::kI8, "I8", 1},   {SafetensorsDtype::kI32, "I32", 4}, {SafetensorsDtype::kI64, "I64", 8},
    {SafetensorsDtype::kU8, "U8", 1},
};

std::optional<uint64_t> shape_elements(std::span<const uint64_t> shape) {
  uint64_t n = 1;
  for (uint64_t d : shape) {
    const auto p = checked_mul(n, d);
    if (!p) return std::nullopt;
    n = *p;
  }
  return n;
}

// One header entry -> tensor (offsets still relative to the data section).
struct Entry { std::string name; SafetensorsDtype dtype; std::vector<uint64_t> shape; uint64_t begin, end; };

Entry parse_entry(const std::string& path, const std::string& name, const json& j, uint64_t data_bytes) {
  auto bad = [&](std::string_view what) { return FormatError(path, fmt::format("tensor '{}': {}", name, what)); };
  if (!j.is_object()) throw bad("header entry is not an object");
  const auto dt = j.find("dtype");
  if (dt == j.end() || !dt->is_string()) throw bad("missing or non-string 'dtype'");
  const auto dtype = safetensors_dtype_from_name(dt->get_ref<const std::string&>());
  if (!dtype) throw bad(fmt::format("dtype '{}' is not supported (F32, F16, BF16, I8, I32, I64, U8)", dt->get_ref<const std::string&>()));
  Entry e{name, *dtype, {}, 0, 0};
  const auto sh = j.find("shape");
  if (sh == j.end() || !sh->is_array()) throw bad("missing or non-array 'shape'");
  for (const auto& d : *sh) {
    if (!d.is_number_unsigned()) throw bad(fmt::format("shape entry {} is not a non-negative integer", d.dump()));
    e.shape.push_back(d.get<uint64_t>());
  }
  const auto off = j.find("data_offsets");
  if (off == j.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    throw bad("'data_offsets' is not a pair of non-negative integers");
  e.begin = (*off)[0].get<uint64_t>();
  e.end = (*off)[1].get<uint64_t>();
  if (e.begin > e.end || e.end > data_bytes)
    throw bad(fmt::format("data_offsets [{}, {}) outside the data section ({} bytes)", e.begin, e.end, data_bytes));
  const auto n = shape_elements(e.shape);
  const auto n_bytes = n ? checked_mul(*n, safetensors_dtype_bytes(e.dtype)) : std::nullopt;
  if (!n_bytes || *n_bytes != e.end - e.begin)
    throw bad(fmt::format("shape {} of {} needs {} bytes but data_offsets span {}", sh->dump(), dt->get_ref<const std::string&>(),
                          n_bytes ? fmt::to_string(*n_bytes) : "an overflowing number of", e.end - e.begin));
  return e;
}

void check_no_overlap(const std::string& path, std::vector<Entry>& entries) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < entries.size(); ++i)
    if (entries[i - 1].end > entries[i].begin)
      throw FormatError(path, fmt::format("tensors '{}' [{}, {}) and '{}' [{}, {}) overlap", entries[i - 1].name,
                                          entries[i - 1].begin, entries[i - 1].end, entries[i].name, entries[i].begin,
                                          entries[i].end));
}

}  // namespace

std::string_view safetensors_dtype_name(SafetensorsDtype d) {
  for (const auto& i : kDtypes)
    if (i.dtype == d) return i.name;
  return "?";
}

uint64_t safetensors_dtype_bytes(SafetensorsDtype d) {
  for (const auto& i : kDtypes)
    if (i.dtype == d) return i.bytes;
  return 0;
}

std::optional<SafetensorsDtype> safetensors_dtype_from_name(std::string_view name) {
  for (const auto& i : kDtypes)
    if (i.name == name) return i.dtype;
  return std::nullopt;
}

uint64_t SafetensorsTensor::n_elements() const { return *shape_elements(shape); }

SafetensorsFile::~SafetensorsFile() = default;

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_ = std::make_unique<MappedFile>(path);
  const uint64_t size = f->map_->size();
  if (size < 8) throw FormatError(path, fmt::format("{} bytes is too small to be a safetensors file", size));
  uint64_t header_bytes;
  std::memcpy(&header_bytes, f->map_->data(), 8);
  if (header_bytes > kMaxHeaderBytes || header_bytes > size - 8)
    throw FormatError(path, fmt::format("header length {} exceeds the file ({} bytes) or the {}-byte limit",
                                        header_bytes, size, kMaxHeaderBytes));
  const char* header = reinterpret_cast<const char*>(f->map_->data() + 8);
  const json j = json::parse(header, header + header_bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw FormatError(path, "the header is not valid JSON");
  if (!j.is_object()) throw FormatError(path, "the header is not a JSON object");

  const uint8_t* data = f->map_->data() + 8 + header_bytes;
  const uint64_t data_bytes = size - 8 - header_bytes;
  std::vector<Entry> entries;
  for (const auto& [name, value] : j.items()) {
    if (name == kMetadataKey) {
      if (!value.is_object()) throw FormatError(path, "'__metadata__' is not an object");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) throw FormatError(path, fmt::format("metadata '{}' is not a string", k));
        f->metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, name, value, data_bytes));
  }
  check_no_overlap(path, entries);
  for (auto& e : entries)  // JSON object keys are unique after parsing (the last duplicate wins)
    f->tensors_.emplace(e.name, SafetensorsTensor{e.dtype, std::move(e.shape), {data + e.begin, size_t(e.end - e.begin)}});
  return f;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const SafetensorsTensor& SafetensorsFile::tensor(std::string_view name) const {
  const SafetensorsTensor* t = find(name);
  if (!t) throw FormatError(path_, fmt::format("no tensor named '{}'", name));
  return *t;
}

std::vector<float> SafetensorsFile::read_f32(std::string_view name) const {
  const SafetensorsTensor& t = tensor(name);
  const uint64_t n = t.n_elements();
  std::vector<float> out(n);
  const uint8_t* p = t.bytes.data();
  switch (t.dtype) {
    case SafetensorsDtype::kF32:
      if (n > 0) std::memcpy(out.data(), p, n * 4);
      break;
    case SafetensorsDtype::kF16:
    case SafetensorsDtype::kBF16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = t.dtype == SafetensorsDtype::kF16 ? fp16_to_f32(h) : bf16_to_f32(h);
      }
      break;
    default:
      throw FormatError(path_, fmt::format("tensor '{}' has dtype {}, expected F32, F16 or BF16", name,
                                           safetensors_dtype_name(t.dtype)));
  }
  return out;
}

SafetensorsSet::SafetensorsSet(SafetensorsSet&&) noexcept = default;
SafetensorsSet& SafetensorsSet::operator=(SafetensorsSet&&) noexcept = default;
SafetensorsSet::~SafetensorsSet() = default;

SafetensorsSet SafetensorsSet::open_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  SafetensorsSet set;
  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  if (!fs::exists(index_path)) {
    set.source_ = (fs::path(dir) / "model.safetensors").string();
    if (!fs::exists(set.source_))
      throw IoError(fmt::format("{}: no model.safetensors or model.safetensors.index.json", dir));
    set.files_.push_back(SafetensorsFile::open(set.source_));
    for (const auto& [name, t] : set.files_[0]->tensors()) set.index_.emplace(name, Where{set.files_[0].get(), &t});
    return set;
  }
  set.source_ = index_path;
  const json index = read_json_file(index_path);
  const auto map = index.is_object() ? index.find("weight_map") : index.end();
  if (map == index.end() || !map->is_object() || map->empty())
    throw FormatError(index_path, "no 'weight_map' object naming the shard of each tensor");
  std::map<std::string, const SafetensorsFile*> shards;
  for (const auto& [name, shard] : map->items()) {
    if (!shard.is_string()) throw FormatError(index_path, fmt::format("weight_map['{}'] is not a file name", name));
    const std::string& file = shard.get_ref<const std::string&>();
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
      throw FormatError(index_path, fmt::format("weight_map['{}'] = '{}' is not a file name in the folder", name, file));
    auto it = shards.find(file);
    if (it == shards.end()) {
      const std::string path = (fs::path(dir) / file).string();
      if (!fs::exists(path))
        throw IoError(fmt::format("{}: missing shard '{}' (named by {} for tensor '{}')", path, file, index_path, name));
      set.files_.push_back(SafetensorsFile::open(path));
      it = shards.emplace(file, set.files_.back().get()).first;
    }
    const SafetensorsTensor* t = it->second->find(name);
    if (!t)
      throw FormatError(index_path, fmt::format("tensor '{}' is mapped to shard '{}', which does not hold it", name, file));
    set.index_.emplace(name, Where{it->second, t});
  }
  return set;
}

std::vector<std::string> SafetensorsSet::names() const {
  std::vector<std::string> out;
  for (const auto& [name, w] : index_) out.push_back(name);
  return out;
}

const SafetensorsTensor* SafetensorsSet::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second.tensor;
}

const SafetensorsTensor& SafetensorsSet::tensor(std::string_view name) const {
  const SafetensorsTensor* t = find(name);
  if (!t) throw FormatError(source_, fmt::format("no tensor named '{}'", name));
  return *t;
}

const std::string& SafetensorsSet::file_of(std::string_view name) const {
  const auto it = index_.find(name);
  BITLM_ASSERT(it != index_.end());
  return it->second.file->path();
}

void SafetensorsWriter::set_metadata(std::string key, std::string value) { metadata_[std::move(key)] = std::move(value); }

void SafetensorsWriter::add(std::string name, SafetensorsDtype dtype, std::vector<uint64_t> shape,
                            std::span<const uint8_t> bytes) {
  if (name == kMetadataKey) throw UserError("safetensors writer: '__metadata__' is reserved, not a tensor name");
  for (const auto& t : tensors_)
    if (t.name == name) throw UserError(fmt::format("safetensors writer: duplicate tensor name '{}'", name));
  const auto n = shape_elements(shape);
  const auto n_bytes = n ? checked_mul(*n, safetensors_dtype_bytes(dtype)) : std::nullopt;
  if (!n_bytes || *n_bytes != bytes.size())
    throw UserError(fmt::format("safetensors writer: tensor '{}': {} bytes of data for shape [{}] of {}", name,
                                bytes.size(), fmt::join(shape, ", "), safetensors_dtype_name(dtype)));
  tensors_.push_back({std::move(name), dtype, std::move(shape), {bytes.begin(), bytes.end()}});
}

void SafetensorsWriter::add_f32(std::string name, std::vector<uint64_t> shape, std::span<const float> values) {
  add(std::move(name), SafetensorsDtype::kF32, std::move(shape),
      {reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(float)});
}

void SafetensorsWriter::write(const std::string& path) const {
  json header = json::object();
  if (!metadata_.empty()) header[std::string(kMetadataKey)] = metadata_;
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    header[t.name] = {{"dtype", safetensors_dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string text = header.dump();
  text.resize(*checked_align_up(text.size(), 8), ' ');  // JSON allows trailing whitespace

  AtomicFileWriter w(path);
  const uint64_t n = text.size();
  w.write(&n, 8);
  w.write(text.data(), text.size());
  for (const auto& t : tensors_) w.write(t.data);
  w.commit();
}

}  // namespace bitlm
