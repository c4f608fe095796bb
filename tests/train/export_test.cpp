// tests/train/export_test.cpp — export pins the training forward to the inference runtime:
// a trained checkpoint exported to GGUF and run by model/ (int8 activations, T2 ternary kernels;
// float linear weights without quantizers for the fp twin) gives the training forward's eval-mode
// logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>

#include "core/error.h"
#include "core/fp16.h"
#include "core/rng.h"
#include "io/gguf.h"
#include "model/forward.h"
#include "model/model.h"
#include "model/hf_convert.h"
#include "quant/ternary_formats.h"
#include "tokenizer/tokenizer.h"
#include "train/export.h"
#include "train/export_hf.h"
#include "train/optimizer.h"
#include "train/train_model.h"

namespace bitlm {
namespace {

// A small model after 3 AdamW steps (trained weights, not just the init: norm gains move).
struct Trained {
  TrainModelConfig c;
  std::unique_ptr<TrainModel> model;
  std::vector<int32_t> tokens;
  std::vector<float> logits;  // the training forward in eval mode, (seq_len, n_vocab)
};

// width: n_embd (64, n_ff 96; another width is also n_ff, e.g. 256 for the peers' 256-blocks).
Trained train_small(WeightMode mode, ThreadPool& pool, const std::string& arch = "bitnet", int64_t width = 64,
                    bool elastic = false) {
  Trained r;
  TrainModelConfig& c = r.c;
  c.arch = arch;
  c.n_vocab = 97; c.n_embd = width; c.n_ff = width == 64 ? 96 : width; c.n_layer = 2; c.n_head = 4; c.n_head_kv = 2;
  c.seq_len = 12;
  c.weight_mode = mode;
  c.elastic_act = elastic;
  c.tied_embedding = mode != WeightMode::kBinary;
  c.activation = mode == WeightMode::kBinary ? FfnActivation::kRelu2 : FfnActivation::kSilu;
  r.model = std::make_unique<TrainModel>(c);
  r.model->init(3, 0.1f);
  Rng rng(4);
  r.tokens.resize(size_t(c.seq_len));
  for (auto& t : r.tokens) t = int32_t(rng.below(uint64_t(c.n_vocab)));
  AdamW opt(r.model->params().size(), {});
  for (int s = 0; s < 3; ++s) {
    r.model->forward_backward(r.tokens, r.tokens, 1.0f / float(c.seq_len), pool);
    opt.step(r.model->tensors(), r.model->params(), r.model->grads(), 1e-2f, 0.1f, pool);
  }
  std::vector<int32_t> targets(r.tokens.size());
  r.model->forward(r.tokens, targets, pool, &r.logits, /*kv_f16=*/true);  // the runtime's f16 KV cache
  return r;
}

// Exports, runs model/ over the same tokens and returns max |logit error| / max |logit|.
double exported_relative_error(const Trained& r, uint32_t fp_type, ThreadPool& pool) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            fmt::format("bitlm_export_test_{}_{}_{}_{}.gguf", getpid(), r.c.arch,
                                        weight_mode_name(r.c.weight_mode), fp_type)).string();
  export_gguf(*r.model, "", path, fp_type);
  const auto m = Model::load(path);
  EXPECT_EQ(m->config.fp_linear, r.c.weight_mode == WeightMode::kFp);
  EXPECT_EQ(m->config.arch, r.c.arch);
  EXPECT_EQ(m->config.elastic_act, r.c.elastic_act);
  Forward fwd(*m, r.c.seq_len, pool, ActMode::kInt8);
  fwd.eval(r.tokens, /*all_logits=*/true);
  double max_abs = 0, max_err = 0;
  for (int64_t t = 0; t < r.c.seq_len; ++t) {
    const auto got = fwd.logits(t);
    EXPECT_EQ(int64_t(got.size()), r.c.n_vocab);
    for (int64_t v = 0; v < r.c.n_vocab; ++v) {
      const double w = r.logits[size_t(t * r.c.n_vocab + v)];
      max_abs = std::max(max_abs, std::fabs(w));
      max_err = std::max(max_err, std::fabs(double(got[size_t(v)]) - w));
    }
  }
  std::filesystem::remove(path);
  return max_err / max_abs;
}

TEST(Export, InferenceLogitsEqualTheTrainingForward) {
  ThreadPool pool(2);
  for (WeightMode mode : {WeightMode::kTernary, WeightMode::kBinary}) {
    const double err = exported_relative_error(train_small(mode, pool), kGgmlF16, pool);
    EXPECT_LE(err, 1e-4) << weight_mode_name(mode);
  }
}

