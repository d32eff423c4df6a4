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
  removeAttribute(name) {
    delete this.attributes[name];
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
  // timers run when the test says (`runTimers`), never by the clock
  const timers = new Map();
  let nextTimer = 1;
  window.setTimeout = (fn, ms) => {
    timers.set(nextTimer, { fn, ms });
    return nextTimer++;
  };
  window.clearTimeout = (id) => timers.delete(id);
  const runTimers = () => {
    const due = [...timers.values()];
    timers.clear();
    due.forEach((timer) => timer.fn());
    return due.map((timer) => timer.ms);
  };
  return { window, document, runTimers, context: vm.createContext(window) };
}

// The chat frame's window, as the widget sees it: what the widget posts to it is kept.
function chatWindow() {
  const posted = [];
  // copied as the browser does (structured clone): plain objects of this realm, to compare
  const postMessage = (data, origin) => posted.push(JSON.parse(JSON.stringify({ data, origin })));
  return { posted, postMessage };
}

function load(p) {
  vm.runInContext(source, p.context, { filename: "widget.js" });
}

// ------------------------------------------------------------------ one tag, one bubble

const shop = page("https://bot.example.com/salon/widget.js", {}, true);
load(shop);
const [bubble, panel, endGuard] = shop.document.body.children;
assert.equal(shop.document.body.children.length, 3);
// the guard that keeps Tab in a whole-window chat: out of Tab's way while the chat floats
assert.equal(endGuard.tabIndex, -1);
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
frame.contentWindow = chatWindow();
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

// ------------------------------------------------------------------ the chat does not load

// The data plane is down: the frame loads the browser's error page, which never says "ready".
// The panel then shows our words (the tenant's, carried by the widget) and a button to try again.
const down = page("https://bot.example.com/down/widget.js", {}, true);
load(down);
const [downBubble, downPanel] = down.document.body.children;
downBubble.fire("click");
const downFrame = downPanel.find("IFRAME");
downFrame.contentWindow = chatWindow();
const notice = downPanel.children[1];
const [noticeText, retry] = notice.children;
assert.equal(notice.style.cssText.includes("display:none"), true, "no notice while it loads");
downFrame.fire("load"); // the error page: loaded, without a word from the chat
downFrame.focus(); // the visitor had tabbed into it
assert.deepEqual(down.runTimers(), [1500], "a loaded frame has a moment to say it runs");
assert.equal(notice.style.display, "flex");
assert.equal(noticeText.textContent, "The chat is not available right now.");
assert.equal(noticeText.getAttribute("role"), "alert");
assert.equal(retry.textContent, "Try again");
assert.equal(downFrame.style.visibility, "hidden", "the error page is not shown, nor tabbed into");
assert.equal(down.document.activeElement, retry, "the focus is not lost under the notice");
// trying again loads the chat again; this time it comes, after the time a slow one may take
downFrame.src = "chrome-error://chromewebdata/";
retry.fire("click");
assert.equal(downFrame.src, "https://bot.example.com/down/?embed=1");
assert.equal(notice.style.display, "none");
assert.equal(noticeText.textContent, "");
assert.equal(downFrame.style.visibility, "visible");
assert.equal(down.document.activeElement, downFrame);
assert.deepEqual(down.runTimers(), [8000], "a frame that never loads is given up on too");
assert.equal(notice.style.display, "flex");
down.window.fire("message", { data: { botfleet: "ready" }, source: downFrame.contentWindow, origin: "https://bot.example.com" });
assert.equal(notice.style.display, "none", "a slow chat that came after all is shown");
downFrame.fire("load");
assert.deepEqual(down.runTimers(), [], "a running chat is never covered");

// ------------------------------------------------------------------ small screens

