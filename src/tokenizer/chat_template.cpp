// tokenizer/chat_template.cpp — see chat_template.h. The renderings follow llama.cpp's
// llm_chat_apply_template for the same families (src/llama-chat.cpp), so a prompt built here is
// the prompt llama-server builds from the same messages.
#include "tokenizer/chat_template.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "io/gguf.h"

namespace bitlm {
namespace {

constexpr ChatFamily kFamilies[] = {ChatFamily::kChatML, ChatFamily::kLlama3, ChatFamily::kLlama2,
                                    ChatFamily::kBitNet, ChatFamily::kPlain};

bool contains(std::string_view text, std::string_view what) { return text.find(what) != std::string_view::npos; }

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string capitalized(std::string_view role) {  // Jinja's |capitalize: first upper, rest lower
  std::string r(role);
  for (char& c : r) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (!r.empty()) r[0] = char(std::toupper(static_cast<unsigned char>(r[0])));
  return r;
}

std::string render_llama2(std::span<const ChatMessage> messages) {
  std::string out = "[INST] ";
  bool inside_turn = true;  // the first [INST] follows BOS, which the tokenizer adds
  for (const ChatMessage& m : messages) {
    if (!inside_turn) {
      out += "<s>[INST] ";
      inside_turn = true;
    }
    if (m.role == "system") out += "<<SYS>>\n" + m.content + "\n<</SYS>>\n\n";
    else if (m.role == "user") out += m.content + " [/INST]";
    else {
      out += " " + m.content + " </s>";
      inside_turn = false;
    }
  }
  return out;
}

}  // namespace

std::string_view chat_family_name(ChatFamily family) {
  switch (family) {
    case ChatFamily::kPlain: return "plain";
    case ChatFamily::kChatML: return "chatml";
    case ChatFamily::kLlama3: return "llama3";
    case ChatFamily::kLlama2: return "llama2";
    case ChatFamily::kBitNet: return "bitnet";
  }
  return "?";
}

std::optional<ChatFamily> chat_family_from_name(std::string_view name) {
  for (ChatFamily f : kFamilies)
    if (name == chat_family_name(f)) return f;
  return std::nullopt;
}

// The markers llama.cpp's llm_chat_detect_template checks for these families; BitNet 2B-4T's
// template has no header tokens but ends its turns with Llama-3's <|eot_id|> after "Role: ".
std::optional<ChatFamily> detect_chat_family(std::string_view t) {
  if (contains(t, "<|im_start|>")) return ChatFamily::kChatML;
  if (contains(t, "<|start_header_id|>") && contains(t, "<|end_header_id|>")) return ChatFamily::kLlama3;
  if (contains(t, "[INST]")) return ChatFamily::kLlama2;
  if (contains(t, "<|eot_id|>") && (contains(t, "Assistant: ") || contains(t, "capitalize")))
    return ChatFamily::kBitNet;
  return std::nullopt;
}

ChatFamily resolve_chat_template(std::string_view spec, const std::optional<std::string>& model_template) {
  const auto unknown = [](std::string_view what, std::string_view text) {
    std::string start(text.substr(0, 60));
    for (char& c : start)
      if (c == '\n') c = ' ';
    return UserError(fmt::format("{} is not a chat template bitlm knows (it starts '{}{}'); pass --chat-template "
                                 "chatml|llama3|llama2|bitnet|plain",
                                 what, start, text.size() > 60 ? "..." : ""));
  };
  if (!spec.empty()) {
    if (auto f = chat_family_from_name(spec)) return *f;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(std::filesystem::path(spec), ec))
      throw UserError(fmt::format("--chat-template '{}' is neither chatml, llama3, llama2, bitnet, plain nor a "
                                  "template file",
                                  spec));
    std::ifstream in{std::string(spec), std::ios::binary};
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) throw IoError(fmt::format("{}: cannot read the chat template", spec));
    if (auto f = detect_chat_family(text)) return *f;
    throw unknown(fmt::format("the template in {}", spec), text);
  }
  if (!model_template) return ChatFamily::kPlain;
  if (auto f = detect_chat_family(*model_template)) return *f;
  throw unknown("the model's tokenizer.chat_template", *model_template);
}

std::optional<std::string> read_chat_template(const GgufFile& file) {
  return file.get_string("tokenizer.chat_template");
}

std::string render_chat(ChatFamily family, std::span<const ChatMessage> messages, bool add_generation_prompt) {
  std::string out;
  switch (family) {
    case ChatFamily::kChatML:
      for (const ChatMessage& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      return out;
    case ChatFamily::kLlama3:
      for (const ChatMessage& m : messages)
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + std::string(trim(m.content)) + "<|eot_id|>";
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      return out;
    case ChatFamily::kLlama2: return render_llama2(messages);
    case ChatFamily::kBitNet:
      for (const ChatMessage& m : messages) out += capitalized(m.role) + ": " + std::string(trim(m.content)) + "<|eot_id|>";
      if (add_generation_prompt) out += "Assistant: ";
      return out;
    case ChatFamily::kPlain:
      for (const ChatMessage& m : messages) {
        if (m.role == "system") out += m.content + "\n\n";
        else out += capitalized(m.role) + ": " + m.content + "\n";
      }
      if (add_generation_prompt) out += "Assistant:";
      return out;
  }
  return out;
}

std::string_view plain_stop(ChatFamily family) { return family == ChatFamily::kPlain ? "\nUser:" : ""; }

}  // namespace bitlm
