// io/gguf.cpp — GGUF reader and writer. The reader validates the whole header before anything is
// exposed: every count is bounded by the bytes that remain, every size and offset is computed with
// checked arithmetic, and every tensor's data range must lie inside the mapped file. After open()
// succeeds, tensor_data() is a plain pointer offset. Layout: see gguf.h.
#include "io/gguf.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <numeric>

#include "core/checked.h"
#include "core/error.h"
#include "io/atomic_write.h"
#include "io/byte_reader.h"
#include "core/ggml_types.h"
#include "io/mapped_file.h"

namespace bitlm {
namespace {

using VT = GgufValueType;

constexpr uint64_t kMaxNameBytes = 1 << 20;  // metadata keys and tensor names
constexpr uint32_t kMaxDims = 4;             // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 4;            // arrays of arrays of ... (llama.cpp allows none)
// Every array element becomes a GgufValue (~72 bytes): cap the expansion of a hostile file.
// Real vocabularies need ~1.3M (256k tokens x 3 arrays + merges).
constexpr uint64_t kMaxArrayElements = uint64_t(1) << 23;
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;              // key length, key, type, u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;  // name length, name, n_dims, ne0, type, offset
constexpr char kAlignmentKey[] = "general.alignment";
constexpr uint64_t kDefaultAlignment = 32;

bool is_known_type(uint32_t t) { return t <= uint32_t(VT::kF64); }
bool is_unsigned(VT t) { return t == VT::kU8 || t == VT::kU16 || t == VT::kU32 || t == VT::kU64; }
bool is_signed(VT t) { return t == VT::kI8 || t == VT::kI16 || t == VT::kI32 || t == VT::kI64; }
bool is_float(VT t) { return t == VT::kF32 || t == VT::kF64; }

uint64_t min_value_bytes(VT t) {
  switch (t) {
    case VT::kU8: case VT::kI8: case VT::kBool: return 1;
    case VT::kU16: case VT::kI16: return 2;
    case VT::kU32: case VT::kI32: case VT::kF32: return 4;
    case VT::kU64: case VT::kI64: case VT::kF64: case VT::kString: return 8;
    case VT::kArray: return 12;  // element type + count
  }
  return 1;
}

std::string shape_str(std::span<const uint64_t> ne) { return fmt::format("[{}]", fmt::join(ne, ", ")); }

class GgufParser {
 public:
  GgufParser(std::span<const uint8_t> bytes, std::string_view path) : r_(bytes, path) {}

  void read_header(uint32_t& version, uint64_t& n_tensors, uint64_t& n_kv) {
    if (r_.size() < 4) fail("{} bytes is too small to be a GGUF file", r_.size());
    const auto magic = r_.read_bytes(4, "magic");
    if (std::memcmp(magic.data(), "GGUF", 4) != 0)
      fail("bad magic {:02x} {:02x} {:02x} {:02x} (expected 47 47 55 46 = \"GGUF\"): not a GGUF file",
           magic[0], magic[1], magic[2], magic[3]);
    version = r_.read<uint32_t>("version");
    if (version != 2 && version != 3) {
      const uint32_t swapped = __builtin_bswap32(version);
      if (swapped == 2 || swapped == 3) fail("big-endian GGUF (version {}) is not supported", swapped);
      fail("unsupported GGUF version {} (expected 2 or 3)", version);
    }
    n_tensors = r_.read<uint64_t>("n_tensors");
    n_kv = r_.read<uint64_t>("n_kv");
    if (n_kv > r_.remaining() / kMinKvBytes)
      fail("n_kv = {} metadata entries cannot fit in the {} bytes left after the header", n_kv, r_.remaining());
    if (n_tensors > r_.remaining() / kMinTensorInfoBytes)
      fail("n_tensors = {} tensor infos cannot fit in the {} bytes left after the header", n_tensors,
           r_.remaining());
  }

