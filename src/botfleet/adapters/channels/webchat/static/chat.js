// botfleet web chat page. No dependencies, no build step.
// Bot text is always set with textContent, never parsed as HTML: it may contain anything.
// URLs are relative ("inbound", "messages"), so the page works under any path prefix.
(() => {
  "use strict";

  const POLL_MS = 2000;
  const MAX_TRANSCRIPT = 200; // entries kept in localStorage
  const MAX_PENDING = 100; // replies shown from POST, waiting to be matched in the outbox
  const PAGE_SIZE = 100;
  const SAFE_ID = /^[A-Za-z0-9_.:@+-]{1,128}$/;
  const STORAGE_KEY = "botfleet.webchat:" + location.pathname;

  const log = document.getElementById("log");
  const statusLine = document.getElementById("status");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const resetLink = document.getElementById("reset");

  if (new URLSearchParams(location.search).get("embed") === "1") {
    document.body.classList.add("embed");
  }

  // ------------------------------------------------------------------ state

  function randomId(prefix) {
    // getRandomValues works on plain http too (randomUUID needs a secure context)
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function freshState() {
    return { contactId: randomId("web-"), last: 0, transcript: [], pending: [] };
  }

  function loadState() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
      if (saved && typeof saved.contactId === "string" && SAFE_ID.test(saved.contactId)) {
        return {
          contactId: saved.contactId,
          last: Number.isInteger(saved.last) && saved.last >= 0 ? saved.last : 0,
          transcript: Array.isArray(saved.transcript) ? saved.transcript.slice(-MAX_TRANSCRIPT) : [],
          pending: Array.isArray(saved.pending) ? saved.pending.filter((p) => typeof p === "string") : [],
        };
      }
    } catch (err) {
      // storage blocked (private mode, third-party iframe) or corrupt: start afresh
    }
    return freshState();
  }

  function saveState() {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch (err) {
      // quota or blocked storage: the chat still works for this visit
    }
  }

  let state = loadState();

  function remember(entry) {
    state.transcript.push(entry);
    state.transcript = state.transcript.slice(-MAX_TRANSCRIPT);
    saveState();
  }

  // A stable text form of an output, to recognise it again when the outbox returns it.
  function canonical(value) {
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort()
        .map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
    }
    return JSON.stringify(value === undefined ? null : value);
  }

  // ------------------------------------------------------------------ rendering

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Web addresses in the bot's text become links, as WhatsApp and Telegram show them: only
  // http(s) addresses (the match starts with the scheme, so never "javascript:"), in a new tab
  // without access to this page. The text itself is still set as text, piece by piece.
  const WEB_ADDRESS = /https?:\/\/[^\s<>"'`]+/g;
  const CLOSING_PUNCTUATION = /[.,;:!?'"»…]+$/;

  function addressAt(found) {
    let address = found.replace(CLOSING_PUNCTUATION, "");
    // "(see <address>)": the closing bracket is the sentence's, unless it pairs one inside the
    // address (a wiki page's ".../Foo_(bar)")
    while (address.endsWith(")") && address.split(")").length > address.split("(").length) {
      address = address.slice(0, -1).replace(CLOSING_PUNCTUATION, "");
    }
    return /^https?:\/\/./.test(address) ? address : "";
  }

  function botText(text) {
    const addresses = Array.from(text.matchAll(WEB_ADDRESS));
    if (!addresses.length) return el("div", "text", text);
    const node = el("div", "text");
    let shown = 0;
    for (const found of addresses) {
      const address = addressAt(found[0]);
      if (!address) continue;
      if (found.index > shown) node.appendChild(el("span", "", text.slice(shown, found.index)));
      const link = el("a", "link", address);
      link.href = address;
      link.target = "_blank";
      link.rel = "noopener noreferrer nofollow";
      node.appendChild(link);
      shown = found.index + address.length;
    }
    if (shown < text.length) node.appendChild(el("span", "", text.slice(shown)));
    return node;
  }

  function append(row) {
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
  }

  // A message the chat did not accept stays visible, marked, so a burst never hides a failure.
  function markFailed(row, reason) {
    row.classList.add("failed");
    row.appendChild(el("div", "note", "Not delivered: " + reason));
  }

  function renderUser(entry) {
    const row = el("div", "msg user");
    row.appendChild(el("div", "bubble", entry.text));
    if (typeof entry.failed === "string") markFailed(row, entry.failed);
    append(row);
    return row;
  }

  function choiceButton(className, option, type) {
    const button = el("button", className);
    button.type = "button";
    button.appendChild(el("span", "row-title", option.title));
    if (option.description) button.appendChild(el("span", "row-description", option.description));
    button.addEventListener("click", () => {
      send({ type: type, payload: String(option.id), title: String(option.title) }, String(option.title));
    });
    return button;
  }

  function renderOptions(bubble, output) {
    if (output.type === "buttons" && Array.isArray(output.buttons)) {
      const bar = el("div", "choices");
      output.buttons.forEach((b) => bar.appendChild(choiceButton("choice", b, "button_reply")));
      bubble.appendChild(bar);
    } else if (output.type === "list" && Array.isArray(output.sections)) {
      const menu = el("details", "menu");
      menu.appendChild(el("summary", "", output.button_label || "Options"));
      output.sections.forEach((section) => {
        if (section.title) menu.appendChild(el("div", "section-title", section.title));
        (section.rows || []).forEach((r) => menu.appendChild(choiceButton("row", r, "list_reply")));
      });
      bubble.appendChild(menu);
    }
  }

  function renderBot(output) {
    if (!output || typeof output !== "object") return;
    let text = typeof output.text === "string" ? output.text : "";
    if (output.type === "template" && !text) {
      text = [output.name].concat(output.params || []).join(" ");
    }
    const row = el("div", "msg bot");
    const bubble = el("div", "bubble");
    if (text) bubble.appendChild(botText(text));
    renderOptions(bubble, output);
    row.appendChild(bubble);
    append(row);
  }

  function showBot(output) {
    renderBot(output);
    remember({ from: "bot", output: output });
  }

  function showStatus(text) {
    statusLine.textContent = text || "";
    statusLine.hidden = !text;
  }

  function renderTranscript() {
    log.replaceChildren();
    state.transcript.forEach((entry) => {
      if (entry && entry.from === "user") renderUser(entry);
      else if (entry && entry.from === "bot") renderBot(entry.output);
    });
  }

  // ------------------------------------------------------------------ network

  // A message goes out when it is sent, without waiting for the previous answer: texts typed in
  // a burst reach the bot together (a flow's `debounce_ms` answers them as one), and at human
  // pace they arrive in the order typed, which the bot keeps per contact. Answers are shown in
  // the order sent. A poll never overlaps a send: it could return replies whose POST is still
  // open, and they would be shown twice.
  let sending = 0;
  let polling = null; // the poll in progress, if any
  let shown = Promise.resolve(); // the answers shown so far, one after another

  async function errorText(response) {
    try {
      const data = await response.json();
      if (Array.isArray(data.detail) && data.detail.length) return String(data.detail[0].msg);
      if (typeof data.detail === "string") return data.detail;
    } catch (err) {
      // not JSON: fall through
    }
    return "error " + response.status;
  }

  async function post(body) {
    try {
      const response = await fetch("inbound", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!response.ok) {
        const reason = await errorText(response);
        return { reason: reason, error: "The message was not accepted: " + reason };
      }
      return { data: await response.json() };
    } catch (err) {
      return {
        reason: "no connection",
        error: "Could not reach the chat. Check your connection and try again.",
      };
    }
  }

  function showAnswer(result, contactId, entry, row) {
    if (contactId !== state.contactId) return; // the conversation was reset meanwhile
    if (result.error) {
      entry.failed = result.reason;
      markFailed(row, result.reason);
      saveState();
      showStatus(result.error);
      return;
    }
    showStatus("");
    (result.data.replies || []).forEach((output) => {
      state.pending.push(canonical(output));
      showBot(output);
    });
    state.pending = state.pending.slice(-MAX_PENDING);
    saveState();
  }

  function send(fields, shownText) {
    const contactId = state.contactId;
    const body = Object.assign({ contact_id: contactId, message_id: randomId("web-") }, fields);
    const entry = { from: "user", text: shownText };
    const row = renderUser(entry);
    remember(entry);
    sending += 1;
    const answer = (polling || Promise.resolve()).then(() => post(body));
    const done = shown.then(() => answer).then((result) => showAnswer(result, contactId, entry, row));
    shown = done.catch(() => undefined);
    return done.finally(() => {
      sending -= 1;
    });
  }

  function poll() {
    if (document.hidden || sending > 0 || polling) return;
    const contactId = state.contactId;
    polling = (async () => {
      try {
        const query = new URLSearchParams({
          contact_id: contactId, since: String(state.last), limit: String(PAGE_SIZE),
        });
        const response = await fetch("messages?" + query.toString(), { cache: "no-store" });
        if (!response.ok || contactId !== state.contactId) return;
        const data = await response.json();
        (data.messages || []).forEach((message) => {
          if (!(message.seq > state.last)) return;
          state.last = message.seq;
          const seen = state.pending.indexOf(canonical(message.output));
          if (seen >= 0) state.pending.splice(seen, 1); // already shown from the POST reply
          else showBot(message.output); // sent by the bot on its own (a reminder...)
        });
        if (Number.isInteger(data.last) && data.last > state.last) state.last = data.last;
        saveState();
      } catch (err) {
        // offline for a moment: the next poll catches up from the same cursor
      }
    })().finally(() => {
      polling = null;
    });
  }

  // ------------------------------------------------------------------ wiring

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    send({ text: text }, text);
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  resetLink.addEventListener("click", (event) => {
    event.preventDefault();
    state = freshState();
    saveState();
    showStatus("");
    renderTranscript();
    input.focus();
  });

  renderTranscript();
  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
  poll();
})();
