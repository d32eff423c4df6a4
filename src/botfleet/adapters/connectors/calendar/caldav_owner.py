"""Who a CalDAV calendar is among an event's attendees: its own calendar user addresses.

RFC 6638 (2.4.1) has the account's principal list its addresses in
``calendar-user-address-set``: ``mailto:`` addresses on Nextcloud, iCloud or Fastmail, often
the principal's URL too (Radicale gives only that). The `owner_emails` setting adds the
addresses a server does not give. An invitation the calendar declined under one of them holds
no time (`events.ical_event`). The server is asked once, and only when a search found an
attendee who declined: most calendars never need the request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

import structlog

from botfleet.adapters.connectors.calendar.caldav_errors import translate
from botfleet.adapters.connectors.calendar.events import calendar_user_address

log = structlog.get_logger("botfleet.connectors.calendar")


class OwnAddresses:
    """The calendar's own addresses: the configured ones, and the server's once asked."""

    def __init__(self, owner_emails: Iterable[str], *, binding: str) -> None:
        self._configured = frozenset(calendar_user_address(f"mailto:{e}") for e in owner_emails)
        self._binding = binding
        # None until the server answered (or said it has none); a failed request is asked again.
        self._reported: frozenset[str] | None = None
        self._asking = threading.Lock()

    def of(self, client: Any) -> frozenset[str]:
        """The addresses, asking the server with `client` (a `DAVClient`) the first time.
        Blocking: called in the request's worker thread."""
        with self._asking:
            if self._reported is None:
                self._reported = self._ask(client)
            reported = self._reported or frozenset()
        return self._configured | reported

    def _ask(self, client: Any) -> frozenset[str] | None:
        """The principal's addresses; empty when the server has none to give, None when it
        could not answer now (this read then counts only the configured ones)."""
        try:
            principal = client.principal()
            hrefs = principal.calendar_user_address_set()
        except Exception as exc:
            # Not scheduling-enabled (the property is absent) or refused: asking again will not
            # change that. A timeout or a 5xx might: the next read asks again.
            retry = translate(exc, "principal lookup").retryable
            log.warning(
                "caldav_owner_addresses_unknown",
                connector=self._binding,
                error=type(exc).__name__,
                asked_again=retry,
            )
            return None if retry else frozenset()
        # Relative hrefs (Radicale's "/salon/") name the principal's URL on this server.
        base = str(principal.url)
        return frozenset(calendar_user_address(urljoin(base, h)) for h in hrefs if h)
