// tests/serve/text_stream_test.cpp — stop strings are cut from the text, even when a token
// carries only part of one; a chunk never ends inside a UTF-8 character.
#include "serve/text_stream.h"

#include <gtest/gtest.h>

namespace bitlm {
namespace {

TEST(StopScanner, CutsTheStopAndWhatFollows) {
  StopScanner s({"\nUser:", "END"});
  EXPECT_EQ(s.push("Hello"), "Hello");
  EXPECT_EQ(s.push(" world\n"), " world");  // "\n" may begin "\nUser:": held back
  EXPECT_EQ(s.push("Us"), "");
  EXPECT_EQ(s.push("e"), "");
  EXPECT_FALSE(s.stopped());
  EXPECT_EQ(s.push("r: more"), "");
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.push("later"), "");
  EXPECT_EQ(s.flush(), "");
}

TEST(StopScanner, ReleasesAHeldPrefixThatDidNotComplete) {
  StopScanner s({"END"});
  EXPECT_EQ(s.push("the E"), "the ");
  EXPECT_EQ(s.push("N"), "");
  EXPECT_EQ(s.push("D"), "");
  EXPECT_TRUE(s.stopped());
  StopScanner t({"END"});
  EXPECT_EQ(t.push("EN"), "");
  EXPECT_EQ(t.push("ough"), "ENough");
  EXPECT_EQ(t.push("E"), "");
  EXPECT_EQ(t.flush(), "E");  // generation ended: the held bytes are the reply's
  StopScanner u({"a stop"});
  EXPECT_EQ(u.push("xa stopy"), "x");  // the stop inside one piece
}

TEST(StopScanner, HoldsBackAnUnfinishedUtf8Character) {
  StopScanner s({});
  // U+1F999 is F0 9F A6 99
  EXPECT_EQ(s.push("a\xF0"), "a");
  EXPECT_EQ(s.push("\x9F\xA6"), "");
  EXPECT_EQ(s.push("\x99" "b"), "\xF0\x9F\xA6\x99" "b");
  EXPECT_EQ(incomplete_utf8_tail("\xC3"), 1u);
  EXPECT_EQ(incomplete_utf8_tail("\xC3\xA9"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("\xE2\x82"), 2u);
  EXPECT_EQ(incomplete_utf8_tail("\x80\x80\x80\x80\x80"), 0u);  // stray continuations: sent as they are
  EXPECT_EQ(incomplete_utf8_tail("\xFF"), 0u);
}

}  // namespace
}  // namespace bitlm
