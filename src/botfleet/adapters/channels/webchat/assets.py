"""The chat page, its script and the embeddable widget, read from `static/` once per router."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from dataclasses import dataclass
from importlib import resources

#: Placeholder in chat.html replaced by the (HTML-escaped) chat title.
PAGE_TITLE_MARK = "__BOTFLEET_TITLE__"
#: Placeholder in widget.js replaced by the chat title as a JSON string literal.
WIDGET_TITLE_MARK = '/*title*/ "Chat"'

#: The page's script tag, given the script's version so a page never runs an older cached copy.
SCRIPT_TAG = '<script src="chat.js"></script>'

#: The page's one <style> block, allowed by its hash (`page_headers`).
_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def page_headers(page: str) -> dict[str, str]:
    """The chat page's headers. Its policy keeps scripts and fetches on the data plane's own
    origin and allows the page's own <style> block by its SHA-256 (no `'unsafe-inline'`: a
    style attribute or element that got into the page some other way does not apply). The page
    is meant to be framed by the widget on any site, so `frame-ancestors *`."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"
        for block in _STYLE_BLOCK.findall(page)
    ]
    styles = " ".join(hashes) or "'none'"
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            f"style-src {styles}",
            "connect-src 'self'",
            # the page's `<link rel="icon" href="data:,">`: no request for /favicon.ico
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors *",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


SCRIPT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=300",
}
HTML_TYPE = "text/html; charset=utf-8"
SCRIPT_TYPE = "text/javascript; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Assets:
    page: str
    chat_js: str
    widget_js: str
    page_headers: dict[str, str]


def load_assets(title: str) -> Assets:
    """Read the static files and put `title` in the page and the widget, escaped for each."""
    static = resources.files("botfleet.adapters.channels.webchat").joinpath("static")

    def read(name: str) -> str:
        return static.joinpath(name).read_text(encoding="utf-8")

    chat_js = read("chat.js")
    # The script is cached for minutes (SCRIPT_HEADERS), the page not at all: after an upgrade
    # the new page names the new script by its content (`?v=`), never the cached old one.
    version = hashlib.sha256(chat_js.encode()).hexdigest()[:16]
    page = read("chat.html").replace(PAGE_TITLE_MARK, html.escape(title, quote=True))
    page = page.replace(SCRIPT_TAG, f'<script src="chat.js?v={version}"></script>')
    widget = read("widget.js").replace(WIDGET_TITLE_MARK, json.dumps(title, ensure_ascii=True))
    return Assets(page=page, chat_js=chat_js, widget_js=widget, page_headers=page_headers(page))
