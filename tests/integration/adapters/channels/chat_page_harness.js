// Runs the chat page's script against a tiny fake DOM and a fake API (no browser needed).
// Usage: node chat_page_harness.js <path to chat.js> <the page's words as JSON>. Exits non-zero
// when a check fails.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const vm = require("node:vm");

const source = fs.readFileSync(process.argv[2], "utf8");
// what the page's <script type="application/json" id="chat-words"> block holds
const wordsJson = process.argv[3];
const words = JSON.parse(wordsJson);
// the mark under a message that failed on the way, its "send again" part included
const notDelivered = (reason) => words.not_delivered.replace("{reason}", reason) + " · " + words.send_again;

class FakeElement {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.className = "";
    this.text = "";
    this.listeners = {};
    this.hidden = false;
    this.value = "";
    this.type = "";
    this.classes = new Set();
    this.classList = { add: (c) => this.classes.add(c) };
  }
  set innerHTML(_value) {
    throw new Error("innerHTML must never be used");
  }
  set textContent(value) {
    this.text = String(value);
    this.children = [];
  }
  get textContent() {
    return this.text + this.children.map((c) => c.textContent).join("");
  }
  appendChild(child) {
    this.children.push(child);
    return child;
  }
  replaceChildren(...children) {
    this.children = children;
  }
  addEventListener(type, listener) {
    (this.listeners[type] = this.listeners[type] || []).push(listener);
  }
  fire(type, extra) {
    const event = Object.assign({ preventDefault() {}, key: "", shiftKey: false }, extra);
    (this.listeners[type] || []).forEach((listener) => listener(event));
  }
  requestSubmit() {
    this.fire("submit");
  }
  focus() {}
  all() {
    return [this].concat(...this.children.map((c) => c.all()));
  }
}

// ------------------------------------------------------------------ fake API

// held: while set, POST /inbound waits for release() (a turn still running); polls are counted
const server = { outbox: [], inbound: [], held: null, polls: 0, down: false };

function reply(status, data) {
  return { ok: status < 300, status: status, json: async () => data };
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
    replies.forEach((output) => pushOutbox(body.contact_id, output));
    return reply(200, { message_id: body.message_id, duplicate: false, replies: replies });
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
  server.outbox.push({
    seq: server.outbox.length + 1, contact_id: contactId, at: "2024-05-06T09:30:00+00:00",
    output: reordered,
  });
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
  const context = vm.createContext({
    document,
    location: { pathname: "/", search: "?embed=1" },
    localStorage: {
      getItem: (k) => (storage.has(k) ? storage.get(k) : null),
      setItem: (k, v) => storage.set(k, String(v)),
    },
    crypto: globalThis.crypto,
    fetch: fakeFetch,
    URLSearchParams,
    setInterval: (fn) => intervals.push(fn),
    setTimeout,
    clearTimeout,
    console,
  });
  vm.runInContext(source, context);
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

async function main() {
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
  assert.deepEqual(server.inbound.slice(sentBefore).map((b) => b.text), ["hi", "I'd like", "a haircut"]);
  const pollsBefore = server.polls;
  page.tick();
  await settle();
  assert.equal(server.polls, pollsBefore);
  const held = server.held;
  server.held = null;
  const merged = { type: "text", text: "Booking a haircut: which day?" };
  pushOutbox(held[2].body.contact_id, merged);
  held[2].resolve(reply(200, { message_id: held[2].body.message_id, duplicate: false, replies: [merged] }));
  await settle();
  assert.deepEqual(bubbles(page).slice(before), ["msg user: hi", "msg user: I'd like", "msg user: a haircut"]);
  held[1].resolve(reply(200, { message_id: held[1].body.message_id, duplicate: false, replies: [] }));
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

  // blank text is not sent
  page.ids.text.value = "   ";
  page.ids.composer.fire("submit");
  await settle();
  assert.equal(server.inbound.length, sentBefore + 3);
  console.log("ok");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