// Under 480 px wide or 500 px tall the open chat takes the whole window, and the bubble (the
// close control) sits in its header's corner, which the chat page is told to keep clear.
const phone = page("https://bot.example.com/widget.js", { position: "left" }, true);
const screen = { matches: true, listeners: [] };
screen.addEventListener = (type, listener) => screen.listeners.push(listener);
const queries = [];
phone.window.matchMedia = (query) => queries.push(query) && screen;
load(phone);
assert.deepEqual(queries, ["(max-width: 480px), (max-height: 500px)"]);
const [phoneBubble, phonePanel] = phone.document.body.children;
assert.ok(phoneBubble.style.cssText.includes("bottom:20px"), "closed, the bubble floats as ever");
phoneBubble.fire("click");
const wholeWindow = ["top:0", "left:0", "width:100%", "height:100%", "display:block"];
wholeWindow.forEach((rule) => assert.ok(phonePanel.style.cssText.includes(rule), rule));
assert.ok(phoneBubble.style.cssText.includes("top:4px;left:4px"), phoneBubble.style.cssText);
assert.ok(!phoneBubble.style.cssText.includes("bottom:"));
const zIndex = (e) => Number(/z-index:(\d+)/.exec(e.style.cssText)[1]);
assert.ok(zIndex(phoneBubble) > zIndex(phonePanel), "the close control is above the chat");
const phoneFrame = phonePanel.find("IFRAME");
phoneFrame.contentWindow = chatWindow();
phone.window.fire("message", { data: { botfleet: "ready" }, source: phoneFrame.contentWindow, origin: "https://bot.example.com" });
assert.deepEqual(phoneFrame.contentWindow.posted, [
  { data: { botfleet: "layout", corner: "left" }, origin: "https://bot.example.com" },
]);
screen.matches = false; // turned to landscape on a tablet, or zoomed back
screen.listeners.forEach((listener) => listener());
assert.ok(phonePanel.style.cssText.includes("bottom:88px"), phonePanel.style.cssText);
assert.ok(phoneBubble.style.cssText.includes("bottom:20px"));
assert.deepEqual(phoneFrame.contentWindow.posted[1].data, { botfleet: "layout", corner: "" });
phoneBubble.fire("click");
assert.ok(phonePanel.style.cssText.includes("display:none"));

// ------------------------------------------------------------------ included twice

load(shop);
assert.equal(shop.document.body.children.length, 3, "a second tag adds no second bubble");

// ------------------------------------------------------------------ open on the next page

// The visitor opens the chat and goes to another page of the site (this tab's sessionStorage):
// it is open there too; closed, the next page starts closed.
const tabStorage = new Map();
const sessionStorage = {
  getItem: (key) => (tabStorage.has(key) ? tabStorage.get(key) : null),
  setItem: (key, value) => tabStorage.set(key, String(value)),
  removeItem: (key) => tabStorage.delete(key),
};
const firstPage = page("https://bot.example.com/salon/widget.js", {}, true);
firstPage.window.sessionStorage = sessionStorage;
load(firstPage);
const [firstBubble, firstPanel] = firstPage.document.body.children;
assert.equal(firstPanel.hidden, true, "closed on a first visit");
firstBubble.fire("click");
const nextPage = page("https://bot.example.com/salon/widget.js", {}, true);
nextPage.window.sessionStorage = sessionStorage;
load(nextPage);
const [nextBubble, nextPanel] = nextPage.document.body.children;
assert.equal(nextPanel.hidden, false, "open on the next page");
assert.equal(nextBubble.getAttribute("aria-expanded"), "true");
nextBubble.fire("click");
const thirdPage = page("https://bot.example.com/salon/widget.js", {}, true);
thirdPage.window.sessionStorage = sessionStorage;
load(thirdPage);
assert.equal(thirdPage.document.body.children[1].hidden, true, "closed, it stays closed");
// another tenant's chat on the same site keeps its own state
const otherPage = page("https://bot.example.com/other/widget.js", {}, true);
otherPage.window.sessionStorage = sessionStorage;
firstBubble.fire("click");
load(otherPage);
assert.equal(otherPage.document.body.children[1].hidden, true);

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
