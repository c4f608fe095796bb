// tests/serve/e2e/chat_page.mjs [SCREENSHOT.png] — the chat page at / in headless Chromium (Debian
// `chromium`), driven over the DevTools protocol: the page loads and names the model, a message
// typed and sent gets a reply that arrives in several pieces (streamed), equal to the same greedy
// request made directly, with no error shown; then a screenshot (to SCREENSHOT if given).
// Run by with_server.sh (BITLM_URL) from run_page.sh; needs node's WebSocket (--experimental-websocket
// on node 20).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const base = process.env.BITLM_URL;
assert.ok(base, "BITLM_URL is not set (run through tests/serve/with_server.sh)");
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
const shot = process.argv[2];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const profile = mkdtempSync(join(tmpdir(), "bitlm_chromium_"));
const browser = spawn(chromium, [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-dev-shm-usage", `--user-data-dir=${profile}`, "--remote-debugging-port=0",
  "--window-size=1100,720", `${base}/`,
], { stdio: ["ignore", "ignore", "pipe"], detached: true });  // own group: killed whole below
let browserLog = "";
browser.stderr.on("data", (d) => { browserLog += d; });
const deadline = Date.now() + 90_000;
let ws;
try {
  // Chromium writes its DevTools port to <profile>/DevToolsActivePort once it listens.
  const portFile = join(profile, "DevToolsActivePort");
  while (!existsSync(portFile) || readFileSync(portFile, "utf8").split("\n").length < 2) {
    assert.ok(Date.now() < deadline && browser.exitCode === null, `chromium did not start:\n${browserLog}`);
    await sleep(100);
  }
  const port = readFileSync(portFile, "utf8").split("\n")[0].trim();
  let target;
  while (!target) {
    const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    target = list.find((t) => t.type === "page" && t.url.startsWith(base));
    if (!target) await sleep(100);
    assert.ok(Date.now() < deadline, "no page target for the chat page");
  }
  ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
  let nextId = 1;
  const pending = new Map();
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.id && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  };
  const cdp = (method, params = {}) => new Promise((ok, fail) => {
    const id = nextId++;
    pending.set(id, (msg) => (msg.error ? fail(new Error(`${method}: ${msg.error.message}`)) : ok(msg.result)));
    ws.send(JSON.stringify({ id, method, params }));
  });
  const evaluate = async (expression) => {
    const r = await cdp("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    assert.ok(!r.exceptionDetails, `page script failed: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value;
  };
  const waitFor = async (expression, what) => {
    for (;;) {
      const v = await evaluate(expression);
      if (v) return v;
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await sleep(50);
    }
  };

  // Loaded: the header names the model (the page fetched /v1/models).
  const header = await waitFor(`(() => {
      const m = document.readyState === "complete" && document.getElementById("model");
      return m && /bitnet-tinystories/.test(m.textContent) && m.textContent; })()`, "the page to load");
  assert.match(header, /context \d+/);

  // Send a message with greedy settings; record every change of the reply bubble's text.
  const prompt = "Tell me a story about a dog.";
  await evaluate(`(() => {
    document.getElementById("temperature").value = "0";
    document.getElementById("max_tokens").value = "40";
    window.__seen = [];
    // One record per text the page set: several deltas of one network read arrive in one
    // observer callback, so the bubble's length at callback time would miss them.
    new MutationObserver((records) => {
      for (const r of records) {
        if (!r.target.classList || !r.target.classList.contains("assistant")) continue;
        for (const n of r.addedNodes) window.__seen.push(n.textContent.length);
      }
    }).observe(document.getElementById("log"), { subtree: true, childList: true, characterData: true });
    document.getElementById("input").value = ${JSON.stringify(prompt)};
    document.getElementById("form").requestSubmit();
    return true;
  })()`);
  await waitFor(`document.querySelector(".msg.assistant") !== null && !document.getElementById("send").disabled`,
                "the reply to finish");
  const page = await evaluate(`({
    reply: document.querySelector(".msg.assistant").textContent,
    user: document.querySelector(".msg.user").textContent,
    errors: [...document.querySelectorAll(".msg.error")].map((e) => e.textContent),
    seen: window.__seen,
    speed: document.getElementById("gen_speed").textContent,
  })`);
  assert.deepEqual(page.errors, [], "the page shows an error");
  assert.equal(page.user, prompt);
  assert.ok(page.reply.length > 0 && page.reply !== "…", `no reply: ${JSON.stringify(page.reply)}`);
  const growth = new Set(page.seen.filter((n) => n > 0));
  assert.ok(growth.size >= 3, `the reply did not stream (bubble lengths seen: ${page.seen})`);
  assert.match(page.speed, /t\/s$/, "the speed panel shows no generation speed");

  // The same greedy request made directly gives the same text.
  const direct = await (await fetch(`${base}/v1/chat/completions`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: prompt }], temperature: 0, max_tokens: 40 }),
  })).json();
  assert.equal(page.reply, direct.choices[0].message.content);

  if (shot) {
    const { data } = await cdp("Page.captureScreenshot", { format: "png" });
    writeFileSync(shot, Buffer.from(data, "base64"));
  }
  console.log(`chat_page: ok (${growth.size} streamed updates, reply ${JSON.stringify(page.reply.slice(0, 60))}...)`);
} finally {
  if (ws) ws.close();
  // Chromium's helpers (zygote, renderer, crashpad) outlive the main process and keep writing into
  // the profile: kill the whole group, then remove the folder with retries. A leftover temporary
  // folder is not the page's fault, so cleanup only warns.
  const exited = new Promise((r) => (browser.exitCode !== null ? r() : browser.once("exit", r)));
  try { process.kill(-browser.pid, "SIGKILL"); } catch { browser.kill("SIGKILL"); }
  await exited;
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  } catch (e) {
    console.warn(`chat_page: could not remove ${profile}: ${e.message}`);
  }
}
