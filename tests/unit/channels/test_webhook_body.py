"""A provider webhook's body that is not JSON is a 400 saying why: bytes that are not UTF-8 are
named as such (a tester's signed body with a Latin-1 byte got "not JSON")."""

from __future__ import annotations

import pytest
from starlette.exceptions import HTTPException

from botfleet.adapters.channels.webhook_body import decode_json


def test_json_is_decoded() -> None:
    assert decode_json(b'{"object": "whatsapp_business_account"}') == {
        "object": "whatsapp_business_account"
    }


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"text": "caf\xe9"}', "request body is not UTF-8 (byte 13)"),
        (b"{not json", "request body is not JSON"),
        (b"[" * 100_000, "request body is not JSON"),
    ],
)
def test_a_body_that_is_not_json_says_why(body: bytes, detail: str) -> None:
    with pytest.raises(HTTPException) as refused:
        decode_json(body)
    assert (refused.value.status_code, refused.value.detail) == (400, detail)
