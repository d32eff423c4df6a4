"""Which version of a CalDAV event a resource is: the tag a conditional write names.

The Schedule-Tag when the server gives one (RFC 6638, 3.2.10: an attendee's reply leaves it
alone, any other change replaces it), else the ETag. Pure: reads the resource's cached tags.
"""

from __future__ import annotations

from typing import Any


def has_version(resource: Any) -> bool:
    """Whether the resource carries a tag a conditional request can name (weak ETags can not)."""
    etag = resource.etag
    return bool(resource.schedule_tag) or bool(etag and not str(etag).startswith("W/"))


def version_tag(resource: Any) -> str | None:
    """The tag naming the stored version of `resource`: its Schedule-Tag when the server gives
    one, else its ETag; None when it has neither."""
    if resource.schedule_tag:
        return f"schedule-tag {resource.schedule_tag}"
    return f"etag {resource.etag}" if resource.etag else None


def changed_since(resource: Any, shown: str | None) -> bool:
    """Whether `resource` is no longer the version `shown` (unknowable without both tags)."""
    now = version_tag(resource)
    return shown is not None and now is not None and now != shown
