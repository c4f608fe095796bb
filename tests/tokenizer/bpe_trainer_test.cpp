// tests/tokenizer/bpe_trainer_test.cpp — a BPE trained on a small text: the tokenizer it makes
// round-trips text, compresses the text it saw, is deterministic, and survives a GGUF round trip.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/tokenizer.h"

namespace bitlm {
namespace {

std::string corpus() {
  std::string text;
  const char* lines[] = {"Once upon a time, there was a little girl named Lily.",
                         "She liked to play in the park with her dog Max.",
                         "One day, Lily's mom said: \"Let's bake 123 cookies!\"",
                         "Они пошли в парк. 我想在公园里玩。 ✅ 🦙"};
  for (int i = 0; i < 40; ++i)
    for (const char* l : lines) text += std::string(l) + (i % 3 ? "\n" : "<|endoftext|>");
  return text;
}

TEST(BpeTrainer, RoundTripsAndCompresses) {
  BpeTrainOptions o;
  o.vocab_size = 340;
  const Vocab v = train_bpe(corpus(), o);
  EXPECT_EQ(v.tokens.size(), 340u);
  EXPECT_EQ(v.tokens.back(), "<|endoftext|>");
  EXPECT_EQ(v.bos, 339);
  const auto tok = Tokenizer::from_vocab(v);
  const std::string text = "Once upon a time, Lily's dog Max ate 4567 cookies. Новый 🦙!\n\tTabs  and\r\n";
  const std::vector<int32_t> ids = tok->encode(text, false);
  EXPECT_EQ(tok->decode(ids), text);
  EXPECT_LT(tok->encode(corpus(), false, true).size(), corpus().size() / 2);  // merges learned from it
  const std::vector<int32_t> with_bos = tok->encode("<|endoftext|>Lily", true, /*parse_special=*/true);
  EXPECT_EQ(with_bos[0], 339);
  EXPECT_EQ(with_bos[1], 339);
}

TEST(BpeTrainer, Deterministic) {
  BpeTrainOptions o;
  o.vocab_size = 350;
  const Vocab a = train_bpe(corpus(), o);
  const Vocab b = train_bpe(corpus(), o);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.merges, b.merges);
}

TEST(BpeTrainer, SurvivesGguf) {
  BpeTrainOptions o;
  o.vocab_size = 300;
  const Vocab v = train_bpe(corpus(), o);
  GgufWriter w;
  write_vocab(v, w);
  const std::string path = (std::filesystem::temp_directory_path() / "bitlm_bpe_trainer_test.gguf").string();
  w.write(path);
  const auto tok = Tokenizer::from_gguf(*GgufFile::open(path));
  std::filesystem::remove(path);
  EXPECT_EQ(tok->vocab().merges, v.merges);
  EXPECT_EQ(tok->encode("little girl", true), Tokenizer::from_vocab(v)->encode("little girl", true));
}

TEST(BpeTrainer, RejectsTooSmallVocab) {
  BpeTrainOptions o;
  o.vocab_size = 100;
  EXPECT_THROW(train_bpe("abc", o), UserError);
}

}  // namespace
}  // namespace bitlm