// Training follows the arch row as inference does: `llama` rotates adjacent pairs (not NEOX) and
// has no sub-norms (W_o and W_down read the attention output and the GLU as they are).
TEST(Export, EveryArchTrainsAsItRuns) {
  ThreadPool pool(2);
  for (const ArchTraits& arch : supported_archs()) {
    const Trained r = train_small(WeightMode::kTernary, pool, std::string(arch.name));
    EXPECT_EQ(r.model->tensors().size(), arch.tensors->blocks.size() * 2 + 2) << arch.name;  // tied head
    EXPECT_LE(exported_relative_error(r, kGgmlF16, pool), 1e-4) << arch.name;
  }
}

// An elastic model (003 Table 9) stores each BitLinear input's learned scale as a 1-value F32 tensor;
// the inference forward quantizes that input with it for every token (not per-token absmax), so
// its logits are the training forward's, on both weight modes and both archs (pre-LN llama too).
TEST(Export, ElasticModelLogitsEqualTheTrainingForward) {
  ThreadPool pool(2);
  for (const char* arch : {"bitnet", "llama"})
    for (WeightMode mode : {WeightMode::kTernary, WeightMode::kBinary}) {
      const Trained r = train_small(mode, pool, arch, 64, /*elastic=*/true);
      const ParamTensor& a = r.model->tensor("blk.1.ffn_down.act_scale");
      EXPECT_GT(r.model->params()[a.offset], 0.0f);
      EXPECT_LE(exported_relative_error(r, kGgmlF16, pool), 1e-4) << arch << " " << weight_mode_name(mode);
      // The file's scales are what inference uses: doubled after the training logits were taken,
      // the exported model no longer gives them.
      Trained doubled = train_small(mode, pool, arch, 64, true);
      for (const ParamTensor& t : doubled.model->tensors())
        if (t.kind == TensorKind::kActScale) doubled.model->params()[t.offset] *= 2;
      EXPECT_GT(exported_relative_error(doubled, kGgmlF16, pool), 1e-3) << arch;
    }
}

TEST(Export, UnknownArchIsRefused) {
  TrainModelConfig c;
  c.arch = "gpt2";
  EXPECT_THROW(c.validate(), UserError);
}

// The fp twin: no quantizer on either side, so F32 weights give the training logits up to f32
// summation order (measured 8e-8); F16 weights (rounding 2^-11 each) 2.3e-4, BF16 1.5e-3.
TEST(Export, FpModelLogitsEqualTheTrainingForward) {
  ThreadPool pool(2);
  const Trained r = train_small(WeightMode::kFp, pool);
  EXPECT_LE(exported_relative_error(r, kGgmlF32, pool), 1e-4);
  const double f16 = exported_relative_error(r, kGgmlF16, pool);
  EXPECT_LE(f16, 1e-3);
  EXPECT_GT(f16, 0.0);  // the weights really were rounded
  EXPECT_LE(exported_relative_error(r, kGgmlBF16, pool), 1e-2);
}

// --weight-type tq2_0 / tq1_0: every linear tensor holds the codes of the T2 export and its scale
// rounded to fp16 (llama.cpp's blocks store d as fp16); the two files hold the same codes and scales,
// so they run identical logits (TQ1_0 as T1 in memory, TQ2_0 as T2). A SiLU model is written as
// llama.cpp's `bitnet` whatever its training arch; rows that are not whole 256-blocks (n_embd 64)
// are a UserError naming the tensor. (llama-perplexity on such a file: docs/performance.md.)
TEST(Export, PeerWeightTypesHoldTheT2CodesAndRunTheSameLogits) {
  ThreadPool pool(2);
  TrainModelConfig c;
  c.arch = "bitnet-b1.58";
  c.n_vocab = 97; c.n_embd = 256; c.n_ff = 512; c.n_layer = 1; c.n_head = 4; c.n_head_kv = 2; c.seq_len = 8;
  c.activation = FfnActivation::kSilu;
  TrainModel model(c);
  model.init(3, 0.1f);
  const std::vector<int32_t> tokens = {1, 5, 9, 44, 2, 7, 90, 3};
  const auto path = [](uint32_t type) {
    return (std::filesystem::temp_directory_path() / fmt::format("bitlm_export_test_{}_{}.gguf", getpid(), type))
        .string();
  };
  export_gguf(model, "", path(kGgmlBitlmT2), kGgmlF16, kGgmlBitlmT2);
  const auto t2 = GgufFile::open(path(kGgmlBitlmT2));
  std::vector<std::vector<float>> logits;
  for (uint32_t type : {kGgmlTQ2_0, kGgmlTQ1_0}) {
    export_gguf(model, "", path(type), kGgmlF16, type);
    const auto m = Model::load(path(type));
    EXPECT_EQ(m->config.arch, "bitnet");
    for (const ParamTensor& t : model.tensors()) {
      if (t.kind != TensorKind::kLinear) continue;
      const GgufTensorInfo& a = *t2->find_tensor(t.name);
      const GgufTensorInfo& b = *m->file->find_tensor(t.name);
      ASSERT_EQ(b.type, type);
      const DecodedTernary da = decode_ternary(a.type, t2->tensor_data(a), t.rows, t.cols, t2->path(), t.name);
      const DecodedTernary db = decode_ternary(b.type, m->file->tensor_data(b), t.rows, t.cols, "tq", t.name);
      EXPECT_EQ(da.q, db.q) << t.name;
      EXPECT_EQ(db.scale, fp16_to_f32(f32_to_fp16(da.scale))) << t.name;
    }
    Forward fwd(*m, c.seq_len, pool, ActMode::kInt8);
    fwd.eval(tokens, /*all_logits=*/true);
    std::vector<float> all;
    for (int64_t t = 0; t < c.seq_len; ++t) {
      const auto got = fwd.logits(t);
      all.insert(all.end(), got.begin(), got.end());
    }
    logits.push_back(std::move(all));
    std::filesystem::remove(path(type));
  }
  std::filesystem::remove(path(kGgmlBitlmT2));
  EXPECT_EQ(logits[0], logits[1]);

  ThreadPool one(1);
  const Trained small = train_small(WeightMode::kTernary, one);  // n_embd 64
  try {
    export_gguf(*small.model, "", "/nonexistent/x.gguf", kGgmlF16, kGgmlTQ1_0);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos) << e.what();
  }
}

