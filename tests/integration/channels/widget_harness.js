// Runs the embeddable widget (widget.js as the data plane serves it) against a tiny fake DOM,
// as a business's page would load it with one <script> tag. No browser needed.
// Usage: node widget_harness.js <widget.js> <expected title>. Exits non-zero when a check fails.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const vm = require("node:vm");

const source = fs.readFileSync(process.argv[2], "utf8");
const title = process.argv[3];

let focused = null; // document.activeElement of the page under test

class FakeElement {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.attributes = {};
    this.listeners = {};
    this.style = { cssText: "", display: "" };
    this.hidden = false;
  }
  setAttribute(name, value) {
    this.attributes[name] = String(value);
  }
  getAttribute(name) {
    return this.attributes[name];
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
    (this.listeners[type] || []).forEach((listener) => listener(Object.assign({}, extra)));
  }
  set innerHTML(_value) {
    throw new Error("innerHTML must never be used");
  }
  contains(node) {
    return node === this || this.children.some((child) => child.contains(node));
  }
  focus() {
    focused = this;
  }
  find(tag) {
    if (this.tagName === tag) return this;
    for (const child of this.children) {
      const found = child.find(tag);
      if (found) return found;
    }
    return null;
  }
}

function page(scriptSrc, dataset, bodyReady) {
  const document = new FakeElement("#document");
  document.body = bodyReady ? new FakeElement("body") : null;
  document.currentScript = { src: scriptSrc, dataset };
  document.createElement = (tag) => new FakeElement(tag);
  document.createElementNS = (_ns, tag) => new FakeElement(tag);
  Object.defineProperty(document, "activeElement", { get: () => focused });
  const window = { document, URL, listeners: {} };
  window.addEventListener = (type, listener) => {
    (window.listeners[type] = window.listeners[type] || []).push(listener);
  };
  window.fire = (type, extra) => (window.listeners[type] || []).forEach((listener) => listener(extra));
  window.window = window;
  return { window, document, context: vm.createContext(window) };
}

function load(p) {
  vm.runInContext(source, p.context, { filename: "widget.js" });
}

// ------------------------------------------------------------------ one tag, one bubble

const shop = page("https://bot.example.com/salon/widget.js", {}, true);
load(shop);
const [bubble, panel] = shop.document.body.children;
assert.equal(shop.document.body.children.length, 2);
assert.equal(bubble.tagName, "BUTTON");
assert.equal(bubble.getAttribute("aria-label"), "Open chat: " + title);
assert.equal(bubble.getAttribute("aria-expanded"), "false");
assert.ok(bubble.style.cssText.includes("right:20px"));
assert.equal(panel.getAttribute("role"), "dialog");
assert.equal(panel.hidden, true);
assert.equal(panel.find("IFRAME"), null, "the chat loads only when opened");

// ------------------------------------------------------------------ open, close, Escape

bubble.fire("click");
assert.equal(panel.hidden, false);
assert.equal(bubble.getAttribute("aria-expanded"), "true");
const frame = panel.find("IFRAME");
assert.equal(frame.src, "https://bot.example.com/salon/?embed=1");
assert.equal(frame.title, title);
bubble.fire("click");
assert.equal(panel.hidden, true);
bubble.fire("click");
assert.equal(panel.find("IFRAME"), frame, "reopening keeps the same frame");
// the chat page never said it runs (the data plane was down): opening again loads it again
frame.src = "chrome-error://chromewebdata/";
bubble.fire("click");
bubble.fire("click");
assert.equal(frame.src, "https://bot.example.com/salon/?embed=1", "a failed chat is tried again");
shop.document.fire("keydown", { key: "Escape" });
assert.equal(panel.hidden, true);
assert.equal(bubble.getAttribute("aria-label"), "Open chat: " + title);

// ------------------------------------------------------------------ Escape inside the chat

// the key reaches the chat's own document: the chat page posts {botfleet: "escape"}, and only
// the widget's frame, from the chat's origin, is obeyed; the focus goes back to the bubble
bubble.fire("click");
frame.contentWindow = { name: "the chat" };
frame.focus();
const escape = { data: { botfleet: "escape" }, source: frame.contentWindow };
shop.window.fire("message", { ...escape, origin: "https://evil.example" });
shop.window.fire("message", { ...escape, source: {}, origin: "https://bot.example.com" });
assert.equal(panel.hidden, false, "a message from another window or origin closes nothing");
shop.window.fire("message", { ...escape, origin: "https://bot.example.com" });
assert.equal(panel.hidden, true);
assert.equal(shop.document.activeElement, bubble, "the focus is not lost on the page");

// once the chat said it runs, opening again keeps it as it is (its conversation on screen)
shop.window.fire("message", { data: { botfleet: "ready" }, source: frame.contentWindow, origin: "https://bot.example.com" });
frame.src = "kept";
bubble.fire("click");
assert.equal(frame.src, "kept", "a running chat is not loaded again");

// ------------------------------------------------------------------ included twice

load(shop);
assert.equal(shop.document.body.children.length, 2, "a second tag adds no second bubble");

// ------------------------------------------------------------------ options and early load

const left = page("https://bot.example.com/widget.js", { position: "left" }, false);
load(left);
assert.equal(left.document.body, null);
left.document.body = new FakeElement("body");
left.document.fire("DOMContentLoaded");
const leftBubble = left.document.body.children[0];
assert.ok(leftBubble.style.cssText.includes("left:20px"));
leftBubble.fire("click");
assert.equal(left.document.body.children[1].find("IFRAME").src, "https://bot.example.com/?embed=1");

console.log("widget ok");
