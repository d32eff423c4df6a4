// A fake browser page for the chat page's script, shared by its node harnesses (no browser
// needed): the few DOM elements it touches (text, children with their parent, listeners,
// classes, and `innerHTML` refused), and the globals it runs with.
"use strict";

const vm = require("node:vm");

class FakeElement {
  constructor(tag, text) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.parent = null;
    this.text = text || "";
    this.className = "";
    this.listeners = {};
    this.hidden = false;
    this.value = "";
    this.placeholder = "";
    this.type = "";
    this.classes = new Set();
    this.classList = { add: (c) => this.classes.add(c), remove: (c) => this.classes.delete(c) };
    // what querySelector finds, set by the harness (a label, a form's button)
    this.selectors = {};
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
    // as in a browser, appending a child that has a place moves it from there
    if (child.parent) child.remove();
    child.parent = this;
    this.children.push(child);
    return child;
  }
  remove() {
    if (!this.parent) return;
    this.parent.children = this.parent.children.filter((c) => c !== this);
    this.parent = null;
  }
  replaceChildren(...children) {
    this.children = [];
    children.forEach((c) => this.appendChild(c));
  }
  addEventListener(type, listener) {
    (this.listeners[type] = this.listeners[type] || []).push(listener);
  }
  // `detail`: a click's count, 1 unless `extra` says otherwise (a double click's second is 2)
  fire(type, extra) {
    const event = Object.assign({ preventDefault() {}, key: "", shiftKey: false, detail: 1 }, extra);
    (this.listeners[type] || []).forEach((listener) => listener(event));
  }
  requestSubmit() {
    this.fire("submit");
  }
  querySelector(selector) {
    return this.selectors[selector] || null;
  }
  focus() {}
  // this element and every one under it
  all() {
    return [this].concat(...this.children.map((c) => c.all()));
  }
}

// Runs `source` (chat.js) as a page of its own at "/" (not in a frame): `document`, a
// localStorage kept in `storage` (a Map), `fetch`, no polling timer; `extra` adds or replaces
// globals (`location`, the timers, `Date`).
function runChatScript(source, document, storage, fetch, extra) {
  const context = vm.createContext({
    document,
    location: { pathname: "/", search: "" },
    localStorage: {
      getItem: (k) => (storage.has(k) ? storage.get(k) : null),
      setItem: (k, v) => storage.set(k, String(v)),
    },
    crypto: globalThis.crypto,
    fetch,
    URLSearchParams,
    setInterval() {},
    setTimeout,
    clearTimeout,
    console,
    ...extra,
  });
  context.window = context;
  context.parent = context;
  vm.runInContext(source, context);
  return context;
}

module.exports = { FakeElement, runChatScript };