  void read_kv(std::map<std::string, GgufValue>& kv) {
    const std::string_view key = r_.read_string(kMaxNameBytes, "metadata key");
    if (key.empty()) fail("empty metadata key at offset {}", r_.pos() - 8);
    const uint32_t type = r_.read<uint32_t>("value type of key", key);
    if (!is_known_type(type)) fail("key '{}': unknown value type {}", key, type);
    GgufValue v = read_value(VT(type), key, 0);
    if (!kv.emplace(std::string(key), std::move(v)).second) fail("duplicate key '{}'", key);
  }

  GgufTensorInfo read_tensor_info() {
    GgufTensorInfo t;
    const std::string_view name = r_.read_string(kMaxNameBytes, "tensor name");
    if (name.empty()) fail("empty tensor name at offset {}", r_.pos() - 8);
    t.name = name;
    const uint32_t n_dims = r_.read<uint32_t>("n_dims of tensor", name);
    if (n_dims == 0 || n_dims > kMaxDims) fail("tensor '{}': n_dims = {} (expected 1 to {})", name, n_dims, kMaxDims);
    t.ne.resize(n_dims);
    for (auto& d : t.ne) d = r_.read<uint64_t>("dimensions of tensor", name);
    uint64_t n = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      if (t.ne[d] == 0) fail("tensor '{}': ne[{}] = 0 in shape {}", name, d, shape_str(t.ne));
      const auto prod = checked_mul(n, t.ne[d]);
      if (!prod || *prod > uint64_t(std::numeric_limits<int64_t>::max()))
        fail("tensor '{}': the element count of shape {} overflows", name, shape_str(t.ne));
      n = *prod;
    }
    t.type = r_.read<uint32_t>("type of tensor", name);
    t.offset = r_.read<uint64_t>("data offset of tensor", name);
    const auto traits = ggml_type_traits(t.type);
    if (!traits) fail("tensor '{}': ggml type {} is not supported ({})", name, t.type, ggml_type_unknown_reason(t.type));
    const auto n_bytes = ggml_tensor_bytes(t.type, t.ne[0], n);
    if (!n_bytes) {
      if (t.ne[0] % traits->block_elems != 0)
        fail("tensor '{}': ne[0] = {} is not a multiple of the {} block size {}", name, t.ne[0], traits->name,
             traits->block_elems);
      fail("tensor '{}': the byte size of {} shape {} overflows", name, traits->name, shape_str(t.ne));
    }
    t.n_bytes = *n_bytes;
    return t;
  }

  uint64_t pos() const { return r_.pos(); }
  uint64_t size() const { return r_.size(); }

