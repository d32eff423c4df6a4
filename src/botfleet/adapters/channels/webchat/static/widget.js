// botfleet chat widget. Embed on any site with one tag:
//   <script src="https://bot.example.com/widget.js" async></script>
// It adds a floating bubble that opens the chat page (same origin and path as this script)
// in an iframe. Options on the tag: data-position="left" puts the bubble on the left.
(() => {
  "use strict";

  if (window.__botfleetChatWidget) return; // included twice: one bubble is enough
  window.__botfleetChatWidget = true;

  const TITLE = /*title*/ "Chat";
  // the bubble's labels, in the tenant's language (the data plane fills them in with TITLE)
  const LABELS = /*labels*/ { open: "Open chat: Chat", close: "Close chat" };
  const script = document.currentScript;
  if (!script || !script.src) return;
  // The chat lives beside this script: ".../widget.js" -> ".../?embed=1".
  const base = new URL(".", script.src);
  const chatUrl = new URL("?embed=1", base).href;
  const side = script.dataset.position === "left" ? "left" : "right";
  const SVG = "http://www.w3.org/2000/svg"; // an XML namespace name, never fetched

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
  bubble.style.cssText = [
    "position:fixed", "bottom:20px", side + ":20px", "z-index:2147483647",
    "width:56px", "height:56px", "border-radius:50%", "border:0", "cursor:pointer",
    "background:#2563eb", "color:#fff", "box-shadow:0 4px 14px rgba(0,0,0,.25)",
    "display:flex", "align-items:center", "justify-content:center", "padding:0",
  ].join(";");
  bubble.appendChild(icon(CHAT_ICON));

  const panel = document.createElement("div");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", TITLE);
  panel.hidden = true;
  panel.style.cssText = [
    "position:fixed", "bottom:88px", side + ":20px", "z-index:2147483647",
    "width:min(380px, calc(100vw - 40px))", "height:min(600px, calc(100vh - 120px))",
    "border-radius:12px", "overflow:hidden", "background:#fff",
    "box-shadow:0 8px 30px rgba(0,0,0,.3)",
  ].join(";");

  let frame = null;
  let ready = false; // the chat page said it runs: the frame holds the chat, not an error page
  function open() {
    if (!frame) { // load the chat only when someone opens it
      frame = document.createElement("iframe");
      frame.title = TITLE;
      frame.style.cssText = "width:100%;height:100%;border:0;display:block";
      panel.appendChild(frame);
    }
    // first open, or the data plane was unreachable the last time: (re)load it, so closing and
    // opening again is how a visitor tries again, without reloading the site
    if (!ready) frame.src = chatUrl;
    panel.hidden = false;
    panel.style.display = "block";
    bubble.setAttribute("aria-expanded", "true");
    bubble.setAttribute("aria-label", LABELS.close);
    bubble.replaceChildren(icon(CLOSE_ICON));
  }

  function close() {
    // the focus was in the chat (the frame has it): back to the bubble, not lost on the page
    const hadFocus = panel.contains(document.activeElement);
    panel.hidden = true;
    panel.style.display = "none";
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-label", LABELS.open);
    bubble.replaceChildren(icon(CHAT_ICON));
    if (hadFocus) bubble.focus();
  }

  bubble.addEventListener("click", () => (panel.hidden ? open() : close()));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) close();
  });
  // Escape pressed inside the chat reaches the frame's document, not this one: the chat page
  // says so with a message. Only our frame, from the chat's origin, is listened to.
  const chatOrigin = new URL(chatUrl).origin;
  window.addEventListener("message", (event) => {
    if (!frame || event.source !== frame.contentWindow || event.origin !== chatOrigin) return;
    if (event.data && event.data.botfleet === "ready") ready = true;
    if (event.data && event.data.botfleet === "escape" && !panel.hidden) close();
  });

  function mount() {
    panel.style.display = "none";
    // the bubble first: Tab from it goes on into the open chat, as the page is read
    document.body.appendChild(bubble);
    document.body.appendChild(panel);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
