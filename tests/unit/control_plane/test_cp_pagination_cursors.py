"""Page cursors: opaque, bound to their list, and refused with a 422 naming `cursor`."""

from __future__ import annotations

import pytest

from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.pagination import (
    MAX_CURSOR_LENGTH,
    after_tenant_id,
    after_version,
    encode_cursor,
    page_of,
)


def test_a_cursor_round_trips_and_is_url_safe() -> None:
    longest = "a" * 63
    cursor = encode_cursor("tenants", longest)
    assert after_tenant_id("tenants", cursor) == longest
    assert len(cursor) <= MAX_CURSOR_LENGTH
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert after_version("flow versions", encode_cursor("flow versions", 7)) == 7
    assert after_tenant_id("tenants", None) is None
    assert after_version("flow versions", None) is None


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "é",
        encode_cursor("flow versions", "acme"),  # another list's
        encode_cursor("tenants", "acme\n"),  # not a tenant id
        encode_cursor("tenants", "x" * 64),
        "W10",  # []
        "bnVsbA",  # null
    ],
)
def test_anything_else_is_invalid_input_on_cursor(cursor: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        after_tenant_id("tenants", cursor)
    assert caught.value.field == "cursor"
    assert caught.value.detail.startswith("not a cursor of the tenants list")


@pytest.mark.parametrize("after", [0, -1, 2**31, True, 1.5, "3"])
def test_version_cursors_hold_a_version_number(after: object) -> None:
    with pytest.raises(InvalidInput):
        after_version("flow versions", encode_cursor("flow versions", after))  # type: ignore[arg-type]


def test_a_page_is_cut_at_the_limit_and_points_after_its_last_item() -> None:
    full = page_of([1, 2, 3], 2, "flow versions", lambda v: v)
    assert full.items == [1, 2]
    assert full.next_cursor is not None
    assert after_version("flow versions", full.next_cursor) == 2
    last = page_of([3], 2, "flow versions", lambda v: v)
    assert (list(last.items), last.next_cursor) == ([3], None)
