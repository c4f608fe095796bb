// train/data.cpp — see data.h.
#include "train/data.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/atomic_write.h"
#include "io/checksum.h"

namespace bitlm {
namespace {

constexpr char kMagic[8] = {'B', 'L', 'T', 'O', 'K', 'E', 'N', 'S'};

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

template <typename T>
T get(const std::vector<uint8_t>& in, size_t at) {
  T v;
  std::memcpy(&v, in.data() + at, sizeof(T));
  return v;
}

std::string_view trim_newlines(std::string_view s) {
  while (!s.empty() && (s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

void write_shard(const std::string& path, std::span<const int32_t> tokens, int32_t vocab_size) {
  const uint32_t token_bytes = vocab_size <= 65536 ? 2 : 4;
  std::vector<uint8_t> data;
  data.reserve(tokens.size() * token_bytes);
  for (int32_t t : tokens) {
    if (token_bytes == 2) put(data, uint16_t(t));
    else put(data, uint32_t(t));
  }
  std::vector<uint8_t> out(kMagic, kMagic + 8);
  put(out, uint32_t(1));
  put(out, token_bytes);
  put(out, uint64_t(tokens.size()));
  put(out, uint32_t(vocab_size));
  put(out, uint32_t(0));
  put(out, crc32(data));
  put(out, uint32_t(0));
  out.insert(out.end(), data.begin(), data.end());
  atomic_write_file(path, out);
}

}  // namespace

std::vector<std::string_view> split_documents(std::string_view text) {
  std::vector<std::string_view> docs;
  const bool eot = text.find("<|endoftext|>") != std::string_view::npos;
  size_t start = 0, line = 0;
  auto emit = [&](size_t end) {
    const std::string_view d = trim_newlines(text.substr(start, end - start));
    if (!d.empty()) docs.push_back(d);
  };
  while (line < text.size()) {
    size_t nl = text.find('\n', line);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view l = text.substr(line, nl - line);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    const bool separator = eot ? l == "<|endoftext|>" : l.find_first_not_of(" \t") == std::string_view::npos;
    if (separator) {
      emit(line);
      start = std::min(nl + 1, text.size());
    }
    line = nl + 1;
  }
  if (start < text.size()) emit(text.size());
  return docs;
}

namespace {

std::string shard_path(const std::string& prefix, int64_t i) { return fmt::format("{}_{:04d}.bin", prefix, i); }

// The shards of one prepare_shards call, staged under "<prefix>.tmp<pid>" until all are written,
// so a crash or an error never leaves a mix of new and old shards under <prefix> (the trainer
// reads every consecutive shard from _0000). commit() swaps them in: first the old _0000 goes (the
// set reads as absent, never mixed), then the old shards after it, then the new ones, _0000 last.
// Destroyed without commit(), it removes what it staged.
class ShardSet {
 public:
  explicit ShardSet(std::string prefix)
      : prefix_(std::move(prefix)), staged_(fmt::format("{}.tmp{}", prefix_, ::getpid())) {}
  ~ShardSet() {
    for (int64_t i = 0; i < n_; ++i) std::filesystem::remove(shard_path(staged_, i), ignored_);
  }
  ShardSet(const ShardSet&) = delete;
  ShardSet& operator=(const ShardSet&) = delete;

  void add(std::span<const int32_t> tokens, int32_t vocab_size) {
    write_shard(shard_path(staged_, n_), tokens, vocab_size);
    ++n_;
  }
  int64_t size() const { return n_; }

  void commit() {
    for (int64_t i = 0; std::filesystem::exists(shard_path(prefix_, i)); ++i) remove_or_throw(shard_path(prefix_, i));
    for (int64_t i = n_ - 1; i >= 0; --i) {
      std::error_code ec;
      std::filesystem::rename(shard_path(staged_, i), shard_path(prefix_, i), ec);
      if (ec) throw IoError(fmt::format("{}: cannot rename the new shard into place: {}", shard_path(prefix_, i), ec.message()));
    }
    n_ = 0;
  }

 private:
  static void remove_or_throw(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::remove(path, ec) && ec)
      throw IoError(fmt::format("{}: cannot remove the old shard: {}", path, ec.message()));
  }
  std::string prefix_, staged_;
  int64_t n_ = 0;
  std::error_code ignored_;
};

}  // namespace

PrepareStats prepare_shards(std::string_view text, const EncodeFn& encode, int32_t eos,
                            int32_t vocab_size, const std::string& out_prefix, int64_t shard_tokens) {
  BITLM_CHECK(eos >= 0 && eos < vocab_size, "the tokenizer has no EOS token (needed between documents)");
  BITLM_CHECK(shard_tokens > 0, "shard size must be positive");
  PrepareStats st;
  ShardSet shards(out_prefix);
  std::vector<int32_t> buf;
  auto flush = [&] {
    shards.add(buf, vocab_size);
    st.n_tokens += int64_t(buf.size());
    buf.clear();
  };
  for (std::string_view doc : split_documents(text)) {
    std::vector<int32_t> ids = encode(doc);
    ids.push_back(eos);
    ++st.n_documents;
    for (int32_t id : ids) {
      BITLM_ASSERT(id >= 0 && id < vocab_size);
      buf.push_back(id);
      if (int64_t(buf.size()) == shard_tokens) flush();
    }
  }
  if (!buf.empty() || shards.size() == 0) flush();
  st.n_shards = shards.size();
  shards.commit();
  return st;
}

Shard read_shard(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError(fmt::format("{}: cannot open token shard", path));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() < kShardHeaderBytes || std::memcmp(bytes.data(), kMagic, 8) != 0)
    throw FormatError(path, "not a bitlm token shard (bad magic; make one with `bitlm data prepare`)");
  if (get<uint32_t>(bytes, 8) != 1) throw FormatError(path, fmt::format("shard version {} is not 1", get<uint32_t>(bytes, 8)));
  const uint32_t token_bytes = get<uint32_t>(bytes, 12);
  if (token_bytes != 2 && token_bytes != 4) throw FormatError(path, fmt::format("token_bytes = {} (must be 2 or 4)", token_bytes));
  const uint64_t n = get<uint64_t>(bytes, 16);
  if (n > (bytes.size() - kShardHeaderBytes) / token_bytes || kShardHeaderBytes + n * token_bytes != bytes.size())
    throw FormatError(path, fmt::format("n_tokens = {} does not match the file size {}", n, bytes.size()));
  const uint32_t vocab_size = get<uint32_t>(bytes, 24);
  if (vocab_size == 0 || vocab_size > uint32_t(INT32_MAX))
    throw FormatError(path, fmt::format("vocab_size = {} is out of range (1 to 2^31-1)", vocab_size));
  Shard s{path, int32_t(vocab_size), {}};
  const std::span<const uint8_t> data(bytes.data() + kShardHeaderBytes, size_t(n * token_bytes));
  if (crc32(data) != get<uint32_t>(bytes, 32)) throw FormatError(path, "checksum mismatch: the shard is corrupt");
  s.tokens.resize(size_t(n));
  for (size_t i = 0; i < n; ++i) {
    const uint32_t v = token_bytes == 2 ? get<uint16_t>(bytes, kShardHeaderBytes + 2 * i)
                                        : get<uint32_t>(bytes, kShardHeaderBytes + 4 * i);
    if (v >= uint32_t(s.vocab_size))
      throw FormatError(path, fmt::format("token {} = {} is outside the vocab ({})", i, v, s.vocab_size));
    s.tokens[i] = int32_t(v);
  }
  return s;
}

std::vector<std::string> list_shards(const std::string& prefix) {
  std::vector<std::string> paths;
  for (int i = 0;; ++i) {
    std::string p = fmt::format("{}_{:04d}.bin", prefix, i);
    if (!std::filesystem::exists(p)) break;
    paths.push_back(std::move(p));
  }
  BITLM_CHECK(!paths.empty(), "no token shards '{}_0000.bin' (run `bitlm data prepare` first)", prefix);
  return paths;
}

ShardLoader::ShardLoader(const std::string& prefix, int64_t seq_len)
    : paths_(list_shards(prefix)), seq_len_(seq_len) {
  load(0);
  vocab_size_ = shard_.vocab_size;
}

void ShardLoader::load(int64_t shard) {
  if (loaded_ == shard) return;
  shard_ = read_shard(paths_[size_t(shard)]);
  BITLM_CHECK(loaded_ < 0 || shard_.vocab_size == vocab_size_, "{}: vocab size {} differs from the first shard's {}",
              shard_.path, shard_.vocab_size, vocab_size_);
  loaded_ = shard;
}

void ShardLoader::seek(Position p) {
  BITLM_CHECK(p.shard >= 0 && p.shard < int64_t(paths_.size()) && p.offset >= 0,
              "data position (shard {}, offset {}) is outside the {} shards", p.shard, p.offset, paths_.size());
  pos_ = p;
}

const int32_t* ShardLoader::window() {
  for (int64_t tries = 0; tries <= int64_t(paths_.size()); ++tries) {
    load(pos_.shard);
    if (pos_.offset + seq_len_ + 1 <= int64_t(shard_.tokens.size())) {
      const int32_t* w = shard_.tokens.data() + pos_.offset;
      pos_.offset += seq_len_;
      return w;
    }
    pos_.offset = 0;
    if (++pos_.shard == int64_t(paths_.size())) {
      pos_.shard = 0;
      ++pos_.epoch;
    }
  }
  throw UserError(fmt::format("no shard of '{}' holds seq_len + 1 = {} tokens", paths_[0], seq_len_ + 1));
}

void ShardLoader::next(int64_t n_seq, std::span<int32_t> inputs, std::span<int32_t> targets) {
  BITLM_ASSERT(int64_t(inputs.size()) == n_seq * seq_len_ && targets.size() == inputs.size());
  for (int64_t s = 0; s < n_seq; ++s) {
    const int32_t* w = window();
    std::copy(w, w + seq_len_, inputs.begin() + s * seq_len_);
    std::copy(w + 1, w + seq_len_ + 1, targets.begin() + s * seq_len_);
  }
}

void ShardLoader::skip(int64_t n_seq) {
  for (int64_t s = 0; s < n_seq; ++s) window();
}

}  // namespace bitlm
