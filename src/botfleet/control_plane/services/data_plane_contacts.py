"""Calls to a tenant's data plane about its contacts: `GET` and `DELETE /contacts/{id}` (one
contact's data), `GET /conversations` (who talked to the bot and when), with the tenant's
internal token (its ``data_plane`` credentials), and their failures as errors a caller can act
on, naming the data plane by its origin only (never its path or a password).

The token goes only to a data plane whose `/health` answers naming this tenant. That is
stricter than the fleet probe (`fleet.DataPlaneProbe`), which refuses a `/health` naming
another tenant but takes one naming none at its word: every release with the contact routes
names its tenant there, and an erasure must never go, with this tenant's token, to whatever
else answers at the tenant's `data_plane_url` (another tenant's data plane on a reused port).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from botfleet.control_plane.errors import ControlPlaneError
from botfleet.control_plane.path_segments import path_segment

#: The largest export relayed. A contact's 8 days are far below it; the data plane lists up to
#: 10,000 entries of each kind, and the answer is held (and parsed) whole before it is relayed.
MAX_EXPORT_BYTES = 16 * 1024 * 1024
#: An erasure answers a few counts.
MAX_ERASURE_BYTES = 64 * 1024
#: A list of conversations: at most 1,000 entries of a contact id (191 characters), a state
#: name and three times, each well under 4 KiB.
MAX_CONVERSATIONS_BYTES = 4 * 1024 * 1024
MAX_HEALTH_BYTES = 64 * 1024
#: Seconds a call may take once connected: an export or erasure waits for the turns already
#: queued for the contact (each may call an LLM or a calendar), far longer than a probe. Below
#: the 30 s `botfleet cp` waits by default, so its caller gets this answer, not a timeout of
#: its own that says nothing of the erasure.
CONTACT_TIMEOUT_S = 25.0
DEFAULT_RETRY_AFTER_S = 5
MAX_RETRY_AFTER_S = 3600
_DETAIL_CHARS = 200


class DataPlaneError(ControlPlaneError):
    """The tenant's data plane did not do it: 502 (unreachable, token refused, a wrong or
    unreadable answer), 503 (busy: retry after `retry_after` seconds) or 504 (no answer in
    time). The message names the data plane's origin only."""

    def __init__(self, status_code: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


def origin(url: str) -> str:
    """``scheme://host[:port]`` of `url`: no user name, password, path or query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}"


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes
    retry_after: str | None


class _TooLarge(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Call:
    """One call's wording: what it does and where, for its error messages."""

    method: str
    #: The route, without the contact: error messages never name the contact.
    route: str
    where: str
    tenant_id: str

    def error(self, status: int, text: str, *, retry_after: int | None = None) -> DataPlaneError:
        return DataPlaneError(
            status, f"{self.method} {self.route} on the data plane at {self.where}: {text}",
            retry_after=retry_after,
        )  # fmt: skip

    def unreachable(self, exc: httpx.HTTPError) -> DataPlaneError:
        return self.error(
            502,
            f"unreachable ({type(exc).__name__}); check the tenant's data_plane_url and that "
            "its data plane is running",
        )


class DataPlaneContacts:
    """Export and erasure of a contact's data on a tenant's data plane, and its list of
    conversations."""

    def __init__(self, client: httpx.AsyncClient, *, connect_timeout_s: float) -> None:
        self._client = client
        # /health is asked with the fleet probe's short timeout; the call itself may wait.
        self._health_timeout = httpx.Timeout(connect_timeout_s)
        self._timeout = httpx.Timeout(CONTACT_TIMEOUT_S, connect=connect_timeout_s)

    async def export(self, base_url: str, token: str, *, tenant_id: str, contact_id: str) -> Any:
        """The data plane's JSON answer to ``GET /contacts/{contact_id}``."""
        call = _Call("GET", "/contacts", origin(base_url), tenant_id)
        url = _contact_url(base_url, contact_id)
        return await self._call(call, base_url, url, token, MAX_EXPORT_BYTES)

    async def erase(self, base_url: str, token: str, *, tenant_id: str, contact_id: str) -> Any:
        """The data plane's JSON answer to ``DELETE /contacts/{contact_id}``."""
        call = _Call("DELETE", "/contacts", origin(base_url), tenant_id)
        url = _contact_url(base_url, contact_id)
        return await self._call(call, base_url, url, token, MAX_ERASURE_BYTES)

    async def list_conversations(
        self,
        base_url: str,
        token: str,
        *,
        tenant_id: str,
        active_since: datetime | None,
        limit: int,
    ) -> Any:
        """The data plane's JSON answer to ``GET /conversations`` (`active_since` aware)."""
        call = _Call("GET", "/conversations", origin(base_url), tenant_id)
        params = {"limit": str(limit)}
        if active_since is not None:
            # As given, offset included: converting it (to UTC) could overflow near year 1.
            params["active_since"] = active_since.isoformat()
        url = f"{base_url}/conversations"
        return await self._call(call, base_url, url, token, MAX_CONVERSATIONS_BYTES, params)

    async def _call(
        self,
        call: _Call,
        base_url: str,
        url: str,
        token: str,
        limit: int,
        params: dict[str, str] | None = None,
    ) -> Any:
        await self._check_tenant(call, base_url)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            answer = await self._send(call.method, url, headers, self._timeout, limit, params)
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise call.unreachable(exc) from None
        except httpx.TimeoutException:
            raise call.error(
                504,
                f"no answer within {CONTACT_TIMEOUT_S:g} s{_waits_for(call)}; retry later."
                f"{_done_again(call)}",
            ) from None
        except httpx.HTTPError as exc:
            raise call.unreachable(exc) from None
        except _TooLarge:
            raise call.error(
                502,
                f"the answer is larger than {limit} bytes, the most the control plane relays; "
                f'{_fewer(call)}read it from the data plane itself (docs/operations.md, "A '
                f"contact's data\").{_done_again(call)}",
            ) from None
        return _result(call, answer)

    async def _check_tenant(self, call: _Call, base_url: str) -> None:
        """Refuse, before the token is sent, a data plane that does not say it is the tenant's."""
        try:
            answer = await self._send(
                "GET", f"{base_url}/health", None, self._health_timeout, MAX_HEALTH_BYTES
            )
        except httpx.HTTPError as exc:
            raise call.unreachable(exc) from None
        except _TooLarge:
            answer = _Answer(200, b"", None)
        named = _json_field(answer.body, "tenant_id") if answer.status == 200 else None
        if named == call.tenant_id:
            return
        if answer.status != 200:
            why = f"its /health answered HTTP {answer.status}"
        elif named is None:
            why = "its /health names no tenant (a release older than the contact routes?)"
        else:
            why = "its /health answers as another tenant (another tenant's data plane holds "
            why += "this data_plane_url?)"
        raise call.error(
            502,
            f"{why}; the token was not sent: check the tenant's data_plane_url, and that its "
            "data plane runs a release with the contact routes",
        )

    async def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None,
        timeout: httpx.Timeout,
        limit: int,
        params: dict[str, str] | None = None,
    ) -> _Answer:
        # Streamed, so at most `limit` (plus one chunk) is ever held, as in the fleet probe.
        async with self._client.stream(
            method, url, params=params, headers=headers, timeout=timeout
        ) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _TooLarge
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise _TooLarge
            return _Answer(response.status_code, bytes(body), response.headers.get("Retry-After"))