  template <class... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    r_.fail(fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  GgufValue read_value(VT type, std::string_view key, int depth) {
    constexpr std::string_view what = "value of key";
    GgufValue v;
    v.type = type;
    switch (type) {
      case VT::kU8: v.scalar = uint64_t(r_.read<uint8_t>(what, key)); break;
      case VT::kI8: v.scalar = int64_t(r_.read<int8_t>(what, key)); break;
      case VT::kU16: v.scalar = uint64_t(r_.read<uint16_t>(what, key)); break;
      case VT::kI16: v.scalar = int64_t(r_.read<int16_t>(what, key)); break;
      case VT::kU32: v.scalar = uint64_t(r_.read<uint32_t>(what, key)); break;
      case VT::kI32: v.scalar = int64_t(r_.read<int32_t>(what, key)); break;
      case VT::kU64: v.scalar = r_.read<uint64_t>(what, key); break;
      case VT::kI64: v.scalar = r_.read<int64_t>(what, key); break;
      case VT::kF32: v.scalar = double(r_.read<float>(what, key)); break;
      case VT::kF64: v.scalar = r_.read<double>(what, key); break;
      case VT::kBool: {
        const uint8_t b = r_.read<uint8_t>(what, key);
        if (b > 1) fail("key '{}': bool value {} at offset {} is neither 0 nor 1", key, b, r_.pos() - 1);
        v.scalar = b == 1;
        break;
      }
      case VT::kString: v.scalar = std::string(r_.read_string(UINT64_MAX, what, key)); break;
      case VT::kArray: read_array(v, key, depth); break;
    }
    return v;
  }

  void read_array(GgufValue& v, std::string_view key, int depth) {
    if (depth >= kMaxArrayDepth) fail("key '{}': arrays nested deeper than {} levels", key, kMaxArrayDepth);
    const uint32_t elem = r_.read<uint32_t>("array element type of key", key);
    if (!is_known_type(elem)) fail("key '{}': unknown array element type {}", key, elem);
    const uint64_t at = r_.pos();
    const uint64_t n = r_.read<uint64_t>("array length of key", key);
    if (n > r_.remaining() / min_value_bytes(VT(elem)))
      fail("key '{}': array count {} at offset {} cannot fit in the {} bytes left ({} elements)", key, n, at,
           r_.remaining(), gguf_value_type_name(VT(elem)));
    n_array_elements_ += n;
    if (n_array_elements_ > kMaxArrayElements)
      fail("key '{}': the metadata holds more than {} array elements in total", key, kMaxArrayElements);
    v.array_type = VT(elem);
    v.array.reserve(n);
    for (uint64_t i = 0; i < n; ++i) v.array.push_back(read_value(VT(elem), key, depth + 1));
  }

  ByteReader r_;
  uint64_t n_array_elements_ = 0;
};

uint64_t read_alignment(const GgufFile& f, const GgufParser& p) {
  const GgufValue* v = f.find(kAlignmentKey);
  if (!v) return kDefaultAlignment;
  if (v->type != VT::kU32) p.fail("key '{}' has type {} (expected u32)", kAlignmentKey, gguf_value_type_name(v->type));
  const uint64_t a = std::get<uint64_t>(v->scalar);
  if (!std::has_single_bit(a)) p.fail("key '{}' = {} is not a power of two", kAlignmentKey, a);
  return a;
}

// Places every tensor at data_start + offset and checks alignment, bounds and overlap.
void place_tensors(std::vector<GgufTensorInfo>& tensors, uint64_t data_start, uint64_t alignment,
                   uint64_t file_size, const GgufParser& p) {
  for (auto& t : tensors) {
    if (t.offset % alignment != 0)
      p.fail("tensor '{}': data offset {} is not a multiple of the alignment {}", t.name, t.offset, alignment);
    const auto begin = checked_add(data_start, t.offset);
    const auto end = begin ? checked_add(*begin, t.n_bytes) : std::nullopt;
    if (!end || *end > file_size)
      p.fail("tensor '{}': data [{}, {}) runs past the end of the file ({} bytes)", t.name,
             begin.value_or(UINT64_MAX), end.value_or(UINT64_MAX), file_size);
    t.offset = *begin;
  }
  std::vector<const GgufTensorInfo*> by_offset;
  for (const auto& t : tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const auto *a = by_offset[i - 1], *b = by_offset[i];
    if (a->offset + a->n_bytes > b->offset)
      p.fail("tensors '{}' [{}, {}) and '{}' [{}, {}) overlap", a->name, a->offset, a->offset + a->n_bytes,
             b->name, b->offset, b->offset + b->n_bytes);
  }
}

template <class T>
std::optional<T> typed(const GgufFile& f, std::string_view key, VT want, const GgufValue* v) {
  if (!v) return std::nullopt;
  if (v->type != want)
    throw FormatError(f.path(), fmt::format("key '{}' has type {}, expected {}", key, gguf_value_type_name(v->type),
                                            gguf_value_type_name(want)));
  return std::get<T>(v->scalar);
}

// An integer element or scalar as int64 if it fits, for range checks by the caller.
std::optional<int64_t> as_int64(const GgufValue& v) {
  if (is_signed(v.type)) return std::get<int64_t>(v.scalar);
  if (is_unsigned(v.type) && std::get<uint64_t>(v.scalar) <= uint64_t(std::numeric_limits<int64_t>::max()))
    return int64_t(std::get<uint64_t>(v.scalar));
  return std::nullopt;
}

double as_double(const GgufValue& v) {
  if (is_unsigned(v.type)) return double(std::get<uint64_t>(v.scalar));
  if (is_signed(v.type)) return double(std::get<int64_t>(v.scalar));
  return std::get<double>(v.scalar);
}

const GgufValue* array_of(const GgufFile& f, std::string_view key, bool (*elem_ok)(VT), std::string_view want) {
  const GgufValue* v = f.find(key);
  if (!v) return nullptr;
  if (v->type != VT::kArray || !elem_ok(v->array_type)) {
    const std::string got = v->type == VT::kArray ? fmt::format("array of {}", gguf_value_type_name(v->array_type))
                                                  : gguf_value_type_name(v->type);
    throw FormatError(f.path(), fmt::format("key '{}' has type {}, expected an array of {}", key, got, want));
  }
  return v;
}

}  // namespace

// ---- GgufValue ----

std::string gguf_value_type_name(GgufValueType t) {
  static constexpr std::string_view kNames[] = {"u8",  "i8",  "u16",    "i16",   "u32", "i32", "f32",
                                                "bool", "string", "array", "u64", "i64", "f64"};
  if (uint32_t(t) < std::size(kNames)) return std::string(kNames[uint32_t(t)]);
  return fmt::format("type {}", uint32_t(t));
}

namespace {
GgufValue make(VT t, std::variant<uint64_t, int64_t, double, bool, std::string> s) {
  GgufValue v;
  v.type = t;
  v.scalar = std::move(s);
  return v;
}
}  // namespace

GgufValue GgufValue::u8(uint8_t v) { return make(VT::kU8, uint64_t(v)); }
GgufValue GgufValue::i8(int8_t v) { return make(VT::kI8, int64_t(v)); }
GgufValue GgufValue::u16(uint16_t v) { return make(VT::kU16, uint64_t(v)); }
GgufValue GgufValue::i16(int16_t v) { return make(VT::kI16, int64_t(v)); }
GgufValue GgufValue::u32(uint32_t v) { return make(VT::kU32, uint64_t(v)); }
GgufValue GgufValue::i32(int32_t v) { return make(VT::kI32, int64_t(v)); }
GgufValue GgufValue::u64(uint64_t v) { return make(VT::kU64, v); }
GgufValue GgufValue::i64(int64_t v) { return make(VT::kI64, v); }
GgufValue GgufValue::f32(float v) { return make(VT::kF32, double(v)); }
GgufValue GgufValue::f64(double v) { return make(VT::kF64, v); }
GgufValue GgufValue::boolean(bool v) { return make(VT::kBool, v); }
GgufValue GgufValue::string(std::string v) { return make(VT::kString, std::move(v)); }

GgufValue GgufValue::array_of(GgufValueType element_type, std::vector<GgufValue> elements) {
  GgufValue v;
  v.type = VT::kArray;
  v.array_type = element_type;
  v.array = std::move(elements);
  return v;
}

GgufValue GgufValue::string_array(std::vector<std::string> v) {
  std::vector<GgufValue> e;
  e.reserve(v.size());
  for (auto& s : v) e.push_back(string(std::move(s)));
  return array_of(VT::kString, std::move(e));
}

GgufValue GgufValue::f32_array(std::span<const float> v) {
  std::vector<GgufValue> e;
  e.reserve(v.size());
  for (float x : v) e.push_back(f32(x));
  return array_of(VT::kF32, std::move(e));
}

GgufValue GgufValue::i32_array(std::span<const int32_t> v) {
  std::vector<GgufValue> e;
  e.reserve(v.size());
  for (int32_t x : v) e.push_back(i32(x));
  return array_of(VT::kI32, std::move(e));
}

uint64_t GgufTensorInfo::n_elements() const {
  return std::accumulate(ne.begin(), ne.end(), uint64_t(1), std::multiplies<>());
}

// ---- GgufFile ----

GgufFile::~GgufFile() = default;

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  f->map_ = std::make_unique<MappedFile>(path);
  f->base_ = f->map_->data();
  f->size_ = f->map_->size();

