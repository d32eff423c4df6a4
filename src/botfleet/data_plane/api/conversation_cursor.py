"""The cursor of `GET /conversations`: where a page of the list stopped, for the next one.

The list is ordered by each conversation's last turn, the most recent first, and by contact
id among those of the same time (`ContactRecords.recent`): many may share one (a broadcast's
answers, a clock's resolution), so a time alone would skip or repeat some at a page's end. A
cursor names the last conversation of its page by both, as base64url-encoded JSON, as the
control plane's cursors are (`control_plane.pagination`): the next page starts strictly after
it. It is opaque to clients, which pass it back as they got it, and grants nothing: the route
still needs the token. It holds the contact id, as the page it ends does.
"""

from __future__ import annotations

from datetime import UTC, datetime

from botfleet.opaque_cursor import pack, unpack

#: Far above any cursor this module writes (a contact id of 191 characters, each escaped as
#: JSON's `\uXXXX`, gives about 1,600); the control plane takes `before` up to this long.
MAX_CURSOR_LENGTH = 2048
_LISTING = "conversations"


def encode_cursor(updated_at: datetime, contact_id: str) -> str:
    """The cursor after the conversation whose last turn and contact id are these."""
    # In UTC with microseconds: one text per instant, however the store wrote the time.
    at = updated_at.astimezone(UTC).isoformat(timespec="microseconds")
    return pack([_LISTING, at, contact_id])


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(`updated_at`, `contact_id`) of a cursor `encode_cursor` wrote; `ValueError` saying
    what to pass for anything else."""
    value = unpack(cursor)
    if not (
        isinstance(value, list)
        and len(value) == 3
        and value[0] == _LISTING
        and isinstance(value[1], str)
        and isinstance(value[2], str)
    ):
        raise _not_a_cursor()
    try:
        updated_at = datetime.fromisoformat(value[1])
        if updated_at.utcoffset() is None:
            raise ValueError("no offset")
        # In UTC, as written: an offset with seconds in a forged one would be no time SQLite
        # reads.
        updated_at = updated_at.astimezone(UTC)
        value[2].encode()  # a lone surrogate (JSON's "\ud800") is no stored contact's id
    except (ValueError, OverflowError):  # UnicodeEncodeError is a ValueError
        raise _not_a_cursor() from None
    return updated_at, value[2]


def _not_a_cursor() -> ValueError:
    return ValueError(
        "not a cursor of this list: pass the `next` of the previous page as it is, or leave "
        "it out for the first page"
    )
