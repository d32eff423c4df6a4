// Runs the chat page's script on a tiny fake DOM and checks how web addresses in the bot's text
// are shown: as links (http and https only, a new tab, no opener), the text itself unchanged.
// Usage: node chat_links_harness.js <path to chat.js>. Exits non-zero when a check fails.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const vm = require("node:vm");

const source = fs.readFileSync(process.argv[2], "utf8");

class FakeElement {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.className = "";
    this.text = "";
    this.listeners = {};
    this.classList = { add() {} };
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
  setAttribute(name, value) {
    this[name] = String(value);
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

let replies = [];

async function fakeFetch(url, options) {
  if (url === "inbound") {
    const body = JSON.parse(options.body);
    const data = { message_id: body.message_id, duplicate: false, replies: replies };
    return { ok: true, status: 200, json: async () => data };
  }
  return { ok: true, status: 200, json: async () => ({ messages: [], last: 0 }) };
}

function openPage() {
  const ids = {};
  for (const [id, tag] of [["log", "div"], ["status", "p"], ["composer", "form"], ["text", "textarea"], ["reset", "a"]]) {
    ids[id] = new FakeElement(tag);
  }
  const storage = new Map();
  const document = {
    hidden: false,
    body: new FakeElement("body"),
    getElementById: (id) => ids[id],
    createElement: (tag) => new FakeElement(tag),
    addEventListener() {},
  };
  vm.runInContext(source, vm.createContext({
    document,
    location: { pathname: "/", search: "" },
    localStorage: { getItem: (k) => storage.get(k) || null, setItem: (k, v) => storage.set(k, v) },
    crypto: globalThis.crypto,
    fetch: fakeFetch,
    URLSearchParams,
    setInterval() {},
    console,
  }));
  return ids;
}

async function settle() {
  for (let i = 0; i < 50; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

async function say(ids, text) {
  ids.text.value = text;
  ids.text.fire("keydown", { key: "Enter" });
  await settle();
}

function lastBotText(ids) {
  const rows = ids.log.children;
  const bubble = rows[rows.length - 1].children[0];
  return bubble.children[0];
}

async function main() {
  const ids = openPage();
  const text =
    "Book at https://salon.example/book?day=2&time=10:00. Map: (https://maps.example/Foo_(bar)),\n" +
    "not javascript:alert(1) nor <img src=x onerror=alert(1)>, see http://old.example!";
  replies = [
    { type: "text", text: text },
    { type: "buttons", text: "Pay here: https://pay.example/x", buttons: [{ id: "ok", title: "OK https://b.example" }] },
    { type: "text", text: "No address here <b>at all</b>" },
  ];
  await say(ids, "hi");

  const rows = ids.log.children;
  assert.equal(rows.length, 4);
  const first = rows[1].children[0].children[0];
  // the text reads exactly as sent
  assert.equal(first.textContent, text);
  const links = first.all().filter((n) => n.tagName === "A");
  assert.deepEqual(links.map((a) => a.href), [
    "https://salon.example/book?day=2&time=10:00",
    "https://maps.example/Foo_(bar)",
    "http://old.example",
  ]);
  assert.deepEqual(links.map((a) => a.textContent), links.map((a) => a.href));
  for (const a of links) {
    assert.equal(a.target, "_blank");
    assert.match(a.rel, /\bnoopener\b/);
    assert.match(a.rel, /\bnoreferrer\b/);
  }
  // nothing else became an element that could run or load anything
  const tags = new Set(first.all().map((n) => n.tagName));
  assert.deepEqual([...tags].sort(), ["A", "DIV", "SPAN"]);

  // the body of a message with options gets its link; button titles stay plain labels
  const second = rows[2].children[0];
  const secondLinks = second.all().filter((n) => n.tagName === "A");
  assert.deepEqual(secondLinks.map((a) => a.href), ["https://pay.example/x"]);
  assert.equal(second.all().filter((n) => n.tagName === "BUTTON")[0].textContent, "OK https://b.example");

  // text without an address is one text element, as before
  const third = rows[3].children[0].children[0];
  assert.equal(third.text, "No address here <b>at all</b>");
  assert.deepEqual(third.children, []);

  // what the user typed is never turned into links
  replies = [];
  await say(ids, "my site https://me.example");
  const mine = ids.log.children[ids.log.children.length - 1];
  assert.equal(mine.all().filter((n) => n.tagName === "A").length, 0);
  console.log("ok");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