  GgufParser p(f->map_->bytes(), f->path_);
  uint64_t n_tensors = 0, n_kv = 0;
  p.read_header(f->version_, n_tensors, n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) p.read_kv(f->kv_);
  f->tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t = p.read_tensor_info();
    if (!f->tensor_index_.emplace(t.name, f->tensors_.size()).second) p.fail("duplicate tensor name '{}'", t.name);
    f->tensors_.push_back(std::move(t));
  }
  f->alignment_ = read_alignment(*f, p);
  const auto data_start = checked_align_up(p.pos(), f->alignment_);
  if (!data_start) p.fail("the data section offset overflows with alignment {}", f->alignment_);
  place_tensors(f->tensors_, *data_start, f->alignment_, f->size_, p);
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = kv_.find(std::string(key));
  return it == kv_.end() ? nullptr : &it->second;
}

std::optional<uint64_t> GgufFile::get_uint(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (is_unsigned(v->type)) return std::get<uint64_t>(v->scalar);
  if (is_signed(v->type)) {
    const int64_t i = std::get<int64_t>(v->scalar);
    if (i < 0) throw FormatError(path_, fmt::format("key '{}' = {} is negative, expected an unsigned value", key, i));
    return uint64_t(i);
  }
  throw FormatError(path_, fmt::format("key '{}' has type {}, expected an integer type", key,
                                       gguf_value_type_name(v->type)));
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!is_unsigned(v->type) && !is_signed(v->type) && !is_float(v->type))
    throw FormatError(path_, fmt::format("key '{}' has type {}, expected a numeric type", key,
                                         gguf_value_type_name(v->type)));
  return as_double(*v);
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  return typed<std::string>(*this, key, VT::kString, find(key));
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  return typed<bool>(*this, key, VT::kBool, find(key));
}

std::vector<std::string> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* v = array_of(*this, key, [](VT t) { return t == VT::kString; }, "string");
  std::vector<std::string> out;
  if (!v) return out;
  out.reserve(v->array.size());
  for (const auto& e : v->array) out.push_back(std::get<std::string>(e.scalar));
  return out;
}

std::vector<float> GgufFile::get_f32_array(std::string_view key) const {
  const GgufValue* v = array_of(
      *this, key, [](VT t) { return is_float(t) || is_signed(t) || is_unsigned(t); }, "numbers");
  std::vector<float> out;
  if (!v) return out;
  out.reserve(v->array.size());
  for (const auto& e : v->array) out.push_back(float(as_double(e)));
  return out;
}

std::vector<int32_t> GgufFile::get_i32_array(std::string_view key) const {
  const GgufValue* v = array_of(*this, key, [](VT t) { return is_signed(t) || is_unsigned(t); }, "integers");
  std::vector<int32_t> out;
  if (!v) return out;
  out.reserve(v->array.size());
  for (size_t i = 0; i < v->array.size(); ++i) {
    const auto x = as_int64(v->array[i]);
    if (!x || *x < std::numeric_limits<int32_t>::min() || *x > std::numeric_limits<int32_t>::max())
      throw FormatError(path_, fmt::format("key '{}': element {} does not fit in an i32", key, i));
    out.push_back(int32_t(*x));
  }
  return out;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> GgufFile::tensor_data(const GgufTensorInfo& t) const {
  BITLM_ASSERT(t.offset <= size_ && t.n_bytes <= size_ - t.offset);  // a GgufTensorInfo of this file
  return {base_ + t.offset, size_t(t.n_bytes)};
}

// ---- GgufWriter ----

namespace {

// Range of each integer type, to refuse a value the file could not hold.
bool fits(const GgufValue& v) {
  switch (v.type) {
    case VT::kU8: return std::get<uint64_t>(v.scalar) <= UINT8_MAX;
    case VT::kU16: return std::get<uint64_t>(v.scalar) <= UINT16_MAX;
    case VT::kU32: return std::get<uint64_t>(v.scalar) <= UINT32_MAX;
    case VT::kI8: return std::get<int64_t>(v.scalar) >= INT8_MIN && std::get<int64_t>(v.scalar) <= INT8_MAX;
    case VT::kI16: return std::get<int64_t>(v.scalar) >= INT16_MIN && std::get<int64_t>(v.scalar) <= INT16_MAX;
    case VT::kI32: return std::get<int64_t>(v.scalar) >= INT32_MIN && std::get<int64_t>(v.scalar) <= INT32_MAX;
    default: return true;
  }
}

bool holds_matching_alternative(const GgufValue& v) {
  if (is_unsigned(v.type)) return std::holds_alternative<uint64_t>(v.scalar);
  if (is_signed(v.type)) return std::holds_alternative<int64_t>(v.scalar);
  if (is_float(v.type)) return std::holds_alternative<double>(v.scalar);
  if (v.type == VT::kBool) return std::holds_alternative<bool>(v.scalar);
  if (v.type == VT::kString) return std::holds_alternative<std::string>(v.scalar);
  return v.type == VT::kArray;
}

void check_value(const GgufValue& v, std::string_view key, int depth) {
  if (!is_known_type(uint32_t(v.type)) || !holds_matching_alternative(v) || !fits(v))
    throw UserError(fmt::format("GGUF writer: key '{}': a {} value that the type cannot hold", key,
                                gguf_value_type_name(v.type)));
  if (v.type != VT::kArray) return;
  if (depth >= kMaxArrayDepth) throw UserError(fmt::format("GGUF writer: key '{}': arrays nested too deep", key));
  for (const auto& e : v.array) {
    if (e.type != v.array_type)
      throw UserError(fmt::format("GGUF writer: key '{}': a {} element in an array of {}", key,
                                  gguf_value_type_name(e.type), gguf_value_type_name(v.array_type)));
    check_value(e, key, depth + 1);
  }
}

template <class T>
void put(AtomicFileWriter& w, T v) {
  w.write(&v, sizeof(T));
}

void put_string(AtomicFileWriter& w, std::string_view s) {
  put<uint64_t>(w, s.size());
  w.write(s.data(), s.size());
}

void put_value(AtomicFileWriter& w, const GgufValue& v) {
  switch (v.type) {
    case VT::kU8: put<uint8_t>(w, uint8_t(std::get<uint64_t>(v.scalar))); break;
    case VT::kI8: put<int8_t>(w, int8_t(std::get<int64_t>(v.scalar))); break;
    case VT::kU16: put<uint16_t>(w, uint16_t(std::get<uint64_t>(v.scalar))); break;
    case VT::kI16: put<int16_t>(w, int16_t(std::get<int64_t>(v.scalar))); break;
    case VT::kU32: put<uint32_t>(w, uint32_t(std::get<uint64_t>(v.scalar))); break;
    case VT::kI32: put<int32_t>(w, int32_t(std::get<int64_t>(v.scalar))); break;
    case VT::kU64: put<uint64_t>(w, std::get<uint64_t>(v.scalar)); break;
    case VT::kI64: put<int64_t>(w, std::get<int64_t>(v.scalar)); break;
    case VT::kF32: put<float>(w, float(std::get<double>(v.scalar))); break;
    case VT::kF64: put<double>(w, std::get<double>(v.scalar)); break;
    case VT::kBool: put<uint8_t>(w, std::get<bool>(v.scalar) ? 1 : 0); break;
    case VT::kString: put_string(w, std::get<std::string>(v.scalar)); break;
    case VT::kArray:
      put<uint32_t>(w, uint32_t(v.array_type));
      put<uint64_t>(w, v.array.size());
      for (const auto& e : v.array) put_value(w, e);
      break;
  }
}

void pad_to(AtomicFileWriter& w, uint64_t alignment) {
  w.write_zeros(*checked_align_up(w.bytes_written(), alignment) - w.bytes_written());
}

}  // namespace

void GgufWriter::set(std::string key, GgufValue value) {
  for (auto& [k, v] : kv_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  kv_.emplace_back(std::move(key), std::move(value));
}

uint64_t GgufWriter::check_tensor(const std::string& name, const std::vector<uint64_t>& ne,
                                  uint32_t ggml_type) const {
  if (name.empty() || name.size() > kMaxNameBytes)
    throw UserError(fmt::format("GGUF writer: a tensor name of {} bytes", name.size()));
  for (const auto& t : tensors_)
    if (t.name == name) throw UserError(fmt::format("GGUF writer: duplicate tensor name '{}'", name));
  if (ne.empty() || ne.size() > kMaxDims || std::count(ne.begin(), ne.end(), 0))
    throw UserError(fmt::format("GGUF writer: tensor '{}': bad shape {}", name, shape_str(ne)));
  uint64_t n = 1;
  for (uint64_t d : ne) {
    const auto prod = checked_mul(n, d);
    if (!prod) throw UserError(fmt::format("GGUF writer: tensor '{}': shape {} overflows", name, shape_str(ne)));
    n = *prod;
  }
  const auto traits = ggml_type_traits(ggml_type);
  if (!traits) throw UserError(fmt::format("GGUF writer: tensor '{}': unknown ggml type {}", name, ggml_type));
  const auto n_bytes = ggml_tensor_bytes(ggml_type, ne[0], n);
  if (!n_bytes)
    throw UserError(fmt::format("GGUF writer: tensor '{}': {} {} has an invalid size", name, traits->name, shape_str(ne)));
  return *n_bytes;
}

namespace {

void check_produced_size(const std::string& name, uint32_t type, const std::vector<uint64_t>& ne, uint64_t want,
                         uint64_t got) {
  if (got != want)
    throw UserError(fmt::format("GGUF writer: tensor '{}': {} bytes of data, but {} {} needs {}", name, got,
                                ggml_type_traits(type)->name, shape_str(ne), want));
}

}  // namespace

void GgufWriter::add_tensor(std::string name, std::vector<uint64_t> ne, uint32_t ggml_type,
                            std::vector<uint8_t> data) {
  const uint64_t n_bytes = check_tensor(name, ne, ggml_type);
  check_produced_size(name, ggml_type, ne, n_bytes, data.size());
  tensors_.push_back({std::move(name), std::move(ne), ggml_type, n_bytes, std::move(data), nullptr});
}

void GgufWriter::add_tensor(std::string name, std::vector<uint64_t> ne, uint32_t ggml_type, Producer produce) {
  const uint64_t n_bytes = check_tensor(name, ne, ggml_type);
  tensors_.push_back({std::move(name), std::move(ne), ggml_type, n_bytes, {}, std::move(produce)});
}

void GgufWriter::write(const std::string& path, uint64_t alignment) const {
  if (!std::has_single_bit(alignment) || alignment > UINT32_MAX)
    throw UserError(fmt::format("GGUF writer: {}: alignment {} is not a power of two", path, alignment));
  auto kv = kv_;
  const auto it = std::find_if(kv.begin(), kv.end(), [](const auto& p) { return p.first == kAlignmentKey; });
  if (it != kv.end()) {
    if (it->second.type != VT::kU32 || std::get<uint64_t>(it->second.scalar) != alignment)
      throw UserError(fmt::format("GGUF writer: {}: key '{}' disagrees with the alignment {} to write", path,
                                  kAlignmentKey, alignment));
  } else if (alignment != kDefaultAlignment) {
    kv.emplace_back(kAlignmentKey, GgufValue::u32(uint32_t(alignment)));
  }
  for (const auto& [k, v] : kv) {
    if (k.empty() || k.size() > kMaxNameBytes)  // the reader would refuse it
      throw UserError(fmt::format("GGUF writer: {}: a metadata key of {} bytes", path, k.size()));
    check_value(v, k, 0);
  }

  AtomicFileWriter w(path);
  w.write("GGUF", 4);
  put<uint32_t>(w, 3);
  put<uint64_t>(w, tensors_.size());
  put<uint64_t>(w, kv.size());
  for (const auto& [k, v] : kv) {
    put_string(w, k);
    put<uint32_t>(w, uint32_t(v.type));
    put_value(w, v);
  }
  uint64_t offset = 0;  // relative to the data section; each tensor starts aligned, as gguf-py does
  for (const auto& t : tensors_) {
    put_string(w, t.name);
    put<uint32_t>(w, uint32_t(t.ne.size()));
    for (uint64_t d : t.ne) put<uint64_t>(w, d);
    put<uint32_t>(w, t.type);
    put<uint64_t>(w, offset);
    offset = *checked_align_up(offset + t.n_bytes, alignment);
  }
  pad_to(w, alignment);
  for (const auto& t : tensors_) {
    if (t.produce) {
      const std::vector<uint8_t> data = t.produce();
      check_produced_size(t.name, t.type, t.ne, t.n_bytes, data.size());
      w.write(data);
    } else {
      w.write(t.data);
    }
    pad_to(w, alignment);
  }
  w.commit();
}

}  // namespace bitlm
