"""The versions of events a contact was shown, kept for the cancel or move that may follow.

A store remembers, per event, the tag (Google's ``etag``, CalDAV's ETag or Schedule-Tag) of
the version the contact last saw: listed among their appointments, or answered for a booking
or a move. The write that follows names that version, so a staff edit in between is refused
instead of overwritten. Process memory only, bounded: the oldest are forgotten first, and a
write whose version was forgotten (or never known, as after a restart) names the version its
own read sees.
"""

from __future__ import annotations

from collections import OrderedDict

#: How many events are remembered. A contact usually answers a listing within minutes.
REMEMBERED_VERSIONS = 4096
#: Longer event ids or tags are not remembered (their writes name the version read before
#: them): real ones are tens of characters, and a server answering megabytes would otherwise
#: hold 4096 of them in the data plane's memory.
MAX_KEPT_CHARS = 512


class ShownVersions:
    """Event id -> version tag shown, newest last. Not thread-safe: touch it on the event loop
    only, never in worker threads."""

    def __init__(self, limit: int = REMEMBERED_VERSIONS) -> None:
        self._limit = limit
        self._tags: OrderedDict[str, str] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._tags

    def remember(self, event_id: str, tag: str | None) -> None:
        """`tag` is now the version of `event_id` the contact knows (no tag: none is known)."""
        self._tags.pop(event_id, None)
        if tag and len(tag) <= MAX_KEPT_CHARS and len(event_id) <= MAX_KEPT_CHARS:
            self._tags[event_id] = tag
            while len(self._tags) > self._limit:
                self._tags.popitem(last=False)

    def take(self, event_id: str) -> str | None:
        """The version shown, forgotten as it is given: a write names it once, and a refused
        write is not repeated with it."""
        return self._tags.pop(event_id, None)

    def forget(self, event_id: str) -> None:
        self._tags.pop(event_id, None)
