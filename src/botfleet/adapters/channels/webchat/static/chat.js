// botfleet web chat page. No dependencies, no build step.
// Bot text is always set with textContent, never parsed as HTML: it may contain anything.
// URLs are relative ("inbound", "messages"), so the page works under any path prefix.
(() => {
  "use strict";

  const POLL_MS = 2000;
  const MAX_TRANSCRIPT = 200; // entries kept in localStorage
  const MAX_PENDING = 100; // replies shown from POST, waiting to be passed in the outbox
  const PAGE_SIZE = 100;
  // A turn waits for connectors and the LLM (each bounded by its own timeouts); an answer this
  // late is not coming: the message is marked, to be sent again, instead of "typing" forever.
  const ANSWER_TIMEOUT_MS = 90000;
  // A message refused for the moment (429, 503) is sent again by the page after the server's
  // Retry-After up to this long; a longer wait is left to the contact (its send-again button).
  const MAX_AUTO_WAIT_S = 60;
  // How many times in all the page posts one refused message (sending it again by itself): one
  // sent again as the limit refills may meet it once more.
  const MAX_AUTO_SENDS = 5;
  // A little past Retry-After: the server's refill is due then, not earlier.
  const AUTO_WAIT_MARGIN_MS = 500;
  // The least time between two posts leaving the page: messages sent in one instant (a paste of
  // lines, a script) would otherwise race on parallel connections and could reach the bot in
  // another order than sent. Typed at human pace nothing waits.
  const MIN_POST_GAP_MS = 40;
  const SAFE_ID = /^[A-Za-z0-9_.:@+-]{1,128}$/;
  // The longest text POST /inbound takes, in characters (code points: an emoji is one). Checked
  // when sent, not by the box's maxlength, which counts an emoji as two and cuts a longer paste
  // without a word: the visitor would send its start and never know the rest was lost.
  const MAX_TEXT = 4096;
  const STORAGE_KEY = "botfleet.webchat:" + location.pathname;

  const log = document.getElementById("log");
  const statusLine = document.getElementById("status");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const resetButton = document.getElementById("reset");
  const typing = document.getElementById("typing"); // absent from a page cached before it

  // The words this script shows, in the tenant's language. The page carries them as a JSON data
  // block (its policy runs no inline script), so this file is the same in every language.
  let WORDS = readWords();

  // Every language's words, written in by the data plane and the same for every tenant (this
  // file stays one cached copy): a flow may talk to a contact in another language than the
  // tenant's (`settings.language`), and its answers name it (`language`): the page's own words
  // follow (see `followLanguage`). Keyed by ISO 639-1 code, and "pt-PT" for Portugal's.
  const LANGUAGES = /*languages*/ {};
  const LANGUAGE_TAG = /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$/;

  function readWords() {
    try {
      const words = JSON.parse(document.getElementById("chat-words").textContent);
      if (words && typeof words === "object") return words;
    } catch (err) {
      // no block (a page from before it): the bare reasons are shown, see `word`
    }
    return {};
  }

  // The channel's `greeting`, in the tenant's language (the data plane chose it, as it chose
  // WORDS): the bot's first bubble on a chat with no messages yet. Display only: nothing is sent
  // or kept, so the visitor's first message is still a new contact's first one for the flow.
  // Empty on a page without one.
  const GREETING = readGreeting();
  // It comes a moment after the page has loaded: screen readers announce what is added to the
  // log (its `aria-live`), like the bot's answers, not what a page holds as it loads.
  const GREETING_DELAY_MS = 500;

  function readGreeting() {
    const block = document.getElementById("chat-greeting");
    if (!block) return "";
    try {
      const text = JSON.parse(block.textContent);
      if (typeof text === "string") return text;
    } catch (err) {
      // not JSON: no greeting
    }
    return "";
  }

  // A word with its {placeholders} filled in; without the word, just the values.
  function word(name, values) {
    const text = WORDS[name];
    if (typeof text !== "string") return values ? Object.values(values).join(" ") : "";
    return text.replace(/\{(\w+)\}/g, (found, key) =>
      values && Object.hasOwn(values, key) ? String(values[key]) : found);
  }

  const embedded = new URLSearchParams(location.search).get("embed") === "1";
  if (embedded) document.body.classList.add("embed");

  // The page's own word, or `otherwise` on a page from before the word (a page served just
  // before an upgrade may load the script after it: `?v=` names a version, the server has one).
  function own(name, values, otherwise) {
    return typeof WORDS[name] === "string" ? word(name, values) : otherwise;
  }

  // ------------------------------------------------------------------ state

  function randomId(prefix) {
    // getRandomValues works on plain http too (randomUUID needs a secure context)
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function freshState() {
    // pendingSeqs: the outbox seqs of replies shown from a POST answer, which the poll skips;
    // pending: the content of those shown without one (a server from before `seqs`); and once
    // an answer named one, `language`: the flow's language, the page's words after a reload
    return { contactId: randomId("web-"), last: 0, transcript: [], pending: [], pendingSeqs: [] };
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
          pendingSeqs: Array.isArray(saved.pendingSeqs)
            ? saved.pendingSeqs.filter(Number.isInteger).slice(-MAX_PENDING)
            : [],
          ...(typeof saved.language === "string" && LANGUAGE_TAG.test(saved.language)
            ? { language: saved.language }
            : {}),
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

  // Right-to-left text (Arabic, Hebrew...) reads right to left, its punctuation included: each
  // message and title takes its direction from its own first letters.
  function directed(node) {
    node.dir = "auto";
    return node;
  }

  function botText(text) {
    const addresses = Array.from(text.matchAll(WEB_ADDRESS));
    if (!addresses.length) return directed(el("div", "text", text));
    const node = directed(el("div", "text"));
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

  // After new answers: the log ends with them, but when they are taller than it, it shows where
  // the first of them starts (read a long answer from its beginning, not its end).
  function reveal(first) {
    if (first && first.offsetTop < log.scrollTop) log.scrollTop = first.offsetTop - 8;
  }

  // A message the chat did not accept stays visible, marked, so a burst never hides a failure.
  // One that failed on the way (no connection, the server busy or restarting) can be sent
  // again, with its own message id: if it did arrive after all, the bot does not run it twice.
  const retryButtons = new WeakMap(); // a failed row -> its send-again button

  function markFailed(row, entry) {
    row.classList.add("failed");
    const reason = word("not_delivered", { reason: entry.failed });
    if (!entry.resend || typeof entry.resend !== "object") {
      row.appendChild(el("div", "note", reason));
      return;
    }
    const again = el("button", "note retry", reason);
    again.appendChild(el("span", "", " · " + word("send_again")));
    again.type = "button";
    again.title = word("send_again_hint");
    again.addEventListener("click", () => sendAgain(entry, row, again));
    row.appendChild(again);
    retryButtons.set(row, again);
    return again;
  }

  function renderUser(entry) {
    const row = el("div", "msg user");
    row.appendChild(directed(el("div", "bubble", entry.text)));
    if (typeof entry.failed === "string") markFailed(row, entry);
    append(row);
    return row;
  }

  // A menu takes one press at a time: a double click, or pressing again (the same option or
  // another) before the answer to the first press is shown, sends nothing more. The bot would
  // read the second press in the state the first one led to ("that is not one of our services").
  function choiceButton(className, option, type, menu) {
    const button = directed(el("button", className));
    button.type = "button";
    button.appendChild(el("span", "row-title", option.title));
    if (option.description) {
      button.appendChild(directed(el("span", "row-description", option.description)));
    }
    button.addEventListener("click", (event) => {
      if (event.detail > 1 || menu.pressed) return;
      menu.pressed = true;
      const release = () => {
        menu.pressed = false;
      };
      send({ type: type, payload: String(option.id), title: String(option.title) }, String(option.title))
        .then(release, release);
    });
    return button;
  }

  function renderOptions(bubble, output) {
    const menu = { pressed: false };
    if (output.type === "buttons" && Array.isArray(output.buttons)) {
      const bar = el("div", "choices");
      output.buttons.forEach((b) => bar.appendChild(choiceButton("choice", b, "button_reply", menu)));
      bubble.appendChild(bar);
    } else if (output.type === "list" && Array.isArray(output.sections)) {
      const list = el("details", "menu");
      list.appendChild(directed(el("summary", "", output.button_label || word("options"))));
      output.sections.forEach((section) => {
        if (section.title) list.appendChild(directed(el("div", "section-title", section.title)));
        (section.rows || []).forEach((r) => list.appendChild(choiceButton("row", r, "list_reply", menu)));
      });
      // opened at the foot of the log: scroll its rows into sight, keeping its summary in view
      list.addEventListener("toggle", () => {
        if (!list.open) return;
        const hidden = list.offsetTop + list.offsetHeight + 16 - (log.scrollTop + log.clientHeight);
        if (hidden > 0) log.scrollTop += Math.min(hidden, list.offsetTop - log.scrollTop - 8);
      });
      bubble.appendChild(list);
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
    return row;
  }

  function showBot(output) {
    const row = renderBot(output);
    remember({ from: "bot", output: output });
    return row;
  }

  function showStatus(text) {
    statusLine.textContent = text || "";
    statusLine.hidden = !text;
  }

  let greetingRow = null; // the greeting, while the log shows it

  // The greeting, once, on a conversation with nothing in it yet: no message shown or sent, and
  // none read from the outbox (`last`: a reminder may come before any message).
  function greet() {
    if (!GREETING || greetingRow || state.transcript.length > 0 || state.last > 0) return;
    greetingRow = renderBot({ type: "text", text: GREETING });
  }

  function renderTranscript() {
    log.replaceChildren();
    greetingRow = null;
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

  // "<title> is typing…" while an answer is awaited (CSS shows it only after a moment)
  function countSending(change) {
    sending += change;
    if (typing) typing.hidden = sending === 0;
  }

  async function errorText(response) {
    try {
      const data = await response.json();
      if (Array.isArray(data.detail) && data.detail.length) return String(data.detail[0].msg);
      if (typeof data.detail === "string") return data.detail;
    } catch (err) {
      // not JSON: fall through
    }
    return word("http_error", { status: response.status });
  }

  // Retry-After in seconds (a number, or an HTTP date), or null.
  function retryAfter(response) {
    const headers = response.headers;
    const value = headers && headers.get ? headers.get("Retry-After") : null;
    if (!value) return null;
    if (/^\s*\d+\s*$/.test(value)) return Math.max(1, Number(value));
    const at = Date.parse(value);
    return Number.isNaN(at) ? null : Math.max(1, Math.ceil((at - Date.now()) / 1000));
  }

  // A refused message, in the page's words for the statuses it knows: the server's `detail` is
  // English, and says what an API client needs ("send again in 3 s"), not a visitor. Any other
  // refusal keeps the server's reason (a 422 names the field at fault).
  function refusal(status, detail, seconds) {
    // the server failing or busy (a restart, 503 Retry-After) may take it a moment later;
    // a message it refused (422, 409, 413) would be refused again
    const again = status >= 500 || status === 429 || status === 408;
    const refused = { status: status, seconds: seconds, again: again };
    const general = (reason) => word("not_accepted", { reason: reason });
    if (status === 429) {
      refused.reason = own("too_many", {}, detail);
      refused.error = seconds === null
        ? general(refused.reason)
        : own("wait_and_send_again", { seconds: seconds }, general(refused.reason));
    } else if (status === 503) {
      refused.reason = own("busy", {}, detail);
      refused.error = own("try_again_soon", {}, general(refused.reason));
    } else if (status === 413) {
      refused.reason = own("too_long", {}, detail);
      refused.error = own("write_shorter", {}, general(refused.reason));
    } else {
      refused.reason = detail;
      refused.error = general(detail);
    }
    return refused;
  }

  async function post(body) {
    try {
      const request = {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      };
      if (typeof AbortSignal !== "undefined" && AbortSignal.timeout) {
        request.signal = AbortSignal.timeout(ANSWER_TIMEOUT_MS);
      }
      const response = await fetch("inbound", request);
      if (!response.ok) {
        return refusal(response.status, await errorText(response), retryAfter(response));
      }
      return { data: await response.json() };
    } catch (err) {
      if (err && err.name === "TimeoutError") {
        return { reason: word("no_answer"), error: word("timed_out"), again: true };
      }
      return { reason: word("no_connection"), error: word("unreachable"), again: true };
    }
  }

  // Returns whether the outbox is to be read now (see `duplicate` below).
  function showAnswer(result, body, entry, row, resent, order) {
    if (body.contact_id !== state.contactId) return false; // the conversation was reset meanwhile
    if (result.error) {
      entry.failed = result.reason;
      if (result.again) entry.resend = body;
      const again = markFailed(row, entry);
      saveState();
      if (again && !resent && sentLater(result)) {
        waitToSendAgain({ entry, row, again, body, order, result });
      } else {
        showStatus(result.error);
      }
      return false;
    }
    showStatus("");
    followLanguage(result.data.language);
    // A message sent again that had arrived the first time: its replies are the first answer's,
    // already in the outbox and perhaps already shown by a poll. The next poll shows those not
    // shown yet, once.
    if (result.data.duplicate) return true;
    if (resent) {
      // it had not arrived: it is delivered now, after what was sent since, so it moves down
      const at = state.transcript.indexOf(entry);
      if (at >= 0) state.transcript.splice(at, 1);
      state.transcript.push(entry);
      append(row);
    }
    let first = null;
    const replies = result.data.replies || [];
    const seqs = Array.isArray(result.data.seqs) && result.data.seqs.length === replies.length
      ? result.data.seqs
      : [];
    replies.forEach((output, i) => {
      // Known by the seq the outbox lists it under: content would also match a reminder (or
      // another reply) that reads the same. Without a seq (a data plane from before `seqs`),
      // content is all there is.
      if (Number.isInteger(seqs[i])) state.pendingSeqs.push(seqs[i]);
      else state.pending.push(canonical(output));
      const shownRow = showBot(output);
      first = first || shownRow;
    });
    reveal(first);
    state.pending = state.pending.slice(-MAX_PENDING);
    state.pendingSeqs = state.pendingSeqs.slice(-MAX_PENDING);
    saveState();
    return false;
  }

  // Posts numbered in the order the contact sent them; a message sent again by the page keeps
  // its number (see `inOrder`).
  let sentCount = 0;

  // When the next post may leave while others are on their way (see MIN_POST_GAP_MS): taken
  // in the order of the calls.
  let nextPostAt = 0;

  let postsOut = 0; // posts sent and not answered yet: only they can race a new one

  function postInTurn(body) {
    const go = () => {
      postsOut += 1;
      return post(body).finally(() => {
        postsOut -= 1;
      });
    };
    const now = Date.now();
    const at = postsOut === 0 ? now : Math.max(now, nextPostAt);
    nextPostAt = at + MIN_POST_GAP_MS;
    if (at <= now) return go();
    return new Promise((resolve) => setTimeout(resolve, at - now)).then(go);
  }

  // Resolves to the post's result once its answer is shown (null if showing it failed).
  function deliver(body, entry, row, resent, order) {
    countSending(1);
    const answer = (polling || Promise.resolve()).then(() => postInTurn(body));
    const done = shown.then(() => answer).then((result) => ({
      result: result, readOutbox: showAnswer(result, body, entry, row, resent, order),
    }));
    shown = done.catch(() => undefined);
    return done.then(
      (answered) => {
        countSending(-1);
        if (answered.readOutbox) poll();
        return answered.result;
      },
      () => {
        countSending(-1);
        return null;
      },
    );
  }

  function send(fields, shownText) {
    const body = Object.assign({ contact_id: state.contactId, message_id: randomId("web-") }, fields);
    const entry = { from: "user", text: shownText };
    const row = renderUser(entry);
    remember(entry);
    sentCount += 1;
    return deliver(body, entry, row, false, sentCount);
  }

  // The contact pressing the send-again button, or the page by itself (with the message's first
  // `order`). The one place a message is sent again: whichever comes first takes
  // `entry.resend`, and the other finds nothing to send, so a message is never posted twice.
  function sendAgain(entry, row, again, order) {
    const body = entry.resend;
    if (!body || typeof body !== "object") return Promise.resolve(null);
    delete entry.failed;
    delete entry.resend;
    again.remove();
    row.classList.remove("failed");
    saveState();
    showStatus("");
    if (order === undefined) {
      sentCount += 1;
      order = sentCount;
    }
    return deliver(body, entry, row, true, order);
  }

  // ------------------------------------------------------------------ sending again by itself

  // A message refused for the moment (429 too many messages, 503 busy, with a Retry-After of up
  // to MAX_AUTO_WAIT_S) is sent again by the page a little after that wait, with its own
  // message_id (the server runs a message once); refused again (the limit had not refilled
  // yet), it waits its turn once more, up to MAX_AUTO_SENDS times. Those refused together are
  // sent one after another, each after its own wait: a burst over the rate limit then comes in
  // at the rate the server allows. It stays marked, with its button, until then. One that a
  // later message overtook is not sent by the page (see `inOrder`); the others still are.
  const waiting = []; // {entry, row, again, body, order, result}, in the order sent
  let draining = false;

  function sentLater(result) {
    return (result.status === 429 || result.status === 503) &&
      result.seconds !== null && result.seconds <= MAX_AUTO_WAIT_S;
  }

  function waitToSendAgain(item) {
    waiting.push(item);
    if (!draining) drainWaiting();
  }

  // Not sent again by hand meanwhile, nor left behind by a reset.
  function stillWaiting(item) {
    return item.entry.resend === item.body && item.body.contact_id === state.contactId;
  }

  // It would still reach the bot in the order the contact wrote: every message sent after it
  // was refused too and is waiting behind it (none is on its way, or delivered, before it).
  function inOrder(item) {
    return waiting.length === sentCount - item.order;
  }

  async function drainWaiting() {
    draining = true;
    let note = null; // what the status line says while waiting, cleared when done
    try {
      while (waiting.length) {
        const item = waiting.shift();
        if (!stillWaiting(item)) continue;
        const { reason, seconds, error } = item.result;
        note = own("sending_again_in", { reason: reason, seconds: seconds }, error);
        showStatus(note);
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000 + AUTO_WAIT_MARGIN_MS));
        if (!stillWaiting(item)) continue;
        if (!inOrder(item)) {
          // A message sent after it got through: sent now, this one would reach the bot after
          // it (a "yes" after "actually, no"). Its button stays; those refused after it may
          // still go, in their order.
          if (statusLine.textContent === note) showStatus(error);
          note = null;
          continue;
        }
        const result = await sendAgain(item.entry, item.row, item.again, item.order);
        if (!result || !result.error) continue;
        const again = retryButtons.get(item.row);
        item.sends = (item.sends || 1) + 1;
        if (again && item.entry.resend && sentLater(result) && item.sends < MAX_AUTO_SENDS) {
          waiting.unshift(Object.assign({}, item, { again: again, result: result, body: item.entry.resend }));
          continue; // refused again as the limit refilled: its turn comes once more, first
        }
        note = null; // the refusal's own words stay up
        break; // refused for good: the contact sends it, and the others, if at all
      }
    } finally {
      waiting.length = 0;
      draining = false;
      if (note !== null && statusLine.textContent === note) showStatus("");
    }
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
        // The chat answers again: "could not reach the chat" is over (the message that met it
        // keeps its mark and its button).
        if (statusLine.textContent === word("unreachable")) showStatus("");
        const data = await response.json();
        let first = null;
        (data.messages || []).forEach((message) => {
          if (!(message.seq > state.last)) return;
          state.last = message.seq;
          const answered = state.pendingSeqs.indexOf(message.seq);
          if (answered >= 0) {
            state.pendingSeqs.splice(answered, 1); // already shown from the POST reply
            return;
          }
          const seen = state.pending.indexOf(canonical(message.output));
          if (seen >= 0) {
            state.pending.splice(seen, 1); // already shown from the POST reply
          } else {
            const row = showBot(message.output); // sent by the bot on its own (a reminder...)
            first = first || row;
          }
        });
        reveal(first);
        if (Number.isInteger(data.last) && data.last > state.last) state.last = data.last;
        // the outbox is read past them: no later page lists them
        state.pendingSeqs = state.pendingSeqs.filter((seq) => seq > state.last);
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
    if (Array.from(text).length > MAX_TEXT) {
      // kept in the box, to be shortened
      showStatus(word("write_shorter"));
      input.focus();
      return;
    }
    input.value = "";
    input.focus(); // Send pressed with the mouse or a finger: the next message is typed here
    send({ text: text }, text);
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // In the widget's frame: the widget is told that the chat runs (a frame that never says so
  // holds the browser's error page, loaded again at the next open), and Escape closes the chat
  // (the key reaches this page, not the site's). Nothing else is said: any site may frame it.
  if (embedded && window.parent !== window) {
    window.parent.postMessage({ botfleet: "ready" }, "*");
    // The widget's close button sits over a corner of the header while the chat takes a small
    // screen's whole window: the header keeps that corner clear. Only spacing changes, so the
    // message is taken from whichever site frames the chat.
    window.addEventListener("message", (event) => {
      if (event.source !== window.parent || !event.data || event.data.botfleet !== "layout") return;
      document.body.classList.toggle("corner-left", event.data.corner === "left");
      document.body.classList.toggle("corner-right", event.data.corner === "right");
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.isComposing) {
        window.parent.postMessage({ botfleet: "escape" }, "*");
      }
    });
  }

  // Reset asks for a second press (within a few seconds) once there is a conversation: the new
  // contact id leaves the bot's state and anything booked with the old one, which this page then
  // no longer knows ("My appointments" would not list it).
  let resetLabel = resetButton.textContent; // the flow's language may change it
  const RESET_CONFIRM_MS = 5000;
  let resetArmed = null;

  function disarmReset() {
    if (resetArmed !== null) clearTimeout(resetArmed);
    resetArmed = null;
    resetButton.textContent = resetLabel;
  }

  resetButton.addEventListener("click", (event) => {
    event.preventDefault();
    if (resetArmed === null && state.transcript.length > 0) {
      resetButton.textContent = word("confirm_reset");
      resetArmed = setTimeout(disarmReset, RESET_CONFIRM_MS);
      return;
    }
    disarmReset();
    state = freshState();
    saveState();
    // a new conversation: the flow has chosen nothing yet
    if (tenantFrame) showFrame(tenantFrame);
    showStatus("");
    renderTranscript();
    greet(); // a new conversation, greeted at once: the page has long loaded
    input.focus();
  });

  // ------------------------------------------------------------------ the flow's language

  // The page's words as served (the tenant's language), kept at the first change of language:
  // a reset goes back to them.
  let tenantFrame = null;

  // The words for a language tag ("es", "ca-ES", "pt-PT"), or null when the page has none.
  // Portuguese with a region other than Brazil's is Portugal's, as on the server (page_words).
  function wordsFor(tag) {
    const subtags = tag.toLowerCase().split("-");
    const region = subtags.slice(1).find((subtag) => /^(?:[a-z]{2}|\d{3})$/.test(subtag));
    const key = subtags[0] === "pt" && region && region !== "br" ? "pt-PT" : subtags[0];
    const words = Object.hasOwn(LANGUAGES, key) ? LANGUAGES[key] : null;
    return words && typeof words === "object" ? words : null;
  }

  // The words written into the page, and where they are (a page cached before one may lack it).
  function frameParts() {
    const find = (root, selector) => (root && root.querySelector ? root.querySelector(selector) : null);
    return {
      root: document.documentElement,
      label: find(document, 'label[for="text"]'),
      send: find(form, 'button[type="submit"]'),
    };
  }

  function currentFrame() {
    const parts = frameParts();
    return {
      lang: parts.root ? parts.root.lang : "",
      words: WORDS,
      reset: resetLabel,
      label: parts.label ? parts.label.textContent : "",
      placeholder: input.placeholder,
      send: parts.send ? parts.send.textContent : "",
      typing: typing ? typing.textContent : "",
    };
  }

  function showFrame(frame) {
    const parts = frameParts();
    WORDS = frame.words;
    if (parts.root) parts.root.lang = frame.lang;
    resetLabel = frame.reset;
    if (resetArmed === null) resetButton.textContent = resetLabel;
    if (parts.label) parts.label.textContent = frame.label;
    input.placeholder = frame.placeholder;
    if (parts.send) parts.send.textContent = frame.send;
    if (typing) typing.textContent = frame.typing;
  }

  // An answer naming the language the flow talks in: the page's own words (labels, "is
  // typing", errors) and its <html lang> follow, for this conversation. A language the page
  // has no words for, or none (null: the flow chose none; a retry's answer), keeps them.
  function followLanguage(tag) {
    if (typeof tag !== "string" || !LANGUAGE_TAG.test(tag)) return;
    const words = wordsFor(tag);
    if (!words) return;
    if (tenantFrame === null) tenantFrame = currentFrame();
    const heading = document.getElementById("chat-title");
    const title = heading ? heading.textContent : document.title;
    showFrame({
      lang: tag,
      words: words,
      reset: words.reset,
      label: words.message_label,
      placeholder: words.placeholder,
      send: words.send,
      typing: String(words.typing).replace("{title}", () => title),
    });
    if (state.language !== tag) {
      state.language = tag;
      saveState();
    }
  }

  if (state.language) followLanguage(state.language); // a reload: the conversation's language
  renderTranscript();
  if (GREETING) {
    // a reload with messages shows them alone (`greet` finds them)
    const later = () => setTimeout(greet, GREETING_DELAY_MS);
    if (document.readyState === "complete") later();
    else window.addEventListener("load", later, { once: true });
  }
  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
  poll();
})();
