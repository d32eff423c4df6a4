// Runs the embeddable widget (widget.js as the data plane serves it) against a tiny fake DOM,
// as a business's page would load it with one <script> tag. No browser needed.
// Usage: node widget_harness.js <widget.js> <expected title>. Exits non-zero when a check fails.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const vm = require("node:vm");

const source = fs.readFileSync(process.argv[2], "utf8");
const title = process.argv[3];

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
  const window = { document, URL };
  window.window = window;
  return { window, document, context: vm.createContext(window) };
}

function load(p) {
  vm.runInContext(source, p.context, { filename: "widget.js" });
}

// ------------------------------------------------------------------ one tag, one bubble

const shop = page("https://bot.example.com/salon/widget.js", {}, true);
load(shop);
const [panel, bubble] = shop.document.body.children;
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
assert.equal(panel.find("IFRAME"), frame, "reopening keeps the same conversation");
shop.document.fire("keydown", { key: "Escape" });
assert.equal(panel.hidden, true);
assert.equal(bubble.getAttribute("aria-label"), "Open chat: " + title);

// ------------------------------------------------------------------ included twice

load(shop);
assert.equal(shop.document.body.children.length, 2, "a second tag adds no second bubble");

// ------------------------------------------------------------------ options and early load

const left = page("https://bot.example.com/widget.js", { position: "left" }, false);
load(left);
assert.equal(left.document.body, null);
left.document.body = new FakeElement("body");
left.document.fire("DOMContentLoaded");
const leftBubble = left.document.body.children[1];
assert.ok(leftBubble.style.cssText.includes("left:20px"));
leftBubble.fire("click");
assert.equal(left.document.body.children[0].find("IFRAME").src, "https://bot.example.com/?embed=1");

console.log("widget ok");
