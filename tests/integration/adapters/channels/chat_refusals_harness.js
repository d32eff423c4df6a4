// The chat page's script facing refusals (429, 503, 413, 422, 409): its own words for them, and
// sending a message again by itself after Retry-After, once, never twice, never out of order.
// Runs chat.js against a tiny fake DOM, a fake API and a fake clock (no browser needed).
// Usage: node chat_refusals_harness.js <path to chat.js> <the page's words as JSON>. Exits
// non-zero when a check fails; prints "ok".
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");

const { FakeElement, runChatScript } = require("./fake_page.js");

const source = fs.readFileSync(process.argv[2], "utf8");
const wordsJson = process.argv[3];
const words = JSON.parse(wordsJson);
// a page from before the refusal words: the server's reasons are shown, as they were
const oldPage = !("too_many" in words);

function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (found, key) => (key in values ? String(values[key]) : found));
}
const marked = (reason) => fill(words.not_delivered, { reason: reason });
const markedAgain = (reason) => marked(reason) + " · " + words.send_again;

// ------------------------------------------------------------------ fake clock

// Every setTimeout of the page runs on this clock, moved on by `advance` only.
const clock = { now: 0, timers: [], next: 1 };

function fakeSetTimeout(fn, ms) {
  const id = clock.next++;
  clock.timers.push({ id, at: clock.now + (ms || 0), fn });
  return id;
}

function fakeClearTimeout(id) {
  clock.timers = clock.timers.filter((t) => t.id !== id);
}

function pendingWaits() {
  return clock.timers.map((t) => t.at - clock.now).sort((a, b) => a - b);
}

async function advance(ms) {
  const until = clock.now + ms;
  for (;;) {
    clock.timers.sort((a, b) => a.at - b.at);
    const due = clock.timers[0];
    if (!due || due.at > until) break;
    clock.timers.shift();
    clock.now = due.at;
    due.fn();
    await settle();
  }
  clock.now = until;
  await settle();
}

// ------------------------------------------------------------------ fake API

// plan: what the next POST /inbound gets, in turn: a response spec, or "hold" (answered later
// by `held.shift().resolve(...)`); with none planned, the bot echoes the text.
const server = { inbound: [], plan: [], held: [] };

