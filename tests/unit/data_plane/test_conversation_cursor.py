"""The cursor of `GET /conversations`: what it names comes back as written, in UTC; anything
else is refused as no cursor of the list; the longest contact id fits under the bound."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from botfleet.data_plane.api.contacts import MAX_CONTACT_ID
from botfleet.data_plane.api.conversation_cursor import (
    MAX_CURSOR_LENGTH,
    decode_cursor,
    encode_cursor,
)

MADRID_SUMMER = timezone(timedelta(hours=2))


@pytest.mark.parametrize("contact", ["34600111222", "-100123:topic:7", 'a"b\\c', "ünï €", "\x00"])
def test_a_cursor_gives_back_the_time_in_utc_and_the_contact(contact: str) -> None:
    at = datetime(2024, 5, 6, 9, 5, 0, 123456, tzinfo=MADRID_SUMMER)

    cursor = encode_cursor(at, contact)

    assert decode_cursor(cursor) == (at, contact)
    assert decode_cursor(cursor)[0].tzinfo is UTC
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_the_longest_contact_id_fits_under_the_bound() -> None:
    worst = "\x01" * MAX_CONTACT_ID  # each written as JSON's six-character \u0001
    assert len(encode_cursor(datetime(2024, 5, 6, tzinfo=UTC), worst)) < MAX_CURSOR_LENGTH


def _raw(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "%%%",
        _raw(["tenants", "acme"]),
        _raw(["conversations", "2024-05-06T07:00:00+00:00"]),
        _raw(["conversations", "2024-05-06T07:00:00", "a"]),  # no offset
        _raw(["conversations", "yesterday", "a"]),
        _raw(["conversations", "0001-01-01T00:00:00+01:00", "a"]),  # before year 1 in UTC
        _raw(["conversations", "2024-05-06T07:00:00Z", 7]),
        _raw(["conversations", "2024-05-06T07:00:00Z", "\ud800"]),  # a lone surrogate
        _raw({"before": "2024-05-06T07:00:00Z"}),
    ],
)
def test_anything_else_is_no_cursor(cursor: str) -> None:
    with pytest.raises(ValueError, match="not a cursor of this list: pass the `next`"):
        decode_cursor(cursor)
