// io/safetensors.h — safetensors reader (mmap, header validated) and writer (atomic).
//
// Layout: u64 LE header length N; N bytes of JSON {"<name>": {"dtype": "F32", "shape": [d0, d1, ...],
// "data_offsets": [begin, end]}, ..., "__metadata__": {"<key>": "<string>"}}; then the data
// section, offsets relative to its start (8 + N). Shapes are row-major with shape[0] outermost (the
// PyTorch order, the reverse of GGUF's ne[]). Data are little-endian and not necessarily aligned:
// read elements with memcpy (read_f32 does).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bitlm {

class MappedFile;

enum class SafetensorsDtype : uint8_t { kF32, kF16, kBF16, kI8, kI32, kI64, kU8 };

std::string_view safetensors_dtype_name(SafetensorsDtype d);  // "F32", as in the header
uint64_t safetensors_dtype_bytes(SafetensorsDtype d);
std::optional<SafetensorsDtype> safetensors_dtype_from_name(std::string_view name);

struct SafetensorsTensor {
  SafetensorsDtype dtype = SafetensorsDtype::kF32;
  std::vector<uint64_t> shape;     // empty = scalar (one element)
  std::span<const uint8_t> bytes;  // validated: shape x dtype size == bytes.size()
  uint64_t n_elements() const;
};

class SafetensorsFile {
 public:
  // Opens and validates; throws IoError (cannot open) or FormatError naming the path and field.
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::map<std::string, SafetensorsTensor, std::less<>>& tensors() const { return tensors_; }
  const SafetensorsTensor* find(std::string_view name) const;
  // Throws FormatError naming the path and tensor when absent.
  const SafetensorsTensor& tensor(std::string_view name) const;
  // F32, F16 or BF16 widened to float; throws FormatError for other dtypes.
  std::vector<float> read_f32(std::string_view name) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  std::unique_ptr<MappedFile> map_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, SafetensorsTensor, std::less<>> tensors_;
};

// A checkpoint's tensors: the shards a model.safetensors.index.json names, or one model.safetensors.
// Every shard is opened and validated up front, so a missing shard (IoError naming it) or an index
// entry whose shard lacks the tensor (FormatError naming the index, the tensor and the shard) fails
// before anything is written.
class SafetensorsSet {
 public:
  // `dir` holds model.safetensors.index.json (preferred) or model.safetensors.
  static SafetensorsSet open_dir(const std::string& dir);
  SafetensorsSet(SafetensorsSet&&) noexcept;
  SafetensorsSet& operator=(SafetensorsSet&&) noexcept;
  ~SafetensorsSet();

  const std::string& source() const { return source_; }  // the index or the single file
  std::vector<std::string> names() const;                 // sorted
  const SafetensorsTensor* find(std::string_view name) const;
  const SafetensorsTensor& tensor(std::string_view name) const;  // FormatError naming source() if absent
  const std::string& file_of(std::string_view name) const;       // the shard holding it (find() first)

 private:
  SafetensorsSet() = default;
  struct Where { const SafetensorsFile* file; const SafetensorsTensor* tensor; };
  std::string source_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Where, std::less<>> index_;
};

class SafetensorsWriter {
 public:
  void set_metadata(std::string key, std::string value);
  // `bytes` is copied; its size must be shape x dtype size. Throws UserError naming the tensor on a
  // duplicate or reserved name ("__metadata__") or a size mismatch.
  void add(std::string name, SafetensorsDtype dtype, std::vector<uint64_t> shape, std::span<const uint8_t> bytes);
  void add_f32(std::string name, std::vector<uint64_t> shape, std::span<const float> values);
  // Tensors are stored in the order added; the header is space-padded so data start 8-aligned.
  void write(const std::string& path) const;

 private:
  struct Tensor { std::string name; SafetensorsDtype dtype; std::vector<uint64_t> shape; std::vector<uint8_t> data; };
  std::map<std::string, std::string> metadata_;
  std::vector<Tensor> tensors_;
};

}  // namespace bitlm