function reply(status, data, headers) {
  const names = Object.fromEntries(Object.entries(headers || {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    ok: status < 300,
    status: status,
    headers: { get: (name) => (name.toLowerCase() in names ? names[name.toLowerCase()] : null) },
    json: async () => data,
  };
}

function echo(body) {
  return reply(200, {
    message_id: body.message_id, duplicate: false, replies: [{ type: "text", text: "echo: " + body.text }],
  });
}

async function fakeFetch(url, options) {
  if (url === "inbound") {
    const body = JSON.parse(options.body);
    server.inbound.push(body);
    const planned = server.plan.shift();
    if (planned === "hold") return new Promise((resolve) => server.held.push({ body, resolve }));
    return planned ? reply(planned.status, planned.data, planned.headers) : echo(body);
  }
  if (url.startsWith("messages?")) return reply(200, { messages: [], last: 0 });
  return reply(404, { detail: "Not Found" });
}

const tooMany = (seconds) => ({
  status: 429,
  data: { detail: `too many messages from your address: send again in ${seconds} s` },
  headers: seconds === null ? {} : { "Retry-After": String(seconds) },
});
const busy = (retryAfter) => ({
  status: 503,
  data: { detail: "the tenant's message store is busy or unavailable; retry later" },
  headers: retryAfter === null ? {} : { "Retry-After": String(retryAfter) },
});

// ------------------------------------------------------------------ page

function openPage() {
  server.inbound = [];
  server.plan = [];
  server.held = [];
  clock.timers = [];
  clock.now = 0;
  const storage = new Map();
  const ids = {};
  for (const [id, tag] of [["log", "div"], ["status", "p"], ["composer", "form"], ["text", "textarea"], ["reset", "button"]]) {
    ids[id] = new FakeElement(tag);
  }
  ids.reset.textContent = "Reset";
  ids["chat-words"] = new FakeElement("script");
  ids["chat-words"].textContent = wordsJson;
  const document = {
    hidden: false,
    body: new FakeElement("body"),
    getElementById: (id) => ids[id],
    createElement: (tag) => new FakeElement(tag),
    addEventListener() {},
  };
  runChatScript(source, document, storage, fakeFetch, {
    Date: { now: () => 1_700_000_000_000 + clock.now, parse: Date.parse },
    setInterval: () => 0, // polls are not what this harness looks at
    setTimeout: fakeSetTimeout,
    clearTimeout: fakeClearTimeout,
  });
  const page = {
    ids,
    say: async (text) => {
      ids.text.value = text;
      ids.composer.fire("submit");
      await settle();
    },
    say_now: (text) => {
      ids.text.value = text;
      ids.composer.fire("submit");
    },
    bubbles: () => ids.log.children.map((row) => [row.className, ...row.classes].join(" ") + ": " + row.textContent),
    status: () => (ids.status.hidden ? "" : ids.status.textContent),
    retry: (text) => {
      const row = ids.log.children.find((r) => r.children[0].textContent === text);
      return row.all().find((n) => n.tagName === "BUTTON" && n.className === "note retry");
    },
  };
  return page;
}

async function settle() {
  for (let i = 0; i < 50; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

const ids = (from) => server.inbound.slice(from).map((b) => b.message_id);

// ------------------------------------------------------------------ checks

async function refusedForAMomentIsSentAgainOnce() {
  const page = openPage();
  server.plan.push(tooMany(3));
  await page.say("hola");
  const reason = oldPage ? tooMany(3).data.detail : words.too_many;
  assert.deepEqual(page.bubbles(), ["msg user failed: hola" + markedAgain(reason)]);
  if (!oldPage) {
    assert.equal(page.status(), fill(words.sending_again_in, { reason: words.too_many, seconds: 3 }));
    assert.ok(!page.status().includes("from your address"), "the server's English stays out");
  }
  // Retry-After and half a second: the server's limit refills then, not earlier
  assert.deepEqual(pendingWaits(), [3500]);
  await advance(3499);
  assert.equal(server.inbound.length, 1);
  await advance(1);
  assert.equal(server.inbound.length, 2);
  assert.equal(server.inbound[1].message_id, server.inbound[0].message_id);
  assert.deepEqual(page.bubbles(), ["msg user: hola", "msg bot: echo: hola"]);
  assert.equal(page.status(), "");
  await advance(120000);
  assert.equal(server.inbound.length, 2);
}

async function refusedAgainIsSentAgainAfterItsNewWait() {
  // sent again as the limit was about to refill, and refused once more: its turn comes again
  const page = openPage();
  server.plan.push(tooMany(3), tooMany(4));
  await page.say("hola");
  await advance(3500);
  assert.equal(server.inbound.length, 2);
  assert.deepEqual(page.bubbles(), ["msg user failed: hola" + markedAgain(oldPage ? tooMany(4).data.detail : words.too_many)]);
  if (!oldPage) assert.equal(page.status(), fill(words.sending_again_in, { reason: words.too_many, seconds: 4 }));
  assert.deepEqual(pendingWaits(), [4500]);
  await advance(4500);
  assert.deepEqual(ids(0), Array(3).fill(server.inbound[0].message_id));
  assert.deepEqual(page.bubbles(), ["msg user: hola", "msg bot: echo: hola"]);
  assert.equal(page.status(), "");
}

async function refusedAgainAndAgainIsLeftToTheContact() {
  // five sends in all, then its button: the page does not knock for ever
  const page = openPage();
  server.plan.push(tooMany(1), tooMany(1), tooMany(1), tooMany(1), tooMany(1));
  await page.say("hola");
  await advance(60000);
  assert.equal(server.inbound.length, 5);
  assert.deepEqual(pendingWaits(), []);
  assert.deepEqual(page.bubbles(), ["msg user failed: hola" + markedAgain(oldPage ? tooMany(1).data.detail : words.too_many)]);
  page.retry("hola").fire("click");
  await settle();
  assert.deepEqual(ids(0), Array(6).fill(server.inbound[0].message_id));
  assert.deepEqual(page.bubbles(), ["msg user: hola", "msg bot: echo: hola"]);
}

async function sentAgainByHandIsNotSentTwice() {
  const page = openPage();
  server.plan.push(tooMany(3));
  await page.say("hola");
  const button = page.retry("hola");
  button.fire("click");
  button.fire("click"); // impatient, and the button is gone already
  await settle();
  assert.equal(server.inbound.length, 2);
  await advance(3000);
  assert.equal(server.inbound.length, 2);
  assert.deepEqual(page.bubbles(), ["msg user: hola", "msg bot: echo: hola"]);
}

async function aResetForgetsTheWait() {
  const page = openPage();
  server.plan.push(tooMany(3));
  await page.say("hola");
  page.ids.reset.fire("click");
  page.ids.reset.fire("click");
  await settle();
  assert.deepEqual(page.bubbles(), []);
  await advance(10000);
  assert.equal(server.inbound.length, 1);
  assert.equal(page.status(), "");
}

async function busyIsSentAgainAfterItsRetryAfter() {
  let page = openPage();
  server.plan.push(busy(5));
  await page.say("hola");
  const reason = oldPage ? busy(5).data.detail : words.busy;
  assert.deepEqual(page.bubbles(), ["msg user failed: hola" + markedAgain(reason)]);
  if (!oldPage) assert.equal(page.status(), fill(words.sending_again_in, { reason: words.busy, seconds: 5 }));
  assert.deepEqual(pendingWaits(), [5500]);
  await advance(5500);
  assert.deepEqual(page.bubbles(), ["msg user: hola", "msg bot: echo: hola"]);
  assert.equal(new Set(ids(0)).size, 1);

  // without Retry-After: its words, and the button
  page = openPage();
  server.plan.push(busy(null));
  await page.say("hola");
  assert.deepEqual(page.bubbles(), ["msg user failed: hola" + markedAgain(reason)]);
  if (!oldPage) assert.equal(page.status(), words.try_again_soon);
  assert.deepEqual(pendingWaits(), []);

  // an HTTP date works as well as seconds
  page = openPage();
  const at = new Date(1_700_000_000_000 + 4000).toUTCString();
  server.plan.push({ status: 503, data: { detail: "busy" }, headers: { "Retry-After": at } });
  await page.say("hola");
  assert.deepEqual(pendingWaits(), [4500]);
}

async function aLongWaitIsTheContacts() {
  const page = openPage();
  server.plan.push(tooMany(600));
  await page.say("hola");
  if (!oldPage) assert.equal(page.status(), fill(words.wait_and_send_again, { seconds: 600 }));
  assert.deepEqual(pendingWaits(), []);
  assert.ok(page.retry("hola"));
  // a proxy's 429 without Retry-After: no number to give
  server.plan.push(tooMany(null));
  await page.say("otra");
  if (!oldPage) assert.equal(page.status(), fill(words.not_accepted, { reason: words.too_many }));
  assert.deepEqual(pendingWaits(), []);
}

async function tooLongIsNotOfferedAgain() {
  const page = openPage();
  server.plan.push({ status: 413, data: { detail: "request body is over the limit of 65536 bytes" } });
  await page.say("a very long message");
  const reason = oldPage ? "request body is over the limit of 65536 bytes" : words.too_long;
  assert.deepEqual(page.bubbles(), ["msg user failed: a very long message" + marked(reason)]);
  if (!oldPage) assert.equal(page.status(), words.write_shorter);
  assert.equal(page.retry("a very long message"), undefined);
  assert.deepEqual(pendingWaits(), []);
}

async function otherRefusalsKeepTheServersReason() {
  const page = openPage();
  const field = "String should have at most 4096 characters";
  server.plan.push({
    status: 422, data: { detail: [{ type: "string_too_long", loc: ["body", "text"], msg: field }] },
  });
  await page.say("x");
  assert.deepEqual(page.bubbles(), ["msg user failed: x" + marked(field)]);
  assert.equal(page.status(), fill(words.not_accepted, { reason: field }));
  const used = "message id web-1 was already used by another contact";
  server.plan.push({ status: 409, data: { detail: used } });
  await page.say("y");
  assert.equal(page.bubbles()[1], "msg user failed: y" + marked(used));
  assert.equal(page.status(), fill(words.not_accepted, { reason: used }));
  assert.deepEqual(pendingWaits(), []);
}

async function aBurstComesInOneAfterAnother() {
  const page = openPage();
  server.plan.push("hold", "hold", "hold");
  page.say_now("a");
  page.say_now("b");
  page.say_now("c");
  await settle();
  // sent in one instant: they leave 40 ms apart, so they reach the bot in the order sent
  assert.equal(server.held.length, 1);
  await advance(40);
  assert.equal(server.held.length, 2);
  await advance(40);
  const [a, b, c] = server.held.map((h) => h.body);
  server.held[0].resolve(echo(a));
  server.held[1].resolve(reply(429, tooMany(3).data, { "Retry-After": "3" }));
  server.held[2].resolve(reply(429, tooMany(3).data, { "Retry-After": "3" }));
  await settle();
  assert.deepEqual(pendingWaits(), [3500]); // one at a time
  await advance(3500);
  assert.deepEqual(ids(3), [b.message_id]);
  assert.deepEqual(pendingWaits(), [3500]);
  await advance(3500);
  assert.deepEqual(ids(3), [b.message_id, c.message_id]);
  assert.deepEqual(page.bubbles(), [
    "msg user: a", "msg bot: echo: a", "msg user: b", "msg bot: echo: b", "msg user: c", "msg bot: echo: c",
  ]);
  assert.equal(page.status(), "");
}

async function notSentAgainAfterALaterMessage() {
  // a later message got through: sent now, the refused one would reach the bot after it
  let page = openPage();
  server.plan.push(tooMany(3));
  await page.say("yes");
  await page.say("actually, no");
  await advance(3500);
  assert.equal(server.inbound.length, 2);
  assert.deepEqual(page.bubbles(), [
    "msg user failed: yes" + markedAgain(oldPage ? tooMany(3).data.detail : words.too_many),
    "msg user: actually, no", "msg bot: echo: actually, no",
  ]);

  // still on its way when the wait is over: the same
  page = openPage();
  server.plan.push(tooMany(3), "hold");
  await page.say("yes");
  await page.say("actually, no");
  await advance(3500);
  assert.equal(server.inbound.length, 2);
  if (!oldPage) assert.equal(page.status(), fill(words.wait_and_send_again, { seconds: 3 }));
  server.held[0].resolve(echo(server.held[0].body));
  await advance(60000);
  assert.equal(server.inbound.length, 2);
  assert.ok(page.retry("yes"));
}

async function onlyTheOvertakenOneIsLeftTheOthersGoInOrder() {
  // "a" refused, "b" got through (it overtook "a"), "c" and "d" refused after it: "a" keeps its
  // button, "c" and "d" are still sent, in their order
  const page = openPage();
  server.plan.push(tooMany(3), null, tooMany(3), tooMany(3));
  await page.say("a");
  await page.say("b");
  await page.say("c");
  await page.say("d");
  await advance(3 * 3500);
  assert.deepEqual(server.inbound.map((body) => body.text), ["a", "b", "c", "d", "c", "d"]);
  assert.deepEqual(page.bubbles(), [
    "msg user failed: a" + markedAgain(oldPage ? tooMany(3).data.detail : words.too_many),
    "msg user: b", "msg bot: echo: b", "msg user: c", "msg bot: echo: c", "msg user: d",
    "msg bot: echo: d",
  ]);
  assert.deepEqual(pendingWaits(), []);
}

async function main() {
  await refusedForAMomentIsSentAgainOnce();
  await refusedAgainIsSentAgainAfterItsNewWait();
  await refusedAgainAndAgainIsLeftToTheContact();
  await sentAgainByHandIsNotSentTwice();
  await aResetForgetsTheWait();
  await busyIsSentAgainAfterItsRetryAfter();
  await aLongWaitIsTheContacts();
  await tooLongIsNotOfferedAgain();
  await otherRefusalsKeepTheServersReason();
  await aBurstComesInOneAfterAnother();
  await notSentAgainAfterALaterMessage();
  await onlyTheOvertakenOneIsLeftTheOthersGoInOrder();
  console.log("ok");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
