// tests/fuzz/tokenizer_json_fuzz.cpp — a Hugging Face tokenizer folder as `bitlm convert` reads it
// (read_hf_tokenizer): the input is split at its first three NUL bytes (JSON text holds none) into
// tokenizer.json, tokenizer_config.json, generation_config.json and, last so that it may hold NULs,
// a SentencePiece tokenizer.model; an empty part is a file that is absent. Whatever loads is
// encoded and decoded (fuzz_tokenizer.h), its chat template's family detected, and a byte-level
// BPE vocabulary with distinct token texts must survive `export --format hf`'s writer:
// hf_tokenizer_json read back gives the same tokens, merges and pre-tokenizer (up to 65536 tokens).
// Seeds: the folders under tests/data/hf/ and the writer's output for fuzz_seeds' vocabularies.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unordered_set>

#include "fuzz_tokenizer.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/hf_tokenizer.h"

namespace fs = std::filesystem;

namespace {

constexpr const char* kFiles[] = {"tokenizer.json", "tokenizer_config.json", "generation_config.json",
                                  "tokenizer.model"};

// A folder of this process's own, in memory where /dev/shm exists, removed at exit.
const fs::path& folder() {
  static const fs::path dir = [] {
    const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    fs::path d = base / ("bitlm-tokenizer-json-fuzz-" + std::to_string(getpid()));
    fs::create_directories(d);
    std::atexit([] { std::error_code ec; fs::remove_all(folder(), ec); });
    return d;
  }();
  return dir;
}

// Writes or (empty) removes one file of the folder; false if it could not be written.
bool put(const std::string& name, std::string_view content) {
  const fs::path p = folder() / name;
  if (content.empty()) {
    std::error_code ec;
    fs::remove(p, ec);
    return true;
  }
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), std::streamsize(content.size()));
  return bool(out);
}

bool distinct_texts(const bitlm::Vocab& v) {
  std::unordered_set<std::string_view> seen;
  for (const std::string& t : v.tokens)
    if (!seen.insert(t).second) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bitlm;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (size_t i = 0; i < 4; ++i) {
    const size_t end = i < 3 ? rest.find('\0') : std::string_view::npos;
    if (!put(kFiles[i], rest.substr(0, end))) return 0;
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  }
  Vocab vocab;
  bool loaded = false;
  fuzz::expect_user_error([&] {
    const HfTokenizer hf = read_hf_tokenizer(folder().string());
    (void)detect_chat_family(hf.chat_template);
    fuzz::exercise_tokenizer(*Tokenizer::from_vocab(hf.vocab));
    vocab = hf.vocab;
    loaded = true;
  });
  // A small input can claim a token id up to 2^24 (the holes are filled): the write-and-read-back
  // of such a vocabulary took 30-50 s under ASan (208k tokens), past the smoke's 10 s per input.
  if (!loaded || vocab.model != "gpt2" || vocab.tokens.size() > 65536 || !distinct_texts(vocab)) return 0;
  // What loaded is valid: writing it and reading it back may not fail.
  try {
    for (size_t i = 1; i < 4; ++i) FUZZ_CHECK(put(kFiles[i], ""));
    FUZZ_CHECK(put(kFiles[0], hf_tokenizer_json(vocab)));
    const Vocab back = read_hf_tokenizer(folder().string()).vocab;
    FUZZ_CHECK(back.tokens == vocab.tokens);
    FUZZ_CHECK(back.merges == vocab.merges);
    FUZZ_CHECK(back.pre == vocab.pre);
  } catch (const UserError& e) {
    std::fprintf(stderr, "tokenizer.json written from a loaded vocabulary does not load: %s\n", e.what());
    std::abort();
  }
  return 0;
}
