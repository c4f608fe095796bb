// tests/train/reference_test.cpp — bitlm's training step against the PyTorch twin
// (data from: /usr/bin/python3 tools/reference/train_reference.py; float64 math, Fig. 11 BitLinear).
// From the same initial weights and tokens: the loss before each of 3 AdamW steps agrees to 1e-4
// relative, every parameter gradient of step 1 and every weight after step 3 to 1e-4 of the
// tensor's largest magnitude.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "io/safetensors.h"
#include "train/optimizer.h"
#include "train/train_model.h"

namespace bitlm {
namespace {

std::vector<int32_t> read_i32(const SafetensorsFile& f, const std::string& name) {
  const SafetensorsTensor& t = f.tensor(name);
  std::vector<int32_t> out(t.n_elements());
  std::memcpy(out.data(), t.bytes.data(), out.size() * sizeof(int32_t));
  return out;
}

void expect_close(std::span<const float> got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double max_abs = 1e-12;
  for (float v : want) max_abs = std::max(max_abs, double(std::fabs(v)));
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-4 * max_abs) << what << " element " << i;
}

class ReferenceTrainStep : public testing::TestWithParam<const char*> {};

TEST_P(ReferenceTrainStep, LossGradientsAndWeightsAfter3AdamWStepsMatchPyTorch) {
  const auto file = SafetensorsFile::open(std::string(BITLM_TEST_DATA_DIR) + "/ref/train_" + GetParam() +
                                          ".safetensors");
  const auto& meta = file->metadata();
  auto num = [&](const char* key) { return std::stod(meta.at(key)); };
  TrainModelConfig c;
  c.n_vocab = int64_t(num("n_vocab")); c.n_embd = int64_t(num("n_embd")); c.n_ff = int64_t(num("n_ff"));
  c.n_layer = int64_t(num("n_layer")); c.n_head = int64_t(num("n_head"));
  c.n_head_kv = int64_t(num("n_head_kv")); c.seq_len = int64_t(num("seq_len"));
  c.rms_eps = float(num("rms_eps")); c.rope_theta = float(num("rope_theta"));
  c.weight_mode = parse_weight_mode(meta.at("weight_mode"));
  c.tied_embedding = meta.at("tied_embedding") == "True";
  c.activation = meta.at("activation") == "relu2" ? FfnActivation::kRelu2 : FfnActivation::kSilu;
  TrainModel model(c);
  for (const ParamTensor& t : model.tensors()) {
    const auto init = file->read_f32("init." + t.name);
    ASSERT_EQ(init.size(), t.size()) << t.name;
    std::copy(init.begin(), init.end(), model.param(t).begin());
  }
  const auto inputs = read_i32(*file, "inputs"), targets = read_i32(*file, "targets");
  int64_t n_targets = 0;
  for (int32_t y : targets) n_targets += y >= 0;
  const auto want_loss = file->read_f32("loss");

  ThreadPool pool(2);
  AdamW opt(model.params().size(), {float(num("beta1")), float(num("beta2")), float(num("eps"))});
  for (size_t step = 0; step < want_loss.size(); ++step) {
    const double loss = model.forward_backward(inputs, targets, 1.0f / float(n_targets), pool) / double(n_targets);
    EXPECT_NEAR(loss, want_loss[step], 1e-4 * want_loss[step]) << "step " << step;
    if (step == 0)
      for (const ParamTensor& t : model.tensors()) expect_close(model.grad(t), file->read_f32("grad." + t.name), "grad." + t.name);
    opt.step(model.tensors(), model.params(), model.grads(), float(num("lr")), float(num("weight_decay")), pool);
  }
  for (const ParamTensor& t : model.tensors())
    expect_close(model.param(t), file->read_f32("final." + t.name), "final." + t.name);
}

INSTANTIATE_TEST_SUITE_P(Configs, ReferenceTrainStep,
                         testing::Values("b158_tied_silu", "b1_untied_relu2", "fp_tied_silu"));

}  // namespace
}  // namespace bitlm
