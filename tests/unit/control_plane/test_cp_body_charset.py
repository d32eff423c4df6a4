"""Document bodies are UTF-8: a declared charset other than UTF-8 is refused (415), not
decoded as UTF-8 and refused as "not UTF-8" (or, worse, stored as mojibake)."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.types import Message

from botfleet.control_plane.api.bodies import UnsupportedCharset, declared_charset, read_document
from botfleet.control_plane.errors import UnsupportedMediaType


def _request(body: bytes, content_type: str) -> Request:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"content-type", content_type.encode("latin-1"))]
    return Request({"type": "http", "method": "POST", "headers": headers}, receive)


async def _read(body: bytes, content_type: str) -> str:
    return await read_document(
        _request(body, content_type),
        what="knowledge document",
        json_field="text",
        text_types=("text/markdown", "text/plain"),
        limit=1000,
    )


@pytest.mark.parametrize(
    ("header", "charset"),
    [
        ("text/markdown", None),
        ("text/markdown; charset=utf-8", "utf-8"),
        ('text/markdown; Charset="ISO-8859-1"', "ISO-8859-1"),
        ("text/markdown;variant=GFM; charset = latin-1 ", "latin-1"),
    ],
)
def test_the_declared_charset_is_read_from_the_header(header: str, charset: str | None) -> None:
    assert declared_charset(header) == charset


@pytest.mark.parametrize("charset", ["utf-8", "UTF8", '"utf-8"', "us-ascii", "ASCII"])
async def test_utf8_and_ascii_are_read(charset: str) -> None:
    assert await _read("# Niño".encode(), f"text/markdown; charset={charset}") == "# Niño"


@pytest.mark.parametrize("charset", ["latin-1", "cp1252", "utf-16", "utf-8-sig", "rot13", "nope"])
async def test_other_charsets_are_refused_as_an_unsupported_media_type(charset: str) -> None:
    with pytest.raises(UnsupportedCharset, match="send the text as UTF-8") as caught:
        await _read(b"# Hi", f"text/plain; charset={charset}")
    assert isinstance(caught.value, UnsupportedMediaType)
    assert caught.value.status_code == 415
    assert f"charset {charset!r} is not accepted" in str(caught.value)
    assert "text/plain; charset=utf-8" in str(caught.value)


async def test_a_long_charset_is_cut_in_the_message() -> None:
    with pytest.raises(UnsupportedCharset) as caught:
        await _read(b"# Hi", "text/plain; charset=" + "x" * 500)
    assert len(str(caught.value)) < 300
