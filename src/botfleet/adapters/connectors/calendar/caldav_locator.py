"""Where a binding's CalDAV calendar is: found once, remembered, found again if it moved.

The calendar is the `calendar_id` URL, else the account's calendar named `calendar_name`, else
its first calendar. Blocking (the `caldav` client's requests): called in worker threads, so the
remembered URL is guarded by a lock.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urljoin

import structlog

from botfleet.adapters.connectors.calendar.config import CalDavSettings
from botfleet.adapters.connectors.calendar.store import CalendarNotFound
from botfleet.domain.errors import ConnectorRejected

log = structlog.get_logger("botfleet.connectors.calendar")


def _no_userinfo(url: str) -> str:
    """`url` without the `user:password@` of its authority, if it has one."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority, slash, path = rest.partition("/")
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"


class CalendarLocator:
    """The URL of the calendar a binding's settings choose."""

    def __init__(self, settings: CalDavSettings, *, binding: str) -> None:
        self.settings = settings
        self.binding = binding
        self._calendar_url: str | None = None
        self._discovery = threading.Lock()

    def known_url(self, client: Any) -> tuple[str, bool]:
        """The calendar's URL, and whether it was remembered from an earlier request."""
        with self._discovery:
            if self._calendar_url is not None:
                return self._calendar_url, True
            self._calendar_url = self._discover(client)
            return self._calendar_url, False

    def rediscover(self, client: Any, stale: str) -> str | None:
        """The calendar's URL found again after `stale` answered 404/410; None when discovery
        leads to `stale` again. Concurrent requests that hit the same dead URL find it once."""
        with self._discovery:
            if self._calendar_url == stale:
                # Forgotten first: if discovery fails, the next request tries again.
                self._calendar_url = None
                self._calendar_url = self._discover(client)
                log.warning(
                    "caldav_calendar_rediscovered",
                    connector=self.binding,
                    moved=self._calendar_url != stale,
                    calendar_name=self.settings.calendar_name,
                )
            fresh = self._calendar_url
        return None if fresh == stale else fresh

    def calendar_missing(self, what: str) -> CalendarNotFound:
        """The configured calendar answers 404/410 even after finding it again. Logged (by
        the resilience layer, `CalendarNotFound`) with the setting that chose it and its value:
        `calendar_id` (without user information: a URL may carry a password) or
        `calendar_name`; with neither, the account's first calendar was used (`setting: url`,
        whose value is not logged)."""
        fields: dict[str, Any] = {"type": "caldav"}
        if self.settings.calendar_id:
            calendar_id = _no_userinfo(self.settings.calendar_id)
            fields |= {"setting": "calendar_id", "calendar_id": calendar_id}
        elif self.settings.calendar_name:
            fields |= {"setting": "calendar_name", "calendar_name": self.settings.calendar_name}
        else:
            fields |= {"setting": "url"}
        fields["request"] = what
        return CalendarNotFound(
            f"the CalDAV calendar was not found during {what} "
            f"(check the {fields['setting']} setting)",
            log_fields=fields,
        )

    def _discover(self, client: Any) -> str:
        if self.settings.calendar_id:
            return urljoin(self.settings.url, self.settings.calendar_id)
        calendars = client.principal().calendars()
        wanted = self.settings.calendar_name
        if wanted is not None:
            names = [(c, c.get_display_name()) for c in calendars]
            match = [c for c, name in names if name == wanted]
            if not match:
                known = ", ".join(sorted(repr(str(n)) for _, n in names)) or "none"
                raise ConnectorRejected(f"no CalDAV calendar named {wanted!r} (found: {known})")
            calendars = match
        if not calendars:
            raise ConnectorRejected("the CalDAV account has no calendar")
        return str(calendars[0].url)
