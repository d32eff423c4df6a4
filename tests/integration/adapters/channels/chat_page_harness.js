// Runs the chat page's script against a tiny fake DOM and a fake API (no browser needed).
// Usage: node chat_page_harness.js <path to chat.js> <the page's words as JSON>. Exits non-zero
// when a check fails.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");

const { FakeElement, runChatScript } = require("./fake_page.js");

const source = fs.readFileSync(process.argv[2], "utf8");
// what the page's <script type="application/json" id="chat-words"> block holds
const wordsJson = process.argv[3];
const words = JSON.parse(wordsJson);
// the mark under a message that failed on the way, its "send again" part included
const notDelivered = (reason) => words.not_delivered.replace("{reason}", reason) + " · " + words.send_again;

// ------------------------------------------------------------------ fake API

// held: while set, POST /inbound waits for release() (a turn still running); polls are counted;
// seqs: whether answers say under which seq the outbox lists each reply (false: a server from
// before `seqs`)
const server = { outbox: [], inbound: [], held: null, polls: 0, down: false, seqs: true };

function resetServer(seqs) {
  Object.assign(server, { outbox: [], inbound: [], held: null, polls: 0, down: false, seqs: seqs });
  storage.clear();
}

function reply(status, data) {
  return { ok: status < 300, status: status, json: async () => data };
}

// The 200 answer to `body`, the replies' seqs included when the server gives them.
function answer(body, replies, seqs) {
  const data = { message_id: body.message_id, duplicate: false, replies: replies };
  if (server.seqs) data.seqs = seqs;
  return reply(200, data);
}

async function fakeFetch(url, options) {
  if (server.down) throw new TypeError("Failed to fetch");
  if (url === "inbound") {
    const body = JSON.parse(options.body);
    server.inbound.push(body);
    if (server.held) {
      return new Promise((resolve) => server.held.push({ body, resolve }));
    }
    const replies = body.type === "button_reply"
      ? [{ type: "text", text: "chose " + body.payload }]
      : [
          { type: "text", text: "echo: " + body.text },
          { type: "buttons", text: "Pick", buttons: [{ id: "book", title: "Book" }] },
        ];
    const seqs = replies.map((output) => pushOutbox(body.contact_id, output));
    return answer(body, replies, seqs);
  }
  if (url.startsWith("messages?")) {
    server.polls += 1;
    const query = new URLSearchParams(url.slice("messages?".length));
    const since = Number(query.get("since"));
    const found = server.outbox.filter(
      (m) => m.contact_id === query.get("contact_id") && m.seq > since,
    );
    return reply(200, { messages: found, last: found.length ? found[found.length - 1].seq : since });
  }
  return reply(404, { detail: "Not Found" });
}

function pushOutbox(contactId, output) {
  // keys rotated (neither the POST reply's order nor sorted): matching must not depend on it
  const entries = Object.entries(output);
  const reordered = Object.fromEntries(entries.slice(1).concat(entries.slice(0, 1)));
  const seq = server.outbox.length + 1;
  server.outbox.push({
    seq: seq, contact_id: contactId, at: "2024-05-06T09:30:00+00:00", output: reordered,
  });
  return seq;
}

// ------------------------------------------------------------------ page

const storage = new Map();

function openPage() {
  const ids = {};
  for (const [id, tag] of [["log", "div"], ["status", "p"], ["composer", "form"], ["text", "textarea"], ["reset", "a"]]) {
    ids[id] = new FakeElement(tag);
  }
  ids["chat-words"] = new FakeElement("script");
  ids["chat-words"].textContent = wordsJson;
  const intervals = [];
  const document = {
    hidden: false,
    body: new FakeElement("body"),
    getElementById: (id) => ids[id],
    createElement: (tag) => new FakeElement(tag),
    addEventListener() {},
  };
  // a page of its own, as opened at the data plane (no frame), even with ?embed=1
  runChatScript(source, document, storage, fakeFetch, {
    location: { pathname: "/", search: "?embed=1" },
    setInterval: (fn) => intervals.push(fn),
  });
  return { ids, document, tick: () => intervals.forEach((fn) => fn()) };
}

