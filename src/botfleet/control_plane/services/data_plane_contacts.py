"""Calls to a tenant's data plane about its contacts: `GET` and `DELETE /contacts/{id}` (one
contact's data), `GET /conversations` (who talked to the bot and when), through the relay
(`data_plane_relay`: the `/health` check before the token, the errors), each with its own
bound and its own advice when it fails."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.path_segments import path_segment
from botfleet.control_plane.services.data_plane_relay import (
    RELAY_TIMEOUT_S,
    DataPlaneError,
    DataPlaneRelay,
    RelayCall,
    answer_json,
    detail_of,
    origin,
    refusal,
)

__all__ = [
    "CONTACT_TIMEOUT_S",
    "MAX_CONVERSATIONS_BYTES",
    "MAX_ERASURE_BYTES",
    "MAX_EXPORT_BYTES",
    "DataPlaneContacts",
    "DataPlaneError",
    "origin",
]

#: The largest export relayed. A contact's 8 days are far below it; the data plane lists up to
#: 10,000 entries of each kind, and the answer is held (and parsed) whole before it is relayed.
MAX_EXPORT_BYTES = 16 * 1024 * 1024
#: An erasure answers a few counts.
MAX_ERASURE_BYTES = 64 * 1024
#: A list of conversations: at most 1,000 entries of a contact id (191 characters), a state
#: name and three times, each well under 4 KiB.
MAX_CONVERSATIONS_BYTES = 4 * 1024 * 1024
#: Seconds a call about a contact may take once connected (the relay's, under its old name).
CONTACT_TIMEOUT_S = RELAY_TIMEOUT_S

_READ_IT_THERE = 'read it from the data plane itself (docs/operations.md, "A contact\'s data").'
_WAITS = " (it waits for the contact's turns under way)"
_ERASE_AGAIN = " The erasure may have been done, or partly: erase again (it finishes what is left)."


#: Contact exports relayed at once (each held whole in memory); more are answered 503.
MAX_CONCURRENT_EXPORTS = 4
EXPORT_RETRY_AFTER_S = 5


class DataPlaneContacts:
    """Export and erasure of a contact's data on a tenant's data plane, and its list of
    conversations."""

    def __init__(self, relay: DataPlaneRelay, *, max_exports: int = MAX_CONCURRENT_EXPORTS) -> None:
        self._relay = relay
        # An export is held whole (up to MAX_EXPORT_BYTES, several times that as objects):
        # any key of any tenant may ask, so at most a few at once.
        self._exports = asyncio.Semaphore(max_exports)
        self._max_exports = max_exports

    async def export(self, base_url: str, token: str, *, tenant_id: str, contact_id: str) -> Any:
        """The data plane's JSON answer to ``GET /contacts/{contact_id}``; 503 while
        `max_exports` others are under way."""
        if self._exports.locked():
            raise DataPlaneError(
                503,
                f"{self._max_exports} contact exports are under way; retry in "
                f"{EXPORT_RETRY_AFTER_S} s",
                retry_after=EXPORT_RETRY_AFTER_S,
            )
        call = RelayCall(
            "GET", "/contacts", origin(base_url), tenant_id,
            waits=_WAITS, too_large=_READ_IT_THERE,
        )  # fmt: skip
        url = _contact_url(base_url, contact_id)
        async with self._exports:
            return await self._relay.json(call, base_url, url, token, MAX_EXPORT_BYTES)

    async def erase(self, base_url: str, token: str, *, tenant_id: str, contact_id: str) -> Any:
        """The data plane's JSON answer to ``DELETE /contacts/{contact_id}``."""
        call = RelayCall(
            "DELETE", "/contacts", origin(base_url), tenant_id, waits=_WAITS,
            too_large=_READ_IT_THERE, timed_out=_ERASE_AGAIN, busy=_ERASE_AGAIN,
        )  # fmt: skip
        url = _contact_url(base_url, contact_id)
        return await self._relay.json(call, base_url, url, token, MAX_ERASURE_BYTES)

    async def list_conversations(
        self,
        base_url: str,
        token: str,
        *,
        tenant_id: str,
        active_since: datetime | None,
        limit: int,
        before: str | None,
    ) -> Any:
        """The data plane's JSON answer to ``GET /conversations`` (`active_since` aware;
        `before` a cursor, sent as it is: the data plane's 422 for it is relayed as one)."""
        call = RelayCall(
            "GET", "/conversations", origin(base_url), tenant_id,
            too_large=f"ask for fewer (a lower limit), or {_READ_IT_THERE}",
        )  # fmt: skip
        params = {"limit": str(limit)}
        if active_since is not None:
            # As given, offset included: converting it (to UTC) could overflow near year 1.
            params["active_since"] = active_since.isoformat()
        if before is not None:
            params["before"] = before
        url = f"{base_url}/conversations"
        answer = await self._relay.exchange(
            call, base_url, url, token, MAX_CONVERSATIONS_BYTES, params=params
        )
        detail = detail_of(answer)
        if answer.status == 422 and before is not None and detail.startswith("before: "):
            # The caller's cursor, not the data plane, is wrong: a 422, not a 502.
            raise InvalidInput("before", detail.removeprefix("before: "))
        if answer.status != 200:
            raise refusal(call, answer)
        listed = answer_json(call, answer)
        if before is not None and isinstance(listed, dict) and "next" not in listed:
            # An earlier release ignores `before`: its first page again would read as the next.
            raise call.error(
                502,
                "it does not page its conversations (a release before `before`): upgrade it, "
                "or ask for more at once (a higher limit, up to 1000)",
            )
        return listed


def _contact_url(base_url: str, contact_id: str) -> str:
    return f"{base_url}/contacts/{path_segment(contact_id)}"