TEST(Export, FpTypeOtherThanFloatIsRefused) {
  ThreadPool pool(1);
  const Trained r = train_small(WeightMode::kFp, pool);
  EXPECT_THROW(export_gguf(*r.model, "", "/nonexistent/x.gguf", kGgmlQ8_0), UserError);
}

// A byte-level vocab of train_small's 97 tokens (printable ASCII, 'Ġ', 'Ġt', <|endoftext|>),
// written as dir/tok.gguf (dir is created).
Vocab write_small_tokenizer(const std::string& dir) {
  Vocab v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  for (int b = 33; b < 127; ++b) v.tokens.push_back(std::string(1, char(b)));
  v.tokens.push_back("\xC4\xA0");
  v.tokens.push_back("\xC4\xA0t");
  v.tokens.push_back("<|endoftext|>");
  v.types.assign(v.tokens.size(), 1);
  v.types.back() = 3;
  v.merges = {"\xC4\xA0 t"};
  v.bos = v.eos = 96;
  v.add_bos = true;
  v.add_space_prefix = false;
  std::filesystem::create_directories(dir);
  GgufWriter tw;
  tw.set("general.architecture", GgufValue::string("bitnet"));
  write_vocab(v, tw);
  tw.write(dir + "/tok.gguf");
  return v;
}

// `export --format hf` then `bitlm convert` gives back export_gguf's model: every tensor bit for
// bit (T2 ternary, F32 norms / embedding / head), the same vocab, and the same greedy tokens. For
// b1.58 (tied head) and b1 (untied, relu2).
TEST(ExportHf, ConvertOfTheExportIsTheSameModel) {
  ThreadPool pool(2);
  const std::string tmp = (std::filesystem::temp_directory_path() / fmt::format("bitlm_export_hf_{}", getpid())).string();
  const Vocab v = write_small_tokenizer(tmp);
  for (WeightMode mode : {WeightMode::kTernary, WeightMode::kBinary}) {
    const Trained r = train_small(mode, pool);
    export_gguf(*r.model, tmp + "/tok.gguf", tmp + "/direct.gguf");
    export_hf(*r.model, tmp + "/tok.gguf", tmp + "/hf");
    ConvertOptions o;
    o.weight_type = kGgmlBitlmT2;
    convert_hf_checkpoint(tmp + "/hf", tmp + "/converted.gguf", o);
    const auto a = Model::load(tmp + "/direct.gguf");
    const auto b = Model::load(tmp + "/converted.gguf");
    ASSERT_EQ(a->file->tensors().size(), b->file->tensors().size());
    for (const GgufTensorInfo& t : a->file->tensors()) {
      const GgufTensorInfo* u = b->file->find_tensor(t.name);
      ASSERT_NE(u, nullptr) << t.name;
      EXPECT_EQ(u->type, t.type) << t.name;
      EXPECT_EQ(u->ne, t.ne) << t.name;
      const auto x = a->file->tensor_data(t), y = b->file->tensor_data(*u);
      EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin(), y.end())) << t.name << " differs";
    }
    EXPECT_EQ(read_vocab(*b->file).tokens, v.tokens);
    EXPECT_EQ(read_vocab(*b->file).merges, v.merges);
    EXPECT_EQ(b->config.activation, a->config.activation);
    std::vector<int32_t> out[2];
    for (int m = 0; m < 2; ++m) {
      Forward fwd(m == 0 ? *a : *b, r.c.seq_len, pool, ActMode::kInt8);
      std::vector<int32_t> seq(r.tokens.begin(), r.tokens.begin() + 4);
      fwd.eval(seq);
      for (int i = 0; i < 6; ++i) {
        const auto l = fwd.last_logits();
        out[m].push_back(int32_t(std::max_element(l.begin(), l.end()) - l.begin()));
        fwd.eval(std::vector<int32_t>{out[m].back()});
      }
    }
    EXPECT_EQ(out[0], out[1]) << weight_mode_name(mode);
  }
  std::filesystem::remove_all(tmp);
}

