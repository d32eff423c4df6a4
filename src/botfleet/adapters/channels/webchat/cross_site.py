"""`POST /inbound` sent by a web page of a site the tenant did not list, without CORS's consent.

CORS keeps a page of another site from reading the answers, and from sending a JSON body: a
`Content-Type: application/json` POST is asked about first (preflight), and only the channel's
`allowed_origins` are let through. A POST with a type a form may send (`text/plain`, a form's
types, or none) is not asked about: the browser sends it, with the page's `Origin`, and the
route read its body as JSON all the same. Any site could then make each visitor's browser send
messages to the bot, from the visitor's own address (a rate limit bucket each), spending the
tenant's LLM quota: what `allowed_origins` refuses wildcards for. Such a POST is refused (415)
unless its origin is listed; one without `Origin` (curl, a server) is not a browser page's.
"""

from __future__ import annotations

from collections.abc import Iterable

#: What the refusal says.
REFUSED = (
    "a web page's POST must be Content-Type: application/json (a page of a site that is not "
    "in the channel's allowed_origins is then refused by the browser's CORS check)"
)


def unasked_page_post(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The `Origin` of a request a browser sent without a CORS preflight (it carries `Origin`,
    and its body is not typed as JSON), or None. ASGI headers: lower-case names, as bytes."""
    origin: bytes | None = None
    content_type = b""
    for name, value in headers:
        if name == b"origin":
            origin = value
        elif name == b"content-type":
            content_type = value
    if origin is None or is_json_type(content_type):
        return None
    return origin.decode("latin-1")


def is_json_type(content_type: bytes) -> bool:
    """`application/json` or `application/<x>+json`, parameters aside: types a browser sends
    from another site only after a preflight (CORS lets only three others through unasked)."""
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )
