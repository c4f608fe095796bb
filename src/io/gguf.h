// io/gguf.h — GGUF v3 container: reader (mmap, every offset/size/count/type validated with
// overflow-safe arithmetic before use) and writer. No model knowledge: the schema lives in model/.
//
// Layout (little-endian): magic "GGUF", u32 version (2 or 3 read, 3 written), u64 n_tensors,
// u64 n_kv; n_kv × (string key, u32 value type, value); n_tensors × (string name, u32 n_dims,
// u64 ne[n_dims] (ne[0] = innermost, contiguous), u32 ggml type, u64 offset relative to the data
// section); data section starts at the next multiple of general.alignment (default 32).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bitlm {

class MappedFile;

enum class GgufValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

// One metadata value. Arrays hold their elements in `array` (element type in array_type);
// scalars are widened into the matching variant alternative.
struct GgufValue {
  GgufValueType type = GgufValueType::kU32;
  std::variant<uint64_t, int64_t, double, bool, std::string> scalar;
  GgufValueType array_type = GgufValueType::kU32;
  std::vector<GgufValue> array;  // only for kArray (strings of a vocab included)

  static GgufValue u8(uint8_t v);
  static GgufValue i8(int8_t v);
  static GgufValue u16(uint16_t v);
  static GgufValue i16(int16_t v);
  static GgufValue u32(uint32_t v);
  static GgufValue i32(int32_t v);
  static GgufValue u64(uint64_t v);
  static GgufValue i64(int64_t v);
  static GgufValue f32(float v);
  static GgufValue f64(double v);
  static GgufValue boolean(bool v);
  static GgufValue string(std::string v);
  static GgufValue string_array(std::vector<std::string> v);
  static GgufValue f32_array(std::span<const float> v);
  static GgufValue i32_array(std::span<const int32_t> v);
  // Any element type, nested arrays included; every element's type must be `element_type`.
  static GgufValue array_of(GgufValueType element_type, std::vector<GgufValue> elements);
};

// "u32", "string", ... for messages; "type <id>" for an id outside the enum.
std::string gguf_value_type_name(GgufValueType t);

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  // ne[0] innermost (columns of a weight matrix), as ggml
  uint32_t type = 0;         // ggml type id, raw (ids 36-39 are ambiguous: see ggml_types.h)
  uint64_t offset = 0;       // absolute offset in the file
  uint64_t n_bytes = 0;      // validated: [offset, offset+n_bytes) lies inside the file
  uint64_t n_elements() const;
};

class GgufFile {
 public:
  // Opens and validates `path`; throws FormatError naming the path and the bad field.
  static std::unique_ptr<GgufFile> open(const std::string& path);
  ~GgufFile();

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t file_size() const { return size_; }
  uint64_t alignment() const { return alignment_; }

  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;
  // Typed getters: nullopt (arrays: empty) when the key is absent; FormatError naming the path, the
  // key and both types when it has the wrong type (or a negative value for get_uint).
  std::optional<uint64_t> get_uint(std::string_view key) const;  // any integer type >= 0
  std::optional<double> get_float(std::string_view key) const;    // any numeric type
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::vector<std::string> get_string_array(std::string_view key) const;  // empty if absent
  std::vector<float> get_f32_array(std::string_view key) const;
  std::vector<int32_t> get_i32_array(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  std::span<const uint8_t> tensor_data(const GgufTensorInfo& t) const;

 private:
  GgufFile() = default;
  std::string path_;
  uint32_t version_ = 0;
  uint64_t size_ = 0, alignment_ = 32;
  const uint8_t* base_ = nullptr;
  std::unique_ptr<MappedFile> map_;  // owns base_
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

// Writes a GGUF v3 file atomically (temp file, fsync, rename).
class GgufWriter {
 public:
  // Replaces an existing key (the first-set position is kept).
  void set(std::string key, GgufValue value);
  // ne[0] innermost. `data` is copied; its size must match the type's size for ne. Throws UserError
  // naming the tensor on a duplicate name, an unknown type or a size mismatch.
  void add_tensor(std::string name, std::vector<uint64_t> ne, uint32_t ggml_type,
                  std::vector<uint8_t> data);
  // A streamed tensor: `produce` is called once, when write() reaches the tensor (in the order
  // added), and its bytes are written and freed at once, so a writer holds one tensor at a time
  // (bitlm convert: the output model is never in memory). Checked as above when added; a produced
  // size that differs is a UserError naming the tensor, and nothing is left at the path.
  using Producer = std::function<std::vector<uint8_t>()>;
  void add_tensor(std::string name, std::vector<uint64_t> ne, uint32_t ggml_type, Producer produce);
  // Alignment: a power of two; written as general.alignment (u32) when it is not 32. Throws
  // UserError on an inconsistent value (e.g. a u8 holding 300) naming the key, IoError on I/O.
  void write(const std::string& path, uint64_t alignment = 32) const;

 private:
  std::vector<std::pair<std::string, GgufValue>> kv_;
  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    uint64_t n_bytes;
    std::vector<uint8_t> data;  // empty when streamed
    Producer produce;           // set when streamed
  };
  uint64_t check_tensor(const std::string& name, const std::vector<uint64_t>& ne, uint32_t ggml_type) const;
  std::vector<Tensor> tensors_;
};

}  // namespace bitlm
