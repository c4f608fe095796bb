// tests/fuzz/fuzz_seeds.cpp — writes every fuzz target's seed corpus, DIR/<target>/, from the
// project's own writers (GgufWriter, SafetensorsWriter, write_vocab, prepare_shards,
// save_checkpoint, write_synth_model) and its committed configs, and checks that each seed is
// accepted by the reader it seeds (a seed the reader refuses would only teach the fuzzer errors).
// Usage: fuzz_seeds DIR (run by the build: target fuzz_corpora).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ggml_types.h"
#include "fuzz_models.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "model/synth.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/tiktoken.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/data.h"

namespace fs = std::filesystem;
using namespace bitlm;
using namespace std::literals;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& p, std::string_view prefix, std::string_view body) {
  std::ofstream out(p, std::ios::binary);
  out << prefix << body;
  if (!out) throw IoError("cannot write " + p.string());
}

// A file written by a writer, prefixed with selector byte(s) for targets that take one.
void prefix_file(const fs::path& p, std::string_view prefix) { write_file(p, prefix, read_file(p)); }

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 37);
  return v;
}

void write_gguf_seeds(const fs::path& dir) {
  {  // every value type, tensors of several types
    GgufWriter w;
    w.set("general.architecture", GgufValue::string("bitnet"));
    w.set("u8", GgufValue::u8(7));
    w.set("i8", GgufValue::i8(-7));
    w.set("u16", GgufValue::u16(700));
    w.set("i16", GgufValue::i16(-700));
    w.set("u32", GgufValue::u32(70000));
    w.set("i32", GgufValue::i32(-70000));
    w.set("u64", GgufValue::u64(7000000000ull));
    w.set("i64", GgufValue::i64(-7000000000ll));
    w.set("f32", GgufValue::f32(0.5f));
    w.set("f64", GgufValue::f64(-0.25));
    w.set("bool", GgufValue::boolean(true));
    w.set("strings", GgufValue::string_array({"a", "bc", ""}));
    const float f[] = {1.0f, -2.0f};
    w.set("floats", GgufValue::f32_array(f));
    const int32_t i[] = {3, -4, 5};
    w.set("ints", GgufValue::i32_array(i));
    w.set("nested", GgufValue::array_of(GgufValueType::kArray, {GgufValue::i32_array(i), GgufValue::i32_array(i)}));
    w.add_tensor("f32", {4, 2}, kGgmlF32, pattern(32, 1));
    w.add_tensor("f16", {8}, kGgmlF16, pattern(16, 2));
    w.add_tensor("q8_0", {32, 2}, kGgmlQ8_0, pattern(*ggml_tensor_bytes(kGgmlQ8_0, 32, 64), 3));
    w.add_tensor("t2", {128, 2}, kGgmlBitlmT2, pattern(*ggml_tensor_bytes(kGgmlBitlmT2, 128, 256), 4));
    w.write((dir / "types.gguf").string());
  }
  {  // another alignment, a big-block type
    GgufWriter w;
    w.set("general.name", GgufValue::string("aligned"));
    w.add_tensor("q6_k", {256}, kGgmlQ6_K, pattern(*ggml_tensor_bytes(kGgmlQ6_K, 256, 256), 5));
    w.add_tensor("tq2_0", {256}, kGgmlTQ2_0, pattern(*ggml_tensor_bytes(kGgmlTQ2_0, 256, 256), 6));
    w.write((dir / "aligned64.gguf").string(), 64);
  }
  {
    GgufWriter w;
    w.write((dir / "empty.gguf").string());
  }
  for (const auto& e : fs::directory_iterator(dir)) (void)GgufFile::open(e.path().string());
}

void write_safetensors_seeds(const fs::path& dir) {
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  const float f[] = {1.0f, -2.5f, 3.0f, 0.0f, 5.0f, -6.0f};
  w.add_f32("a.weight", {2, 3}, f);
  w.add("b.f16", SafetensorsDtype::kF16, {4}, pattern(8, 1));
  w.add("c.bf16", SafetensorsDtype::kBF16, {2, 2}, pattern(8, 2));
  w.add("d.u8", SafetensorsDtype::kU8, {5}, pattern(5, 3));
  w.add("e.i64", SafetensorsDtype::kI64, {}, pattern(8, 4));
  w.add("f.empty", SafetensorsDtype::kF32, {0, 3}, {});
  w.write((dir / "dtypes.safetensors").string());
  SafetensorsWriter empty;
  empty.write((dir / "empty.safetensors").string());
  for (const auto& e : fs::directory_iterator(dir)) (void)SafetensorsFile::open(e.path().string());
}

Vocab spm_vocab() {
  Vocab v;
  v.model = "llama";
  v.pre = "default";
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.types = {int32_t(TokenType::kUnknown), int32_t(TokenType::kControl), int32_t(TokenType::kControl)};
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(fmt::format("<0x{:02X}>", b));
    v.types.push_back(int32_t(TokenType::kByte));
  }
  for (const char* piece : {"\xe2\x96\x81", "\xe2\x96\x81t", "he", "\xe2\x96\x81the", "o", "w", "or", "ld",
                            "\xe2\x96\x81w", "\xe2\x96\x81wor", "\xe2\x96\x81world", "h", "e", "t", "l", "d", "r"}) {
    v.tokens.push_back(piece);
    v.types.push_back(int32_t(TokenType::kNormal));
  }
  for (size_t i = 0; i < v.tokens.size(); ++i) v.scores.push_back(-float(i));
  v.bos = 1;
  v.eos = 2;
  v.unk = 0;
  return v;
}

void write_vocab_seed(const fs::path& p, const Vocab& v) {
  GgufWriter w;
  write_vocab(v, w);
  w.write(p.string());
  (void)Tokenizer::from_gguf(*GgufFile::open(p.string()));
  prefix_file(p, std::string(1, '\0'));
}

std::string base64(std::string_view in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) n |= uint32_t(uint8_t(in[i + 1])) << 8;
    if (i + 2 < in.size()) n |= uint8_t(in[i + 2]);
    out += a[(n >> 18) & 63];
    out += a[(n >> 12) & 63];
    out += i + 1 < in.size() ? a[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? a[n & 63] : '=';
  }
  return out;
}

void write_vocab_seeds(const fs::path& dir) {
  const std::string text = "the cat sat on the mat. The world is wide; the wind was cold.\n<|endoftext|>\n"
                           "Once upon a time there was a little girl named Lily. She liked the sun.\n";
  BpeTrainOptions o;
  o.vocab_size = 300;
  Vocab llama3 = train_bpe(text, o);  // pre "llama-bpe"
  write_vocab_seed(dir / "bpe_llama3.gguf", llama3);
  Vocab gpt2 = llama3;
  gpt2.pre = "gpt-2";
  write_vocab_seed(dir / "bpe_gpt2.gguf", gpt2);
  write_vocab_seed(dir / "spm.gguf", spm_vocab());
  std::string tk;
  int rank = 0;
  for (int b = 0; b < 256; ++b) tk += base64(std::string(1, char(b))) + " " + std::to_string(rank++) + "\n";
  for (const char* piece : {"th", "he", " t", "the", " the", "in", " w"}) tk += base64(piece) + " " + std::to_string(rank++) + "\n";
  const fs::path p = dir / "tiktoken.model";
  write_file(p, "", tk);
  (void)vocab_from_tiktoken(p.string());
  prefix_file(p, "\x01");
}

