// botfleet chat widget. Embed on any site with one tag:
//   <script src="https://bot.example.com/widget.js" async></script>
// It adds a floating bubble that opens the chat page (same origin and path as this script)
// in an iframe. Options on the tag: data-position="left" puts the bubble on the left.
(() => {
  "use strict";

  if (window.__botfleetChatWidget) return; // included twice: one bubble is enough
  window.__botfleetChatWidget = true;

  const TITLE = /*title*/ "Chat";
  // the widget's words, in the tenant's language (the data plane fills them in with TITLE): it
  // runs on the business's site, so the words it shows when the chat cannot load come with it
  const LABELS = /*labels*/ { open: "Open chat: Chat", close: "Close chat", unavailable: "The chat is not available right now.", try_again: "Try again" };
  // the channel's `embed_origins` (origins, some perhaps with a "*." host: every subdomain), or
  // null: any site. The chat page's Content-Security-Policy lets only these frame it.
  const SITES = /*sites*/ null;
  const script = document.currentScript;
  if (!script || !script.src) return;
  // The chat lives beside this script: ".../widget.js" -> ".../?embed=1".
  const base = new URL(".", script.src);
  const chatUrl = new URL("?embed=1", base).href;
  const chatOrigin = new URL(chatUrl).origin;

  // Whether the chat page lets this site frame it, read as the browser reads `frame-ancestors`:
  // the same scheme (an http:// site's https:// pages too), port and host, or a subdomain of
  // a "*." site's name (not the name itself).
  function listed(site, here) {
    const wild = site.indexOf("://*.") > 0;
    const named = new URL(wild ? site.replace("://*.", "://") : site);
    const scheme = named.protocol === here.protocol ||
      (named.protocol === "http:" && here.protocol === "https:");
    if (!scheme || named.port !== here.port) return false;
    return wild ? here.hostname.endsWith("." + named.hostname) : here.hostname === named.hostname;
  }
  function allowedHere() {
    if (SITES === null || location.origin === chatOrigin) return true;
    try {
      const here = new URL(location.origin); // "null" (a file, a sandbox) throws: not listed
      return SITES.some((site) => listed(site, here));
    } catch (notAnOrigin) {
      return false;
    }
  }
  if (!allowedHere()) {
    // A bubble whose chat the browser refuses to frame would only lead to an error panel:
    // none, and a line for the site's developer.
    console.warn(
      "botfleet chat widget: " + location.origin + " is not in the chat's embed_origins (" +
        SITES.join(", ") + "): the chat is not shown on this site"
    );
    return;
  }
  const side = script.dataset.position === "left" ? "left" : "right";
  const SVG = "http://www.w3.org/2000/svg"; // an XML namespace name, never fetched
  // The chat page says it runs ({botfleet: "ready"}) as soon as its script does. A frame that
  // loaded without saying so holds an error page (the browser's, or a proxy's 502); one that
  // has not loaded this long after opening waits on a data plane that does not answer.
  const READY_AFTER_LOAD_MS = 1500;
  const LOAD_WAIT_MS = 8000;
  // Below this the floating panel leaves the chat no room (320x256 CSS px, the reflow size of
  // WCAG 1.4.10, or a laptop at 200% zoom): the open chat takes the whole window instead.
  const SMALL_SCREEN = "(max-width: 480px), (max-height: 500px)";

  function icon(pathData) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "28");
    svg.setAttribute("height", "28");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", pathData);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  const CHAT_ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z";
  const CLOSE_ICON =
    "M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7 4.3 4.3l6.3 6.3 6.3-6.3z";

  const bubble = document.createElement("button");
  bubble.type = "button";
  bubble.setAttribute("aria-label", LABELS.open);
  bubble.setAttribute("aria-expanded", "false");
  bubble.appendChild(icon(CHAT_ICON));
  const BUBBLE = [
    "position:fixed", "z-index:2147483647", "border:0", "cursor:pointer", "padding:0",
    "background:#2563eb", "color:#fff", "display:flex", "align-items:center",
    "justify-content:center",
  ].join(";");
  const FLOATING_BUBBLE = [
    BUBBLE, "bottom:20px", side + ":20px", "width:56px", "height:56px", "border-radius:50%",
    "box-shadow:0 4px 14px rgba(0,0,0,.25)",
  ].join(";");
  // over the whole-window chat: the close control in its header's corner, which the chat page
  // keeps clear when told (`tellLayout`)
  const CORNER_BUBBLE = [
    BUBBLE, "top:4px", side + ":4px", "width:40px", "height:40px", "border-radius:8px",
  ].join(";");

  const panel = document.createElement("div");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", TITLE);
  panel.hidden = true;
  // one below the bubble's: the bubble stays on top of the whole-window chat, to close it
  const PANEL = "position:fixed;z-index:2147483646;overflow:hidden;background:#fff";
  const FLOATING_PANEL = [
    PANEL, "bottom:88px", side + ":20px",
    "width:min(380px, calc(100vw - 40px))", "height:min(600px, calc(100vh - 120px))",
    "border-radius:12px", "box-shadow:0 8px 30px rgba(0,0,0,.3)",
  ].join(";");
  const WHOLE_PANEL = [PANEL, "top:0", "left:0", "width:100%", "height:100%"].join(";");

  // What the panel shows instead of an error page: our words, and a button to load it again.
  const notice = document.createElement("div");
  notice.style.cssText = [
    "position:absolute", "top:0", "left:0", "right:0", "bottom:0", "display:none",
    "flex-direction:column", "align-items:center", "justify-content:center", "gap:12px",
    "padding:24px", "box-sizing:border-box", "background:#fff", "color:#1d2330",
    "font:16px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "text-align:center",
  ].join(";");
  const noticeText = document.createElement("p");
  noticeText.setAttribute("role", "alert"); // said by screen readers when the words appear
  noticeText.style.cssText = "margin:0";
  const retry = document.createElement("button");
  retry.type = "button";
  retry.textContent = LABELS.try_again;
  retry.style.cssText = [
    "font:inherit", "padding:8px 16px", "border:0", "border-radius:12px", "cursor:pointer",
    "background:#2563eb", "color:#fff",
  ].join(";");
  notice.appendChild(noticeText);
  notice.appendChild(retry);

  const small = typeof window.matchMedia === "function" ? window.matchMedia(SMALL_SCREEN) : null;
  function whole() {
    return !panel.hidden && small !== null && small.matches;
  }

  function layout() {
    bubble.style.cssText = whole() ? CORNER_BUBBLE : FLOATING_BUBBLE;
    panel.style.cssText =
      (whole() ? WHOLE_PANEL : FLOATING_PANEL) + (panel.hidden ? ";display:none" : ";display:block");
    // a dialog that hides the site while it is open (see the focus rule below)
    if (whole()) panel.setAttribute("aria-modal", "true");
    else panel.removeAttribute("aria-modal");
    endGuard.tabIndex = whole() ? 0 : -1;
    tellLayout();
  }

  // The chat page keeps its header's corner under the bubble clear while the chat takes the
  // whole window. Told to our frame's origin only; the page takes nothing else from it.
  function tellLayout() {
    if (frame && ready && frame.contentWindow) {
      frame.contentWindow.postMessage({ botfleet: "layout", corner: whole() ? side : "" }, chatOrigin);
    }
  }

  let frame = null;
  let ready = false; // the chat page said it runs: the frame holds the chat, not an error page
  let waiting = null; // the timer that shows `notice` if the chat does not say it runs

  function expectReady(ms) {
    clearTimeout(waiting);
    waiting = setTimeout(showNotice, ms);
  }

  // first open, or the chat did not load the last time: (re)load it. Closing and opening
  // again, or the notice's button, is how a visitor tries again, without reloading the site.
  function load() {
    ready = false;
    hideNotice();
    frame.src = chatUrl;
    expectReady(LOAD_WAIT_MS);
  }

  function showNotice() {
    if (ready) return;
    // the focus was in the frame (its error page): on the button, not lost under the notice
    const hadFocus = panel.contains(document.activeElement);
    noticeText.textContent = LABELS.unavailable;
    notice.style.display = "flex";
    frame.style.visibility = "hidden"; // out of Tab's way too
    if (hadFocus) retry.focus();
  }

  function hideNotice() {
    clearTimeout(waiting);
    noticeText.textContent = "";
    notice.style.display = "none";
    if (frame) frame.style.visibility = "visible";
  }

  retry.addEventListener("click", () => {
    load();
    frame.focus(); // the button is gone: the focus goes on into the chat being loaded
  });

  // Open on one page of the site, open on the next: the visitor goes on with the chat where
  // they left it (this tab only: sessionStorage). Closed, it stays closed.
  const OPEN_KEY = "botfleet.widget.open:" + chatUrl;

  function rememberOpen(isOpen) {
    try {
      if (isOpen) window.sessionStorage.setItem(OPEN_KEY, "1");
      else window.sessionStorage.removeItem(OPEN_KEY);
    } catch (err) {
      // storage refused (some browsers in a third-party context): each page starts closed
    }
  }

  function wasOpen() {
    try {
      return window.sessionStorage.getItem(OPEN_KEY) === "1";
    } catch (err) {
      return false;
    }
  }

  function open() {
    if (!frame) { // load the chat only when someone opens it
      frame = document.createElement("iframe");
      frame.title = TITLE;
      frame.style.cssText = "width:100%;height:100%;border:0;display:block";
      frame.addEventListener("load", () => {
        if (!ready) expectReady(READY_AFTER_LOAD_MS); // its "ready" may still be on the way
      });
      panel.appendChild(frame);
      panel.appendChild(notice);
    }
    if (!ready) load();
    panel.hidden = false;
    layout();
    bubble.setAttribute("aria-expanded", "true");
    bubble.setAttribute("aria-label", LABELS.close);
    bubble.replaceChildren(icon(CLOSE_ICON));
    rememberOpen(true);
  }

  function close() {
    // the focus was in the chat (the frame has it): back to the bubble, not lost on the page
    const hadFocus = panel.contains(document.activeElement);
    panel.hidden = true;
    layout();
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-label", LABELS.open);
    bubble.replaceChildren(icon(CHAT_ICON));
    if (hadFocus) bubble.focus();
    rememberOpen(false);
  }

  // While the chat takes the whole window, the site under it is out of sight and out of reach:
  // Tab and Shift+Tab go round the close control and the chat, as in any modal dialog (focus
  // on the site's own links would be hidden under the chat). Where the focus was last, in the
  // widget, says which way it left: out of the chat, on to the close control; back from the
  // close control, into the chat.
  let focusedLast = null; // "bubble" or "panel"
  // After the chat in Tab's order, while it takes the whole window: past the chat's last
  // control, Tab would leave the page for the browser's own bar (and come back on the site).
  const endGuard = document.createElement("span");
  endGuard.tabIndex = -1;
  endGuard.style.cssText = "position:fixed;width:1px;height:1px;overflow:hidden;opacity:0";
  document.addEventListener("focusin", (event) => {
    const target = event.target;
    if (target === endGuard) {
      bubble.focus();
    } else if (target === bubble) {
      focusedLast = "bubble";
    } else if (panel.contains(target)) {
      focusedLast = "panel";
    } else if (whole()) {
      if (focusedLast !== "bubble" || !frame) bubble.focus();
      else if (notice.style.display === "flex") retry.focus(); // the chat did not load
      else frame.focus();
    }
  });

  bubble.addEventListener("click", () => (panel.hidden ? open() : close()));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) close();
  });
  if (small) {
    // a window resized, a phone turned, a zoom changed, while the chat is open
    if (typeof small.addEventListener === "function") small.addEventListener("change", layout);
    else if (typeof small.addListener === "function") small.addListener(layout); // Safari < 14
  }
  // Escape pressed inside the chat reaches the frame's document, not this one: the chat page
  // says so with a message. Only our frame, from the chat's origin, is listened to.
  window.addEventListener("message", (event) => {
    if (!frame || event.source !== frame.contentWindow || event.origin !== chatOrigin) return;
    if (event.data && event.data.botfleet === "ready") {
      ready = true;
      hideNotice(); // a slow chat that came after all
      tellLayout();
    }
    if (event.data && event.data.botfleet === "escape" && !panel.hidden) close();
  });

  function mount() {
    layout();
    // the bubble first: Tab from it goes on into the open chat, as the page is read
    document.body.appendChild(bubble);
    document.body.appendChild(panel);
    document.body.appendChild(endGuard);
    if (wasOpen()) open(); // as it was on the last page; the focus stays where the page puts it
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
