// tokenizer/unicode.cpp — code point classes (binary search over the generated run table),
// UTF-8 coding and the GPT-2 byte map.
#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>

namespace bitlm {

CodepointClass codepoint_class(uint32_t cpt) {
  using unicode_detail::kCodepointRuns;
  const auto* end = kCodepointRuns + unicode_detail::kCodepointRunCount;
  const auto* run = std::upper_bound(kCodepointRuns, end, cpt,
                                     [](uint32_t c, const unicode_detail::CodepointRun& r) { return c < r.first; });
  return CodepointClass((run - 1)->cls);  // run > kCodepointRuns: the table starts at 0
}

bool is_whitespace(uint32_t cpt) {
  return (cpt >= 0x09 && cpt <= 0x0D) || cpt == 0x20 || cpt == 0x85 || cpt == 0xA0 || cpt == 0x1680 ||
         (cpt >= 0x2000 && cpt <= 0x200A) || cpt == 0x2028 || cpt == 0x2029 || cpt == 0x202F ||
         cpt == 0x205F || cpt == 0x3000;
}

size_t utf8_sequence_length(char lead) {
  static constexpr size_t kLength[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLength[uint8_t(lead) >> 4];
}

namespace {

bool is_continuation(std::string_view s, size_t i) { return i < s.size() && (uint8_t(s[i]) & 0xC0) == 0x80; }

// One code point at `offset`, or U+FFFD consuming one byte. Like llama.cpp, overlong forms are
// accepted; a value above U+10FFFF is replaced too (llama.cpp would throw while re-encoding it).
uint32_t decode_one(std::string_view s, size_t& offset) {
  const uint8_t b0 = uint8_t(s[offset]);
  size_t n = 0;
  uint32_t cpt = 0;
  if (b0 < 0x80) { n = 1; cpt = b0; }
  else if ((b0 & 0xE0) == 0xC0) { n = 2; cpt = b0 & 0x1F; }
  else if ((b0 & 0xF0) == 0xE0) { n = 3; cpt = b0 & 0x0F; }
  else if ((b0 & 0xF8) == 0xF0) { n = 4; cpt = b0 & 0x07; }
  for (size_t i = 1; i < n; ++i) {
    if (!is_continuation(s, offset + i)) { n = 0; break; }
    cpt = (cpt << 6) | (uint8_t(s[offset + i]) & 0x3F);
  }
  if (n == 0 || cpt > 0x10FFFF) { offset += 1; return kReplacementChar; }
  offset += n;
  return cpt;
}

struct ByteMap {
  std::array<std::string, 256> to_unicode;
  std::array<int16_t, 512> from_unicode;  // every mapped code point is < 0x144
};

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100 + n in byte order.
const ByteMap& byte_map() {
  static const ByteMap map = [] {
    ByteMap m;
    m.from_unicode.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      const uint32_t cpt = printable ? uint32_t(b) : uint32_t(256 + n++);
      append_utf8(cpt, m.to_unicode[b]);
      m.from_unicode[cpt] = int16_t(b);
    }
    return m;
  }();
  return map;
}

}  // namespace

std::vector<uint32_t> utf8_to_codepoints(std::string_view text) {
  std::vector<uint32_t> cpts;
  cpts.reserve(text.size());
  for (size_t offset = 0; offset < text.size();) cpts.push_back(decode_one(text, offset));
  return cpts;
}

void append_utf8(uint32_t cpt, std::string& out) {
  if (cpt < 0x80) {
    out += char(cpt);
  } else if (cpt < 0x800) {
    out += char(0xC0 | (cpt >> 6));
    out += char(0x80 | (cpt & 0x3F));
  } else if (cpt < 0x10000) {
    out += char(0xE0 | (cpt >> 12));
    out += char(0x80 | ((cpt >> 6) & 0x3F));
    out += char(0x80 | (cpt & 0x3F));
  } else {
    out += char(0xF0 | (cpt >> 18));
    out += char(0x80 | ((cpt >> 12) & 0x3F));
    out += char(0x80 | ((cpt >> 6) & 0x3F));
    out += char(0x80 | (cpt & 0x3F));
  }
}

const std::string& byte_to_unicode(uint8_t byte) { return byte_map().to_unicode[byte]; }

int byte_from_unicode(uint32_t cpt) { return cpt < 512 ? byte_map().from_unicode[cpt] : -1; }

std::string bytes_to_unicode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += byte_to_unicode(uint8_t(c));
  return out;
}

}  // namespace bitlm
