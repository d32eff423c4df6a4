"""One value as one segment of a URL path, whatever it holds."""

from __future__ import annotations

from urllib.parse import quote

#: Segments URL normalisation removes (RFC 3986, "remove dot segments"), as httpx does.
_DOT_SEGMENTS = frozenset({".", ".."})


def path_segment(value: str | int) -> str:
    """`value` percent-encoded so that it stays one segment: ``/`` and every reserved
    character encoded, and a value of ``.`` or ``..`` written ``%2E``/``%2E%2E``.

    httpx resolves a literal ``..`` before sending: ``DELETE .../api-keys/..`` went out as
    ``DELETE /v1/tenants/<id>``, the tenant's deletion. Servers decode ``%2E`` back to ``.``
    after routing, so the route receives the value as given.
    """
    segment = quote(str(value), safe="")
    return segment.replace(".", "%2E") if segment in _DOT_SEGMENTS else segment