// tokenizer_json_fuzz's input: tokenizer.json, tokenizer_config.json, generation_config.json and
// tokenizer.model joined by NULs (an empty part: the file is absent); each seed must load.
void write_tokenizer_json_seed(const fs::path& p, std::initializer_list<std::string_view> parts) {
  std::string joined;
  for (const std::string_view part : parts) (joined += part) += '\0';
  joined.pop_back();
  write_file(p, "", joined);
  const fs::path dir = p.string() + ".dir";
  fs::create_directories(dir);
  const char* names[] = {"tokenizer.json", "tokenizer_config.json", "generation_config.json", "tokenizer.model"};
  size_t i = 0;
  for (const std::string_view part : parts) {
    if (!part.empty()) write_file(dir / names[i], "", part);
    ++i;
  }
  (void)read_hf_tokenizer(dir.string());
  fs::remove_all(dir);
}

void write_tokenizer_json_seeds(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(BITLM_SOURCE_DIR "/tests/data/hf")) {
    if (!e.is_directory()) continue;  // also the fixtures' GGUF files
    const auto part = [&](const char* name) {
      const fs::path p = e.path() / name;
      return fs::exists(p) ? read_file(p) : std::string();
    };
    write_tokenizer_json_seed(dir / fmt::format("hf{:02}", n++),
                              {part("tokenizer.json"), part("tokenizer_config.json"), part("generation_config.json"),
                               part("tokenizer.model")});
  }
  const std::string text = "the cat sat on the mat. The world is wide; the wind was cold.\n<|endoftext|>\n";
  BpeTrainOptions o;
  o.vocab_size = 290;
  Vocab v = train_bpe(text, o);
  v.bos = v.eos = int32_t(v.tokens.size()) - 1;
  for (const char* pre : {"llama-bpe", "gpt-2"}) {
    v.pre = pre;
    write_tokenizer_json_seed(dir / fmt::format("bitlm_{}", pre),
                              {hf_tokenizer_json(v), hf_tokenizer_config_json(v, "{{ chatml }}<|im_start|>", 256)});
  }
}

void write_tokenize_seeds(const fs::path& dir) {
  const char* texts[] = {"Hello world", "Once upon a time, there was a little dog named Max.\n\nThe end.",
                         "  spaces\ttabs\r\nnewlines  ", "numbers 1234567 3.14 and 'quotes' it's we'll",
                         "caf\xc3\xa9 na\xc3\xafve \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 \xe2\x96\x81",
                         "<s>special</s><|endoftext|><|eot_id|><|start_header_id|>user<|end_header_id|>",
                         "\xff\xfe\xc3 broken \x80utf-8"};
  int n = 0;
  for (const char* t : texts)
    for (const uint8_t sel : {0x00, 0x01, 0x02, 0x03, 0x31})  // tokenizer 0..3; BOS + parse_special
      write_file(dir / fmt::format("text{:02}", n++), std::string(1, char(sel)), t);
}

void write_train_config_seeds(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(BITLM_SOURCE_DIR "/configs"))
    if (e.path().extension() == ".json") {
      try {
        (void)TrainConfig::from_file(e.path().string());  // configs/sweep/ holds a sweep grid, not a config
      } catch (const UserError&) {
        continue;
      }
      write_file(dir / fmt::format("config{:02}.json", n++), "", read_file(e.path()));
    }
  write_file(dir / "default.json", "", TrainConfig{}.to_json().dump(2));
  write_file(dir / "small.json", "", fuzz::checkpoint_config_for_fuzz(false).to_json().dump());
}

void write_shard_seeds(const fs::path& dir) {
  const std::string text = "one document\n\nanother document, longer than the first\n\nthird";
  const EncodeFn bytes = [](std::string_view s) {
    std::vector<int32_t> ids;
    for (const char c : s) ids.push_back(uint8_t(c));
    return ids;
  };
  const EncodeFn wide = [](std::string_view s) {
    std::vector<int32_t> ids;
    for (const char c : s) ids.push_back(70000 + uint8_t(c));
    return ids;
  };
  prepare_shards(text, bytes, 256, 257, (dir / "u16").string(), 1 << 20);
  prepare_shards(text, wide, 70000, 70300, (dir / "u32").string(), 1 << 20);
  for (const auto& e : fs::directory_iterator(dir)) (void)read_shard(e.path().string());
}

