// The chat page's own words following the flow's language (an answer's `language`), with the
// script as the data plane serves it (every language's words written in), against a tiny fake
// DOM and a fake API (no browser needed).
// Usage: node chat_language_harness.js <served chat.js> <the page's title> <every language's
// words as JSON, keyed as chat.js keys them>. The page is a Spanish tenant's. Exits non-zero
// when a check fails.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");

const { FakeElement, runChatScript } = require("./fake_page.js");

const source = fs.readFileSync(process.argv[2], "utf8");
const title = process.argv[3];
const LANGUAGES = JSON.parse(process.argv[4]);
const TENANT = LANGUAGES.es;

// ------------------------------------------------------------------ fake API

// `language`: what the next answers name (undefined: a server from before the field)
const server = { language: null, down: false, duplicate: false, seq: 0 };

async function fakeFetch(url, options) {
  if (server.down) throw new TypeError("Failed to fetch");
  if (url === "inbound") {
    const body = JSON.parse(options.body);
    server.seq += 1;
    const data = {
      message_id: body.message_id,
      duplicate: server.duplicate,
      replies: [{ type: "text", text: "echo: " + body.text }],
      seqs: [server.seq],
    };
    if (server.language !== undefined) data.language = server.language;
    return { ok: true, status: 200, json: async () => data };
  }
  if (url.startsWith("messages?")) {
    return { ok: true, status: 200, json: async () => ({ messages: [], last: server.seq }) };
  }
  return { ok: false, status: 404, json: async () => ({ detail: "Not Found" }) };
}

// ------------------------------------------------------------------ page

const storage = new Map();

// A Spanish tenant's page as the data plane serves it (chat.html filled in).
function openPage() {
  const ids = {
    log: new FakeElement("div"),
    status: new FakeElement("p"),
    composer: new FakeElement("form"),
    text: new FakeElement("textarea"),
    reset: new FakeElement("button", TENANT.reset),
    typing: new FakeElement("p", TENANT.typing.replace("{title}", () => title)),
    "chat-title": new FakeElement("h1", title),
    "chat-words": new FakeElement("script", JSON.stringify(pick(TENANT, SCRIPT_WORDS))),
  };
  ids.typing.hidden = true;
  ids.text.placeholder = TENANT.placeholder;
  const label = new FakeElement("label", TENANT.message_label);
  const send = new FakeElement("button", TENANT.send);
  ids.composer.selectors['button[type="submit"]'] = send;
  const root = new FakeElement("html");
  root.lang = "es";
  const document = {
    hidden: false,
    title: title,
    documentElement: root,
    body: new FakeElement("body"),
    getElementById: (id) => ids[id],
    querySelector: (selector) => (selector === 'label[for="text"]' ? label : null),
    createElement: (tag) => new FakeElement(tag),
    addEventListener() {},
  };
  runChatScript(source, document, storage, fakeFetch, {});
  return { ids, root, label, send };
}

// The words chat.js reads from the page's data block (page_words.SCRIPT_WORDS): those of a
// language's set that are not written into the HTML.
const HTML_WORDS = ["reset", "message_label", "placeholder", "send", "typing"];
const SCRIPT_WORDS = Object.keys(TENANT).filter((name) => !HTML_WORDS.includes(name));

function pick(words, names) {
  return Object.fromEntries(names.map((name) => [name, words[name]]));
}

async function settle() {
  for (let i = 0; i < 50; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

async function say(page, text) {
  page.ids.text.value = text;
  page.ids.composer.fire("submit");
  await settle();
}

// What the page shows of its own words, and its <html lang>.
function frame(page) {
  return {
    lang: page.root.lang,
    reset: page.ids.reset.textContent,
    label: page.label.textContent,
    placeholder: page.ids.text.placeholder,
    send: page.send.textContent,
    typing: page.ids.typing.textContent,
  };
}

function expected(lang, words) {
  return {
    lang: lang,
    reset: words.reset,
    label: words.message_label,
    placeholder: words.placeholder,
    send: words.send,
    typing: words.typing.replace("{title}", () => title),
  };
}

// The mark under the last message (its bubble is the row's first child).
function lastNote(page) {
  const rows = page.ids.log.children;
  return rows[rows.length - 1].children.slice(1).map((c) => c.textContent).join("");
}

async function main() {
  assert.deepEqual(Object.keys(LANGUAGES).sort(), ["ca", "de", "en", "es", "fr", "it", "pt", "pt-PT"]);
  let page = openPage();
  const spanish = expected("es", TENANT);
  assert.deepEqual(frame(page), spanish);

  // no language named (the flow chose none), or a server from before the field: kept
  await say(page, "hola");
  server.language = undefined;
  await say(page, "hola");
  assert.deepEqual(frame(page), spanish);

  // the flow talks English: every word of the page follows, its lang too
  server.language = "en";
  await say(page, "english please");
  assert.deepEqual(frame(page), expected("en", LANGUAGES.en));
  server.down = true;
  await say(page, "anyone?");
  const en = LANGUAGES.en;
  assert.equal(
    lastNote(page),
    en.not_delivered.replace("{reason}", en.no_connection) + " · " + en.send_again,
  );
  assert.equal(page.ids.status.textContent, en.unreachable);
  server.down = false;

  // a language the page has no words for, a null (a retry's answer), an odd tag: kept
  for (const language of ["nl", null, "en\"><b>", 3]) {
    server.language = language;
    await say(page, "still english");
    assert.deepEqual(frame(page), expected("en", LANGUAGES.en));
  }

  // Portuguese: Portugal's words for a region other than Brazil's, as the server picks them
  server.language = "pt-AO";
  await say(page, "olá");
  assert.deepEqual(frame(page), expected("pt-AO", LANGUAGES["pt-PT"]));
  server.language = "pt-BR";
  await say(page, "olá");
  assert.deepEqual(frame(page), expected("pt-BR", LANGUAGES.pt));
  server.language = "ca-ES";
  await say(page, "bon dia");
  assert.deepEqual(frame(page), expected("ca-ES", LANGUAGES.ca));

  // a reload keeps the conversation's language, before any answer
  server.language = null;
  page = openPage();
  assert.deepEqual(frame(page), expected("ca-ES", LANGUAGES.ca));

  // a reset asks in that language, then starts a new conversation in the tenant's
  page.ids.reset.fire("click");
  assert.equal(page.ids.reset.textContent, LANGUAGES.ca.confirm_reset);
  page.ids.reset.fire("click");
  assert.deepEqual(frame(page), spanish);
  page = openPage();
  assert.deepEqual(frame(page), spanish);
  server.down = true;
  await say(page, "¿hola?");
  assert.equal(page.ids.status.textContent, TENANT.unreachable);
  console.log("ok");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