def _contact_url(base_url: str, contact_id: str) -> str:
    return f"{base_url}/contacts/{path_segment(contact_id)}"


def _waits_for(call: _Call) -> str:
    """Why a call about one contact may take long; a list of conversations waits for none."""
    if call.route != "/contacts":
        return ""
    return " (it waits for the contact's turns under way)"


def _fewer(call: _Call) -> str:
    return "ask for fewer (a lower limit), or " if call.route == "/conversations" else ""


def _done_again(call: _Call) -> str:
    if call.method != "DELETE":
        return ""
    return " The erasure may have been done, or partly: erase again (it finishes what is left)."


def _result(call: _Call, answer: _Answer) -> Any:
    status = answer.status
    if status == 200:
        try:
            return json.loads(answer.body)
        except (ValueError, RecursionError):
            raise call.error(502, "answered 200, but not with JSON") from None
    said = _their_detail(answer.body)
    if status in (401, 403):
        raise call.error(
            502,
            f"the stored data_plane token was refused (HTTP {status}{said}); store the data "
            "plane's DP_INTERNAL_TOKEN as the tenant's data_plane credentials "
            f"(PUT /v1/tenants/{call.tenant_id}/credentials/data_plane "
            '{"internal_token": "..."})',
        )
    if status == 404:
        raise call.error(
            502, f"no such route (HTTP 404{said}): upgrade the data plane to a release with it"
        )
    if status == 503:
        wait = _retry_after(answer.retry_after)
        raise call.error(
            503, f"cannot do it now (HTTP 503{said}); retry in {wait} s.{_done_again(call)}",
            retry_after=wait,
        )  # fmt: skip
    raise call.error(502, f"answered HTTP {status}{said}")


def _retry_after(header: str | None) -> int:
    """The data plane's ``Retry-After`` in seconds (a date or nonsense: the default)."""
    if header is not None and header.strip().isdigit():
        return max(1, min(int(header.strip()), MAX_RETRY_AFTER_S))
    return DEFAULT_RETRY_AFTER_S


def _json_field(body: bytes, name: str) -> str | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    found = value.get(name) if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def _their_detail(body: bytes) -> str:
    """``: <the data plane's detail>`` (one line, shortened), or "" when it gave none."""
    detail = _json_field(body, "detail")
    if not detail:
        return ""
    line = "".join(c if c.isprintable() else " " for c in detail)[:_DETAIL_CHARS]
    return f": {line}"
