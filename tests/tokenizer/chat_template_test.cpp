// tests/tokenizer/chat_template_test.cpp — each family renders llama.cpp's test conversation
// (tests/test-chat-template.cpp) to the prompt its Jinja template gives; templates are recognised
// by their text; an unknown template or --chat-template value is a UserError, never a guess.
#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "core/error.h"

namespace bitlm {
namespace {

const std::vector<ChatMessage> kConversation = {
    {"system", "You are a helpful assistant"}, {"user", "Hello"},
    {"assistant", "Hi there"},                 {"user", "Who are you"},
    {"assistant", "   I am an assistant   "},  {"user", "Another question"},
};

TEST(ChatTemplate, RendersEachFamilyAsItsJinjaTemplateDoes) {
  EXPECT_EQ(render_chat(ChatFamily::kChatML, kConversation),
            "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
            "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n"
            "<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(ChatFamily::kLlama3, kConversation),
            "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nI am an assistant<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nAnother question<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_chat(ChatFamily::kLlama2, kConversation),
            "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there </s><s>[INST] Who are "
            "you [/INST]    I am an assistant    </s><s>[INST] Another question [/INST]");
  EXPECT_EQ(render_chat(ChatFamily::kBitNet, kConversation),
            "System: You are a helpful assistant<|eot_id|>User: Hello<|eot_id|>Assistant: Hi there<|eot_id|>"
            "User: Who are you<|eot_id|>Assistant: I am an assistant<|eot_id|>User: Another question<|eot_id|>"
            "Assistant: ");
  EXPECT_EQ(render_chat(ChatFamily::kPlain, kConversation),
            "You are a helpful assistant\n\nUser: Hello\nAssistant: Hi there\nUser: Who are you\n"
            "Assistant:    I am an assistant   \nUser: Another question\nAssistant:");
  EXPECT_TRUE(render_chat(ChatFamily::kChatML, kConversation, /*add_generation_prompt=*/false)
                  .ends_with("Another question<|im_end|>\n"));
}

TEST(ChatTemplate, DetectsTheFamilyFromTheTemplateText) {
  EXPECT_EQ(detect_chat_family("{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>'}}"),
            ChatFamily::kChatML);
  EXPECT_EQ(detect_chat_family("{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
                               "+ message['content'] | trim + '<|eot_id|>' %}"),
            ChatFamily::kLlama3);
  EXPECT_EQ(detect_chat_family("{{ bos_token + '[INST] ' + messages[idx]['content'] + ' [/INST]' }}"),
            ChatFamily::kLlama2);
  // BitNet b1.58 2B-4T (Hugging Face tokenizer_config.json).
  EXPECT_EQ(detect_chat_family("{% set content = message['role'] | capitalize + ': '+ message['content'] | trim + "
                               "'<|eot_id|>' %}{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}"),
            ChatFamily::kBitNet);
  EXPECT_EQ(detect_chat_family("{{ messages }}"), std::nullopt);
}

TEST(ChatTemplate, ResolvesOverridesAndRefusesUnknownTemplates) {
  EXPECT_EQ(resolve_chat_template("", std::nullopt), ChatFamily::kPlain);
  EXPECT_EQ(resolve_chat_template("", std::string("<|im_start|>")), ChatFamily::kChatML);
  EXPECT_EQ(resolve_chat_template("llama3", std::string("<|im_start|>")), ChatFamily::kLlama3);
  for (ChatFamily f : {ChatFamily::kPlain, ChatFamily::kChatML, ChatFamily::kLlama3, ChatFamily::kLlama2,
                       ChatFamily::kBitNet})
    EXPECT_EQ(chat_family_from_name(chat_family_name(f)), f);
  EXPECT_THROW(resolve_chat_template("", std::string("{{ messages }}")), UserError);
  EXPECT_THROW(resolve_chat_template("vicuna", std::nullopt), UserError);

  const std::string path = testing::TempDir() + "chat_template_test.jinja";
  std::ofstream(path) << "{{ '[INST] ' + content }}";
  EXPECT_EQ(resolve_chat_template(path, std::nullopt), ChatFamily::kLlama2);
  std::ofstream(path) << "{{ '### Human: ' + content }}";
  try {
    resolve_chat_template(path, std::nullopt);
    ADD_FAILURE() << "an unknown template file was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("### Human"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace bitlm
