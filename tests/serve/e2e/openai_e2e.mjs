// tests/serve/e2e/openai_e2e.mjs — `bitlm serve` driven by the official `openai` npm client
// (issue 13 item 4): a chat completion, a streamed chat completion, a completion, the model list
// and a wrong API key. Run by with_server.sh (BITLM_URL; the server started with --api-key
// sk-bitlm-e2e) through CTest; exits non-zero on the first failed check.
import assert from "node:assert/strict";
import OpenAI from "openai";

const base = process.env.BITLM_URL;
assert.ok(base, "BITLM_URL is not set (run through tests/serve/with_server.sh)");
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "sk-bitlm-e2e", maxRetries: 0, timeout: 60_000 });

const models = await client.models.list();
assert.equal(models.data.length, 1);
const model = models.data[0].id;
assert.equal(model, "bitnet-tinystories.gguf");

const messages = [
  { role: "system", content: "You tell short stories." },
  { role: "user", content: "Tell me a story about a cat." },
];
const chat = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0 });
assert.equal(chat.object, "chat.completion");
assert.equal(chat.choices.length, 1);
const choice = chat.choices[0];
assert.equal(choice.message.role, "assistant");
assert.equal(typeof choice.message.content, "string");
assert.ok(choice.message.content.length > 0, "empty chat reply");
assert.ok(["stop", "length"].includes(choice.finish_reason), choice.finish_reason);
assert.ok(chat.usage.prompt_tokens > 0 && chat.usage.completion_tokens > 0);
assert.equal(chat.usage.total_tokens, chat.usage.prompt_tokens + chat.usage.completion_tokens);

// The same request streamed: the deltas add up to the same greedy text.
const stream = await client.chat.completions.create({
  model, messages, max_tokens: 24, temperature: 0, stream: true, stream_options: { include_usage: true },
});
let streamed = "", chunks = 0, finish = null, usage = null;
for await (const chunk of stream) {
  assert.equal(chunk.object, "chat.completion.chunk");
  if (chunk.usage) usage = chunk.usage;
  for (const c of chunk.choices) {
    streamed += c.delta?.content ?? "";
    if (c.finish_reason) finish = c.finish_reason;
  }
  ++chunks;
}
assert.ok(chunks >= 3, `only ${chunks} chunks`);
assert.equal(streamed, choice.message.content);
assert.equal(finish, choice.finish_reason);
assert.deepEqual(usage, chat.usage);

const cmpl = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 8, temperature: 0 });
assert.equal(cmpl.object, "text_completion");
assert.equal(typeof cmpl.choices[0].text, "string");
assert.ok(cmpl.choices[0].text.length > 0, "empty completion");
assert.equal(cmpl.usage.completion_tokens, 8);
assert.equal(cmpl.choices[0].finish_reason, "length");

// A wrong key is the client's AuthenticationError (401), an OpenAI-shaped error body.
const wrong = new OpenAI({ baseURL: `${base}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);

console.log(`openai_e2e: ok (chat ${JSON.stringify(choice.message.content)})`);
