// The channel's greeting on the chat page: the bot's first bubble while the conversation has no
// messages, shown by the page alone (nothing posted, nothing kept), gone once there are messages.
// Runs the script against the tiny fake DOM and a fake API (no browser needed), with timers the
// harness runs itself.
// Usage: node chat_greeting_harness.js <chat.js> <the page's chat-words block> <the page's
// chat-greeting block> <the greeting as shown>. Exits non-zero when a check fails.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");

const { FakeElement, runChatScript } = require("./fake_page.js");

const source = fs.readFileSync(process.argv[2], "utf8");
const wordsBlock = process.argv[3];
const greetingBlock = process.argv[4];
const GREETING = process.argv[5];
const words = JSON.parse(wordsBlock);

// ------------------------------------------------------------------ fake API

const server = { inbound: [], polls: 0 };

function reply(status, data) {
  return { ok: status < 300, status: status, json: async () => data };
}

async function fakeFetch(url, options) {
  if (url === "inbound") {
    const body = JSON.parse(options.body);
    server.inbound.push(body);
    const replies = [{ type: "text", text: "echo: " + body.text }];
    return reply(200, { message_id: body.message_id, duplicate: false, replies, seqs: [server.inbound.length] });
  }
  if (url.startsWith("messages?")) {
    server.polls += 1;
    const since = Number(new URLSearchParams(url.slice("messages?".length)).get("since"));
    return reply(200, { messages: [], last: since });
  }
  return reply(404, { detail: "Not Found" });
}

// ------------------------------------------------------------------ page

const storage = new Map();
let timers = []; // the page's setTimeout calls not run yet: [fn, ms]

// The page as served; `block`: its greeting data block's content, or null for a page without.
function openPage(block) {
  const ids = {};
  for (const [id, tag] of [["log", "div"], ["status", "p"], ["composer", "form"], ["text", "textarea"], ["reset", "button"]]) {
    ids[id] = new FakeElement(tag);
  }
  ids["chat-words"] = new FakeElement("script", wordsBlock);
  if (block !== null) ids["chat-greeting"] = new FakeElement("script", block);
  const document = {
    hidden: false,
    readyState: "loading", // chat.js runs as the page's last element, before its load event
    body: new FakeElement("body"),
    getElementById: (id) => ids[id] || null,
    createElement: (tag) => new FakeElement(tag),
    addEventListener() {},
  };
  const onWindow = {}; // the window's listeners, by event type
  timers = [];
  runChatScript(source, document, storage, fakeFetch, {
    setTimeout: (fn, ms) => timers.push([fn, ms]),
    clearTimeout() {},
    addEventListener: (type, fn) => (onWindow[type] = onWindow[type] || []).push(fn),
  });
  // The page's load event (chat.js is the last thing it loads)
  const load = async () => {
    document.readyState = "complete";
    (onWindow.load || []).forEach((fn) => fn({ type: "load" }));
    await settle();
  };
  return { ids, load };
}

// A page opened and loaded, its greeting's moment come.
async function openLoaded(block) {
  const page = openPage(block);
  await settle();
  await page.load();
  await runTimers();
  return page;
}

// Runs the timers due so far (the greeting's delay among them).
async function runTimers() {
  const due = timers;
  timers = [];
  due.forEach(([fn]) => fn());
  await settle();
}

async function settle() {
  for (let i = 0; i < 50; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

function bubbles(page) {
  return page.ids.log.children.map((row) => row.className + ": " + row.textContent);
}

async function say(page, text) {
  page.ids.text.value = text;
  page.ids.composer.fire("submit");
  await settle();
}

function saved() {
  return JSON.parse(storage.get("botfleet.webchat:/"));
}

const greeted = "msg bot: " + GREETING;

async function main() {
  // A new visitor: the greeting comes a moment after the page, as the bot's bubble, as text
  // (the fake DOM throws on innerHTML), its address a link like an answer's. Nothing is posted
  // and nothing kept: the conversation is still empty.
  let page = openPage(greetingBlock);
  await settle();
  await runTimers();
  assert.deepEqual(bubbles(page), [], "not before the page has loaded");
  await page.load();
  assert.deepEqual(bubbles(page), []);
  assert.ok(timers.some(([, ms]) => ms > 0 && ms <= 1000), "the greeting waits a moment");
  await runTimers();
  assert.deepEqual(bubbles(page), [greeted]);
  const row = page.ids.log.children[0];
  assert.equal(row.children.length, 1);
  assert.equal(row.children[0].className, "bubble");
  const links = row.all().filter((node) => node.tagName === "A");
  assert.deepEqual(links.map((link) => link.href), ["https://bella.example/book"]);
  assert.equal(links[0].rel, "noopener noreferrer nofollow");
  assert.deepEqual(server.inbound, []);
  assert.ok(server.polls > 0);
  assert.deepEqual(saved().transcript, []);
  assert.equal(saved().last, 0);
  await runTimers();
  assert.deepEqual(bubbles(page), [greeted], "once");

  // The visitor writes: that message is the first the bot gets; the greeting stays above it,
  // and is not kept with the conversation
  await say(page, "hola");
  assert.deepEqual(server.inbound.map((body) => body.text), ["hola"]);
  assert.deepEqual(bubbles(page), [greeted, "msg user: hola", "msg bot: echo: hola"]);
  assert.deepEqual(saved().transcript.map((entry) => entry.from), ["user", "bot"]);
  const contactId = server.inbound[0].contact_id;

  // A reload shows the conversation alone: no greeting, now or later
  page = await openLoaded(greetingBlock);
  assert.deepEqual(bubbles(page), ["msg user: hola", "msg bot: echo: hola"]);

  // Reset (asked, then done): a new conversation, greeted at once, and once
  page.ids.reset.fire("click");
  assert.equal(page.ids.reset.textContent, words.confirm_reset);
  page.ids.reset.fire("click");
  assert.deepEqual(bubbles(page), [greeted]);
  await runTimers();
  assert.deepEqual(bubbles(page), [greeted]);
  await say(page, "otra vez");
  assert.notEqual(server.inbound[1].contact_id, contactId);
  assert.deepEqual(bubbles(page), [greeted, "msg user: otra vez", "msg bot: echo: otra vez"]);

  // A reset before the page's own greeting came: one greeting, not two
  storage.clear();
  page = openPage(greetingBlock);
  await page.load();
  page.ids.reset.fire("click"); // nothing to lose: no question asked
  assert.deepEqual(bubbles(page), [greeted]);
  await runTimers();
  assert.deepEqual(bubbles(page), [greeted]);

  // A visitor quicker than the greeting: it does not come after their message
  storage.clear();
  page = openPage(greetingBlock);
  await say(page, "rápido");
  await page.load();
  await runTimers();
  assert.deepEqual(bubbles(page), ["msg user: rápido", "msg bot: echo: rápido"]);

  // A conversation that shows nothing but has read the outbox already (a bot's own message
  // came before any): not greeted
  storage.clear();
  storage.set("botfleet.webchat:/", JSON.stringify({ contactId: "web-old", last: 3, transcript: [] }));
  page = await openLoaded(greetingBlock);
  assert.deepEqual(bubbles(page), []);

  // Without a greeting (no block: the page as before), or a block that is not a text: as before
  for (const block of [null, "null", "{\"es\": \"hola\"}", "not json"]) {
    storage.clear();
    page = await openLoaded(block);
    assert.deepEqual(bubbles(page), [], String(block));
    page.ids.reset.fire("click");
    assert.deepEqual(bubbles(page), [], String(block));
  }
  console.log("ok");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
