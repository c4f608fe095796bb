// tokenizer/chat_template.h — chat messages to one prompt text, for the chat families bitlm knows
// by sight (llama-server's habit: recognise a GGUF's tokenizer.chat_template by the markers its
// text contains, render it in C++, no Jinja). Pure functions: no model, no I/O but the template
// file of resolve_chat_template.
//
//   chatml  <|im_start|>{role}\n{content}<|im_end|>\n ... <|im_start|>assistant\n
//   llama3  <|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|> ...
//           <|start_header_id|>assistant<|end_header_id|>\n\n
//   llama2  [INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] {user} [/INST]
//   bitnet  BitNet b1.58 2B-4T: {Role}: {content}<|eot_id|> ... Assistant:   (capitalised role,
//           content trimmed, as its Hugging Face template; FORMATS.md §2a)
//   plain   for models without a template (the bundled TinyStories model): a system text
//           first, then "User: {content}\n" and "Assistant: {content}\n" lines, ending
//           "Assistant:"; the server stops such replies at "\nUser:" (plain_stop()).
// BOS is not written: the tokenizer adds it (add_bos). Special markers are meant to be encoded
// with parse_special.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bitlm {

class GgufFile;

enum class ChatFamily { kPlain, kChatML, kLlama3, kLlama2, kBitNet };

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant" (validated by the caller: serve's parser)
  std::string content;
};

std::string_view chat_family_name(ChatFamily family);
// "chatml" | "llama3" | "llama2" | "bitnet" | "plain", or nullopt.
std::optional<ChatFamily> chat_family_from_name(std::string_view name);

// The family a template text belongs to, from the markers it contains; nullopt if none matches.
std::optional<ChatFamily> detect_chat_family(std::string_view template_text);

// The family to use: `spec` (--chat-template: a family name, or the path of a file holding a
// template text) when given, else the model's tokenizer.chat_template, else plain. Throws
// UserError naming the spec or the template's start when it is not one of the known families.
ChatFamily resolve_chat_template(std::string_view spec, const std::optional<std::string>& model_template);

// The GGUF's tokenizer.chat_template, if it has one.
std::optional<std::string> read_chat_template(const GgufFile& file);

// The prompt for `messages`; with add_generation_prompt, ends by opening the assistant's turn.
std::string render_chat(ChatFamily family, std::span<const ChatMessage> messages, bool add_generation_prompt = true);

// Text that ends an assistant turn in the family when the model has no end-of-turn token for it:
// "\nUser:" for plain, empty otherwise.
std::string_view plain_stop(ChatFamily family);

}  // namespace bitlm
