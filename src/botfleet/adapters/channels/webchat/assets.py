"""The chat page, its script and the embeddable widget, read from `static/` once per router.

The page and the widget are filled in with the tenant's title and words (`page_words`); the
script is the same file in every language, so browsers and proxies cache one copy: it carries
every language's words, which the page switches to when a flow talks in another language."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from botfleet.adapters.channels.webchat.greeting import Greeting, greeting_in
from botfleet.adapters.channels.webchat.page_words import (
    PageWords,
    every_language,
    page_language,
    page_words,
)

#: Placeholders in chat.html: `__BOTFLEET_TITLE__`, `__BOTFLEET_LANG__`, `__BOTFLEET_WORDS__`,
#: `__BOTFLEET_GREETING__` and one per word written into the HTML (`__BOTFLEET_SEND__` is
#: `PageWords.send`).
_PAGE_MARK = re.compile(r"__BOTFLEET_([A-Z_]+)__")
#: Placeholder in widget.js replaced by the chat title as a JSON string literal.
WIDGET_TITLE_MARK = '/*title*/ "Chat"'
#: Placeholder in widget.js replaced by its words as a JSON object: the bubble's labels, and
#: what its panel says when the chat does not load (the widget runs on another site: it can
#: only show words it carries).
WIDGET_LABELS_MARK = (
    '/*labels*/ { open: "Open chat: Chat", close: "Close chat", '
    'unavailable: "The chat is not available right now.", try_again: "Try again" }'
)

#: Placeholder in widget.js replaced by the channel's `embed_origins` as a JSON list, or `null`
#: (any site): the widget shows no bubble on a site the chat page's `frame-ancestors` refuses.
WIDGET_SITES_MARK = "/*sites*/ null"

#: Placeholder in chat.js replaced by every language's words as a JSON object
#: (`page_words.every_language`), for a flow that talks in another language than the tenant's.
LANGUAGES_MARK = "/*languages*/ {}"

#: The page's script tag, given the script's version so a page never runs an older cached copy.
SCRIPT_TAG = '<script src="chat.js"></script>'

#: The page's one <style> block, allowed by its hash (`page_headers`).
_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def page_headers(page: str, embed_origins: Sequence[str] = ()) -> dict[str, str]:
    """The chat page's headers. Its policy keeps scripts and fetches on the data plane's own
    origin and allows the page's own <style> block by its SHA-256 (no `'unsafe-inline'`: a
    style attribute or element that got into the page some other way does not apply). The page
    is framed by the widget on the business's site: `frame-ancestors *` (any site) unless the
    channel lists its sites in `embed_origins` (validated: `scheme://host[:port]`, the host
    perhaps `*.`, nothing a policy would read otherwise), then those and the data plane's own
    origin, so a look-alike site cannot show the tenant's chat in a frame of its own."""
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
            "frame-ancestors " + (" ".join(["'self'", *embed_origins]) if embed_origins else "*"),
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
#: chat.js asked by its content's version (`?v=`, as the page names it): that URL's content
#: never changes, so browsers keep it for a year without asking again.
VERSIONED_SCRIPT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=31536000, immutable",
}
HTML_TYPE = "text/html; charset=utf-8"
SCRIPT_TYPE = "text/javascript; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Assets:
    page: str
    chat_js: str
    widget_js: str
    page_headers: dict[str, str]
    #: chat.js's version, as the page names it (`chat.js?v=<version>`).
    chat_js_version: str = ""


def load_assets(
    title: str,
    language: str = "en",
    embed_origins: Sequence[str] = (),
    greeting: Greeting | None = None,
) -> Assets:
    """Read the static files and put `title` and the words of `language` (the tenant's) in the
    page and the widget, escaped for each; `embed_origins` (the channel's, validated) in the
    page's policy and the widget; the channel's `greeting`, in `language`, in the page (the
    widget shows the page: it needs none of its own)."""
    static = resources.files("botfleet.adapters.channels.webchat").joinpath("static")

    def read(name: str) -> str:
        return static.joinpath(name).read_text(encoding="utf-8")

    # Every language's words, the same for every tenant: the script stays one cached file.
    languages = json.dumps(every_language(), ensure_ascii=False, sort_keys=True)
    chat_js = _fill(read("chat.js"), LANGUAGES_MARK, languages)
    # The script is cached for minutes (SCRIPT_HEADERS), the page not at all: after an upgrade
    # the new page names the new script by its content (`?v=`), never the cached old one.
    version = hashlib.sha256(chat_js.encode()).hexdigest()[:16]
    words = page_words(language)
    shown = greeting_in(greeting, language)
    page = _fill_page(read("chat.html"), title, language, words, shown)
    page = page.replace(SCRIPT_TAG, f'<script src="chat.js?v={version}"></script>')
    labels = {
        "open": words.open_chat.replace("{title}", title),
        "close": words.close_chat,
        "unavailable": words.unavailable,
        "try_again": words.try_again,
    }
    widget = _fill(read("widget.js"), WIDGET_TITLE_MARK, json.dumps(title, ensure_ascii=True))
    widget = _fill(widget, WIDGET_LABELS_MARK, json.dumps(labels, ensure_ascii=True))
    sites = json.dumps(list(embed_origins) or None, ensure_ascii=True)
    widget = _fill(widget, WIDGET_SITES_MARK, sites)
    return Assets(
        page=page,
        chat_js=chat_js,
        widget_js=widget,
        page_headers=page_headers(page, embed_origins),
        chat_js_version=version,
    )


def _fill_page(
    page: str, title: str, language: str, words: PageWords, greeting: str | None = None
) -> str:
    """chat.html with its placeholders filled: text HTML-escaped, chat.js's words and the
    greeting as JSON that cannot end their `<script>` data blocks."""
    values = {
        "TITLE": title,
        "LANG": page_language(language),
        "TYPING": words.typing.replace("{title}", title),
        **{name.upper(): getattr(words, name) for name in _HTML_WORDS},
    }
    blocks = {"WORDS": _data_block(words.script_words()), "GREETING": _greeting_block(greeting)}

    def value(mark: re.Match[str]) -> str:
        if mark[1] in blocks:
            return blocks[mark[1]]
        if mark[1] not in values:
            raise RuntimeError(f"chat.html: unknown placeholder {mark[0]!r}")
        return html.escape(values[mark[1]], quote=True)

    return _PAGE_MARK.sub(value, page)


def _data_block(data: object) -> str:
    """`data` as JSON for a `<script type="application/json">` block: "</script>" or "<!--"
    inside would end or bend the block, so `<`, `>` and `&` are written as `\\u` escapes."""
    text = json.dumps(data, ensure_ascii=False)
    for char in "<>&":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def _greeting_block(greeting: str | None) -> str:
    """The greeting's data block, which chat.js shows on a chat with no messages yet; none
    without a greeting: the page is then the one served before there were greetings."""
    if greeting is None:
        return ""
    return f'\n<script type="application/json" id="chat-greeting">{_data_block(greeting)}</script>'


#: The words chat.html shows as written, named as in `PageWords`.
_HTML_WORDS = ("reset", "message_label", "placeholder", "send", "needs_javascript")


def _fill(text: str, mark: str, value: str) -> str:
    """`text` with `mark` replaced; a static file without it is a packaging bug, told here
    rather than as a widget that silently shows the wrong words."""
    if mark not in text:
        raise RuntimeError(f"web chat static file: placeholder {mark!r} is missing")
    return text.replace(mark, value)