// `convert --weight-type tq2_0|tq1_0|i2_s` of the HF export is `export --weight-type` of the same
// model: the peers' arch and every tensor bit for bit (the scale goes through the same fp16 rounding).
TEST(ExportHf, ConvertToAPeerTypeIsTheDirectPeerExport) {
  ThreadPool pool(2);
  const std::string tmp = (std::filesystem::temp_directory_path() / fmt::format("bitlm_export_hf_peer_{}", getpid())).string();
  write_small_tokenizer(tmp);
  const Trained r = train_small(WeightMode::kTernary, pool, "bitnet", 256);
  export_hf(*r.model, tmp + "/tok.gguf", tmp + "/hf");
  for (const uint32_t type : {kGgmlTQ2_0, kGgmlTQ1_0, kGgmlI2_S}) {
    export_gguf(*r.model, tmp + "/tok.gguf", tmp + "/direct.gguf", kGgmlF16, type);
    ConvertOptions o;
    o.weight_type = type;
    convert_hf_checkpoint(tmp + "/hf", tmp + "/converted.gguf", o);
    const auto a = GgufFile::open(tmp + "/direct.gguf");
    const auto b = GgufFile::open(tmp + "/converted.gguf");
    EXPECT_EQ(b->get_string("general.architecture"), a->get_string("general.architecture")) << ggml_type_name(type);
    for (const GgufTensorInfo& t : a->tensors()) {
      const GgufTensorInfo* u = b->find_tensor(t.name);
      ASSERT_NE(u, nullptr) << t.name;
      EXPECT_EQ(u->type, t.type) << t.name;
      const auto x = a->tensor_data(t), y = b->tensor_data(*u);
      EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin(), y.end())) << t.name << " as " << ggml_type_name(type);
    }
  }
  // The 64-wide model has no whole 256-blocks: named, nothing written.
  const Trained narrow = train_small(WeightMode::kTernary, pool);
  export_hf(*narrow.model, tmp + "/tok.gguf", tmp + "/hf64");
  ConvertOptions o;
  o.weight_type = kGgmlTQ2_0;
  try {
    convert_hf_checkpoint(tmp + "/hf64", tmp + "/narrow.gguf", o);
    ADD_FAILURE() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("not whole 256-weight blocks of TQ2_0"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(tmp + "/narrow.gguf"));
  std::filesystem::remove_all(tmp);
}

TEST(ExportHf, FpModelIsRefusedByName) {
  ThreadPool pool(1);
  const Trained r = train_small(WeightMode::kFp, pool);
  try {
    export_hf(*r.model, "x.gguf", "/nonexistent/dir");
    ADD_FAILURE() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("fp model"), std::string::npos) << e.what();
  }
}

// model.quant_groups > 1 (003 App. A.1) trains, but no inference format holds a scale per row
// group nor the forward one per column group: both exports refuse, naming the field.
TEST(Export, GroupQuantizedModelIsRefusedByName) {
  TrainModelConfig c;
  c.n_vocab = 97; c.n_embd = 64; c.n_ff = 96; c.n_layer = 1; c.n_head = 4; c.n_head_kv = 2; c.seq_len = 8;
  c.quant_groups = 2;
  TrainModel model(c);
  model.init(3, 0.1f);
  for (const auto& run : {std::function<void()>([&] { export_gguf(model, "", "/nonexistent/x.gguf"); }),
                          std::function<void()>([&] { export_hf(model, "x.gguf", "/nonexistent/dir"); })}) {
    try {
      run();
      ADD_FAILURE() << "a group-quantized model was exported";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("model.quant_groups = 2"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace bitlm