async function settle() {
  for (let i = 0; i < 50; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

function bubbles(page) {
  return page.ids.log.children.map(
    (row) => [row.className, ...row.classes].join(" ") + ": " + row.textContent,
  );
}

// Send, poll, get a reminder, press a button, reload, reset, fail: with a server that gives
// the replies' seqs, and with one from before them (replies recognised by their content).
async function chat(withSeqs) {
  resetServer(withSeqs);
  let page = openPage();
  await settle();
  assert.ok(page.document.body.classes.has("embed"));
  assert.deepEqual(bubbles(page), []);

  page.ids.text.value = "hola <b>";
  page.ids.text.fire("keydown", { key: "Enter" });
  await settle();
  assert.equal(page.ids.text.value, "");
  const contactId = server.inbound[0].contact_id;
  assert.match(contactId, /^web-[0-9a-f]{32}$/);
  assert.equal(server.inbound[0].text, "hola <b>");
  assert.deepEqual(bubbles(page), ["msg user: hola <b>", "msg bot: echo: hola <b>", "msg bot: PickBook"]);

  // the outbox holds the same replies: polling must not show them again
  page.tick();
  await settle();
  page.tick();
  await settle();
  assert.equal(bubbles(page).length, 3);

  // a message the bot sends on its own shows up once
  pushOutbox(contactId, { type: "text", text: "Reminder: tomorrow at 10:00" });
  page.tick();
  await settle();
  page.tick();
  await settle();
  assert.deepEqual(bubbles(page).slice(3), ["msg bot: Reminder: tomorrow at 10:00"]);

  // pressing a button sends its id as the payload and its title as the label
  const book = page.ids.log.all().find((n) => n.tagName === "BUTTON" && n.textContent === "Book");
  book.fire("click");
  await settle();
  const pressed = server.inbound[1];
  assert.equal(pressed.type, "button_reply");
  assert.equal(pressed.payload, "book");
  assert.equal(pressed.title, "Book");
  assert.equal(pressed.contact_id, contactId);
  assert.notEqual(pressed.message_id, server.inbound[0].message_id);
  assert.deepEqual(bubbles(page).slice(4), ["msg user: Book", "msg bot: chose book"]);

  // a reload shows the same conversation and still no duplicates
  page = openPage();
  await settle();
  page.tick();
  await settle();
  assert.equal(bubbles(page).length, 6);

  // reset: the first press asks again (the conversation stays), the second starts over with a
  // new contact id and an empty log
  page.ids.reset.fire("click");
  await settle();
  assert.equal(bubbles(page).length, 6);
  assert.equal(page.ids.reset.textContent, words.confirm_reset);
  page.ids.reset.fire("click");
  await settle();
  assert.deepEqual(bubbles(page), []);
  assert.equal(page.ids.reset.textContent, "");
  page.ids.text.value = "again";
  page.ids.composer.fire("submit");
  await settle();
  assert.notEqual(server.inbound[2].contact_id, contactId);

  // a burst: every text is posted before the first answer comes back (so debounce can merge
  // them), no poll runs meanwhile, and answers that come back out of order show in send order
  const before = bubbles(page).length;
  const sentBefore = server.inbound.length;
  server.held = [];
  for (const text of ["hi", "I'd like", "a haircut"]) {
    page.ids.text.value = text;
    page.ids.composer.fire("submit");
  }
  await settle();
  // sent in one instant, they leave 40 ms apart (they would race on parallel connections)
  assert.deepEqual(server.inbound.slice(sentBefore).map((b) => b.text), ["hi"]);
  await new Promise((resolve) => setTimeout(resolve, 120));
  await settle();
  assert.deepEqual(server.inbound.slice(sentBefore).map((b) => b.text), ["hi", "I'd like", "a haircut"]);
  const pollsBefore = server.polls;
  page.tick();
  await settle();
  assert.equal(server.polls, pollsBefore);
  const held = server.held;
  server.held = null;
  const merged = { type: "text", text: "Booking a haircut: which day?" };
  const mergedSeq = pushOutbox(held[2].body.contact_id, merged);
  held[2].resolve(answer(held[2].body, [merged], [mergedSeq]));
  await settle();
  assert.deepEqual(bubbles(page).slice(before), ["msg user: hi", "msg user: I'd like", "msg user: a haircut"]);
  held[1].resolve(answer(held[1].body, [], []));
  held[0].resolve(reply(503, { detail: "busy" }));
  await settle();
  // the message that failed stays marked (a later answer clears the status line, not the mark)
  assert.deepEqual(bubbles(page).slice(before), [
    "msg user failed: hi" + notDelivered(words.busy), "msg user: I'd like", "msg user: a haircut",
    "msg bot: Booking a haircut: which day?",
  ]);
  assert.equal(page.ids.status.text, "");
  page.tick();
  await settle();
  assert.equal(server.polls, pollsBefore + 1);
  assert.equal(bubbles(page).length, before + 4);
  const reloaded = openPage();
  await settle();
  assert.equal(bubbles(reloaded)[before], "msg user failed: hi" + notDelivered(words.busy));
  const retry = reloaded.ids.log.all().find((n) => n.className === "note retry");
  assert.equal(retry.title, words.send_again_hint);
  page = reloaded;

  // no connection: the mark and the status line say so in the page's words
  server.down = true;
  page.ids.text.value = "anyone?";
  page.ids.composer.fire("submit");
  await settle();
  server.down = false;
  assert.equal(bubbles(page).at(-1), "msg user failed: anyone?" + notDelivered(words.no_connection));
  assert.equal(page.ids.status.text, words.unreachable);
  // back: the next poll that gets an answer takes the line away; the mark stays
  page.tick();
  await settle();
  assert.equal(page.ids.status.text, "");
  assert.equal(bubbles(page).at(-1), "msg user failed: anyone?" + notDelivered(words.no_connection));

  // blank text is not sent
  page.ids.text.value = "   ";
  page.ids.composer.fire("submit");
  await settle();
  assert.equal(server.inbound.length, sentBefore + 3);
}

// Sends `text` while the turn is held; resolves to the held request, once the page posted it.
async function sendHeld(page, text) {
  server.held = [];
  page.ids.text.value = text;
  page.ids.composer.fire("submit");
  await settle();
  const [held] = server.held;
  server.held = null;
  return held;
}

function savedState() {
  return JSON.parse(storage.get("botfleet.webchat:/"));
}

// Reminders stored while a turn runs, one reading exactly like its reply: the outbox lists
// the reminder (seq 1) before the reply (seq 3). Matching by content took the reminder for
// the reply already shown, so the reminder vanished from its place and the reply came again
// after "Bring your card" ([..., "See you", "Bring your card", "See you"]). By seq, the
// reply is skipped and the reminder shown where it was sent.
async function reminderReadingLikeAReply() {
  resetServer(true);
  const page = openPage();
  await settle();
  const held = await sendHeld(page, "when?");
  const contactId = held.body.contact_id;
  const same = { type: "text", text: "See you tomorrow at 10:00" };
  pushOutbox(contactId, same);
  pushOutbox(contactId, { type: "text", text: "Bring your card" });
  held.resolve(answer(held.body, [same], [pushOutbox(contactId, same)]));
  await settle();
  assert.deepEqual(bubbles(page), ["msg user: when?", "msg bot: See you tomorrow at 10:00"]);
  assert.deepEqual(savedState().pendingSeqs, [3]);
  page.tick();
  await settle();
  page.tick();
  await settle();
  assert.deepEqual(bubbles(page), [
    "msg user: when?", "msg bot: See you tomorrow at 10:00",
    "msg bot: See you tomorrow at 10:00", "msg bot: Bring your card",
  ]);
  assert.deepEqual(savedState().pendingSeqs, []);

  // the same menu twice, and a reminder like the first: each shown once, none twice
  const menu = { type: "buttons", text: "Pick", buttons: [{ id: "book", title: "Book" }] };
  page.ids.text.value = "menu";
  page.ids.composer.fire("submit");
  await settle();
  pushOutbox(contactId, same);
  page.tick();
  await settle();
  assert.deepEqual(bubbles(page).slice(4), [
    "msg user: menu", "msg bot: echo: menu", "msg bot: PickBook", "msg bot: See you tomorrow at 10:00",
  ]);
  const again = await sendHeld(page, "menu");
  again.resolve(answer(again.body, [menu, menu], [pushOutbox(contactId, menu), pushOutbox(contactId, menu)]));
  await settle();
  page.tick();
  await settle();
  assert.deepEqual(bubbles(page).slice(8), ["msg user: menu", "msg bot: PickBook", "msg bot: PickBook"]);
}

// The seqs of replies shown from an answer are kept with the conversation: a reload before
// the next poll still does not show them again. A reply the answer gives no seq for is still
// recognised by its content, and so is one shown by a page from before seqs (its saved state
// has only `pending`).
async function seqsKeptAndContentAsFallback() {
  resetServer(true);
  let page = openPage();
  await settle();
  const held = await sendHeld(page, "hi");
  const contactId = held.body.contact_id;
  const known = { type: "text", text: "Known by its seq" };
  const unknown = { type: "text", text: "Refitted: no seq shows it" };
  const seqs = [pushOutbox(contactId, known), pushOutbox(contactId, unknown)];
  held.resolve(answer(held.body, [known, unknown], [seqs[0], null]));
  await settle();
  assert.deepEqual(savedState().pendingSeqs, [1]);
  assert.equal(savedState().pending.length, 1);
  page = openPage();
  await settle();
  page.tick();
  await settle();
  assert.deepEqual(bubbles(page), [
    "msg user: hi", "msg bot: Known by its seq", "msg bot: Refitted: no seq shows it",
  ]);
  assert.deepEqual(savedState().pending, []);

  // saved by the page before this one: no pendingSeqs
  resetServer(true);
  const output = { type: "text", text: "Shown by the older page" };
  pushOutbox("web-older", output);
  storage.set("botfleet.webchat:/", JSON.stringify({
    contactId: "web-older", last: 0, transcript: [{ from: "bot", output: output }],
    pending: ['{"text":"Shown by the older page","type":"text"}'],
  }));
  page = openPage();
  await settle();
  assert.deepEqual(bubbles(page), ["msg bot: Shown by the older page"]);
  assert.deepEqual(savedState().pendingSeqs, []);
}

async function main() {
  await chat(true);
  await chat(false);
  await reminderReadingLikeAReply();
  await seqsKeptAndContentAsFallback();
  console.log("ok");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
