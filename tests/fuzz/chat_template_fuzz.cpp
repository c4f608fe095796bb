// tests/fuzz/chat_template_fuzz.cpp — the chat template renderer and family detection on arbitrary
// text. Byte 0 picks the family and add_generation_prompt; the rest is split at 0x1e into
// messages, each starting with a byte that picks its role. Also detect_chat_family and
// chat_family_from_name on the whole text. Neither may throw: the parser validated the roles.
#include <span>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "tokenizer/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bitlm;
  if (size == 0) return 0;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  (void)detect_chat_family(all.substr(1));
  (void)chat_family_from_name(all.substr(1));
  static constexpr ChatFamily kFamilies[] = {ChatFamily::kPlain, ChatFamily::kChatML, ChatFamily::kLlama3,
                                             ChatFamily::kLlama2, ChatFamily::kBitNet};
  static constexpr const char* kRoles[] = {"system", "user", "assistant"};
  const ChatFamily family = kFamilies[(data[0] & 0x7f) % 5];
  const bool add_generation_prompt = data[0] & 0x80;
  std::vector<ChatMessage> messages;
  std::string_view rest = all.substr(1);
  while (!rest.empty()) {
    const size_t end = rest.find('\x1e');
    const std::string_view m = rest.substr(0, end);
    if (!m.empty()) messages.push_back({kRoles[uint8_t(m[0]) % 3], std::string(m.substr(1))});
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  }
  (void)render_chat(family, messages, add_generation_prompt);
  (void)plain_stop(family);
  (void)chat_family_name(family);
  return 0;
}