void write_checkpoint_seeds(const fs::path& dir) {
  for (const bool tied : {true, false}) {
    const TrainConfig cfg = fuzz::checkpoint_config_for_fuzz(tied);
    TrainModel model(cfg.model);
    model.init(cfg.seed, cfg.init_std);
    AdamW opt(model.params().size(), cfg.adam);
    TrainState st;
    st.step = 3;
    st.data = {0, 17, 1};
    const fs::path p = dir / (tied ? "tied.safetensors" : "untied.safetensors");
    save_checkpoint(p.string(), cfg, model, opt, st);
    TrainModel back(checkpoint_config(p.string()).model);
    load_checkpoint_params(p.string(), back);
  }
}

void write_model_seeds(const fs::path& dir) {
  struct V { const char* name; uint32_t embd, weight; };
  for (const V v : {V{"t2_f16", kGgmlF16, kGgmlBitlmT2}, V{"t1_q8_0", kGgmlQ8_0, kGgmlBitlmT1}}) {
    SynthOptions o;
    o.shape = "nano";
    o.embd_type = v.embd;
    o.weight_type = v.weight;
    const fs::path p = dir / (std::string(v.name) + ".gguf");
    write_synth_model(o, p.string());
    (void)Model::load(p.string());
  }
}

void write_text_seeds(const fs::path& dir, std::initializer_list<std::string_view> seeds) {
  int n = 0;
  for (const std::string_view s : seeds) write_file(dir / fmt::format("seed{:02}", n++), "", s);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
    return 2;
  }
  const fs::path root = argv[1];
  const auto dir = [&](const char* target) {
    const fs::path d = root / target;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
  };
  try {
    write_gguf_seeds(dir("gguf"));
    write_safetensors_seeds(dir("safetensors"));
    write_vocab_seeds(dir("vocab"));
    write_tokenize_seeds(dir("tokenize"));
    write_tokenizer_json_seeds(dir("tokenizer_json"));
    write_train_config_seeds(dir("train_config"));
    write_shard_seeds(dir("shard"));
    write_checkpoint_seeds(dir("checkpoint"));
    write_model_seeds(dir("model"));
    write_text_seeds(dir("chat_template"),
                     {"\x81\x00You are helpful.\x1e\x01Hello!\x1e\x02Hi there.\x1e\x01How are you?"sv,
                      "\x01\x01<|im_start|>user\n{{ content }}<|im_end|>"sv, "\x83\x01only a user"sv,
                      "\x04\x00  padded system  \x1e\x01<|eot_id|> inside"sv, "\x02<|start_header_id|>"sv,
                      "\x03[INST] <<SYS>>"sv});
    {
      const fs::path d = dir("requests");
      int n = 0;
      const auto route = [&](char r, std::string_view body) { write_file(d / fmt::format("seed{:02}", n++), std::string(1, r), body); };
      route(0, R"({"prompt": "Once upon a time", "max_tokens": 16, "temperature": 0.8, "top_p": 0.9, "top_k": 40,
                   "min_p": 0.05, "seed": 42, "stop": ["\n", "The end"], "stream": true,
                   "stream_options": {"include_usage": true}})");
      route(0, R"({"prompt": [[1, 2, 3]], "n_predict": 4, "ignore_eos": true, "repeat_last_n": 64})");
      route(1, R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
                   "max_completion_tokens": 8, "logprobs": true, "top_logprobs": 3, "repeat_penalty": 1.1, "model": "x"})");
      route(1, R"({"messages": [{"role": "developer", "content": [{"type": "text", "text": "a"}]}], "stop": "x"})");
      route(2, R"({"content": "Hello world", "add_special": true, "with_pieces": true})");
      route(3, R"({"tokens": [1, 15043, 3186]})");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
