"""Keyset pagination of the control plane's lists: a page size and an opaque cursor.

A cursor names the last item of the page it ends (a tenant id, a version number) and the list
it belongs to, base64url-encoded JSON. The next page starts strictly after that key, so pages
stay stable while items are added or removed, and no count or offset has to be computed.
It grants nothing: the query behind it still filters by what the caller may see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from botfleet.control_plane.errors import InvalidInput
from botfleet.domain.tenant_ids import is_registered_tenant_id
from botfleet.opaque_cursor import pack, unpack

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
#: Far above any cursor this module writes (a 63-character tenant id gives about 100).
MAX_CURSOR_LENGTH = 200
#: Version numbers are 32-bit INTEGER columns on PostgreSQL.
_MAX_VERSION = 2_147_483_647

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, and the cursor of the next one (None: this was the last page)."""

    items: Sequence[T]
    next_cursor: str | None


def encode_cursor(listing: str, after: str | int) -> str:
    return pack([listing, after])


def _decode(listing: str, cursor: str) -> object:
    value = unpack(cursor)
    if not (isinstance(value, list) and len(value) == 2 and value[0] == listing):
        raise _not_a_cursor(listing)
    return value[1]


def _not_a_cursor(listing: str) -> InvalidInput:
    return InvalidInput(
        "cursor",
        f"not a cursor of the {listing} list: pass the next_cursor (or the cursor in the "
        'Link rel="next" header) of the previous page as it is, or leave it out for the first '
        "page",
    )


def after_tenant_id(listing: str, cursor: str | None) -> str | None:
    """The tenant id a tenants cursor ends at (None for the first page); 422 for any other."""
    if cursor is None:
        return None
    after = _decode(listing, cursor)
    if not is_registered_tenant_id(after):
        raise _not_a_cursor(listing)
    return after


def after_version(listing: str, cursor: str | None) -> int | None:
    """The version number a versions cursor ends at (None for the first page)."""
    if cursor is None:
        return None
    after = _decode(listing, cursor)
    if isinstance(after, bool) or not isinstance(after, int) or not 0 < after <= _MAX_VERSION:
        raise _not_a_cursor(listing)
    return after


def page_of(rows: Sequence[T], limit: int, listing: str, key: Callable[[T], str | int]) -> Page[T]:
    """The page of `rows`, fetched with ``LIMIT limit + 1``: one extra row says there is more."""
    if len(rows) <= limit:
        return Page(rows, None)
    items = rows[:limit]
    return Page(items, encode_cursor(listing, key(items[-1])))
