"""One call to a tenant's data plane with its internal token (its ``data_plane`` credentials),
and its failures as errors a caller can act on, naming the data plane by its origin only (never
its path or a password). The contact calls (`data_plane_contacts`) and the task calls
(`data_plane_tasks`) say what they ask; this module asks it.

The token goes only to a data plane whose `/health` answers naming this tenant. That is
stricter than the fleet probe (`fleet.DataPlaneProbe`), which refuses a `/health` naming
another tenant but takes one naming none at its word: every release with the relayed routes
names its tenant there, and an erasure or a message to a contact must never go, with this
tenant's token, to whatever else answers at the tenant's `data_plane_url` (another tenant's
data plane on a reused port).

A call the data plane got but whose answer the control plane could not take (the connection
broke once the request was sent, or the answer came larger than its bound or not as JSON) is
an `AnswerLost` (502): what was asked may have been done, so a caller that audits what it asks
(a task run) audits it as unknown. A call refused before it was sent (unreachable, `/health`,
the token refused) stays a plain `DataPlaneError`: nothing was done.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from botfleet.control_plane.errors import ControlPlaneError, InvalidInput

MAX_HEALTH_BYTES = 64 * 1024
#: Seconds a call may take once connected: an export, an erasure or a task run waits for the
#: turns already queued for the contact (each may call an LLM or a calendar), far longer than
#: a probe. Below the 30 s `botfleet cp` waits by default, so its caller gets this answer, not
#: a timeout of its own that says nothing of what may have been done.
RELAY_TIMEOUT_S = 25.0
DEFAULT_RETRY_AFTER_S = 5
MAX_RETRY_AFTER_S = 3600
_DETAIL_CHARS = 200
#: Failures of a call once its request was written whole: reading the answer, or the
#: connection closed before one came (`AnswerLost`). A `WriteError` is not one of them: the
#: data plane acts on a request only once it has read all of it.
_BROKEN_AFTER_SENDING = (httpx.ReadError, httpx.RemoteProtocolError, httpx.CloseError)


class DataPlaneError(ControlPlaneError):
    """The tenant's data plane did not do it: 502 (unreachable, token refused, a wrong or
    unreadable answer), 503 (busy: retry after `retry_after` seconds) or 504 (no answer in
    time); or what it answered, relayed (404: no such task). The message names the data
    plane's origin only."""

    def __init__(self, status_code: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class AnswerLost(DataPlaneError):
    """A 502 for a call the data plane got, whose answer did not come back usable: it may have
    done what was asked. `answered`: an answer came, but not one to take (too large, not
    JSON, not shaped as the data plane's); otherwise the connection broke before it came."""

    def __init__(self, status_code: int, message: str, *, answered: bool) -> None:
        super().__init__(status_code, message)
        self.answered = answered


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
class RelayAnswer:
    """What the data plane answered, read whole (within the call's bound)."""

    status: int
    body: bytes
    retry_after: str | None


class _TooLarge(Exception):
    pass


@dataclass(frozen=True, slots=True)
class RelayCall:
    """One call's wording: what it does and where, for its error messages."""

    method: str
    #: The route, without the contact: error messages never name the contact.
    route: str
    where: str
    tenant_id: str
    #: Why it may take long, said when it timed out: `` (it waits for ...)``.
    waits: str = ""
    #: What to do instead when the answer is over the call's bound.
    too_large: str = "check the tenant's data_plane_url."
    #: What a call that timed out (504) may have done, and what to do about it.
    timed_out: str = ""
    #: The same for a busy data plane (503).
    busy: str = ""

    def error(self, status: int, text: str, *, retry_after: int | None = None) -> DataPlaneError:
        return DataPlaneError(
            status, f"{self.method} {self.route} on the data plane at {self.where}: {text}",
            retry_after=retry_after,
        )  # fmt: skip

    def lost(self, text: str, *, answered: bool) -> AnswerLost:
        return AnswerLost(
            502, f"{self.method} {self.route} on the data plane at {self.where}: {text}",
            answered=answered,
        )  # fmt: skip

    def unreachable(self, exc: httpx.HTTPError) -> DataPlaneError:
        return self.error(
            502,
            f"unreachable ({type(exc).__name__}); check the tenant's data_plane_url and that "
            "its data plane is running",
        )


class DataPlaneRelay:
    """Sends one request to a tenant's data plane, after its `/health` named the tenant."""

    def __init__(self, client: httpx.AsyncClient, *, connect_timeout_s: float) -> None:
        self._client = client
        # /health is asked with the fleet probe's short timeout; the call itself may wait.
        self._health_timeout = httpx.Timeout(connect_timeout_s)
        self._timeout = httpx.Timeout(RELAY_TIMEOUT_S, connect=connect_timeout_s)

    async def json(
        self,
        call: RelayCall,
        base_url: str,
        url: str,
        token: str,
        limit: int,
        *,
        params: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Any:
        """The data plane's JSON answer, when it answered 200; otherwise its word on the
        contact asked about (`contact_refused`), else `refusal`."""
        answer = await self.exchange(call, base_url, url, token, limit, params=params, body=body)
        if answer.status != 200:
            raise contact_refused(answer) or refusal(call, answer)
        return answer_json(call, answer)

    async def exchange(
        self,
        call: RelayCall,
        base_url: str,
        url: str,
        token: str,
        limit: int,
        *,
        params: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> RelayAnswer:
        """The data plane's answer, whatever its status (`body`: JSON text, sent when given);
        an error when none came (502 unreachable or over `limit` bytes, 504 too slow)."""
        await self._check_tenant(call, base_url)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            return await self._send(
                call.method, url, headers, self._timeout, limit, params=params, body=body
            )
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise call.unreachable(exc) from None
        except httpx.TimeoutException:
            raise call.error(
                504,
                f"no answer within {RELAY_TIMEOUT_S:g} s{call.waits}; retry later.{call.timed_out}",
            ) from None
        except _BROKEN_AFTER_SENDING as exc:
            # The request went out whole (a connection refused or a request not sent whole is
            # an `unreachable` below): the data plane may have acted on it before the
            # connection broke (a task run sends first, then answers).
            raise call.lost(
                f"the connection broke ({type(exc).__name__}) after the request was sent, "
                f"before its answer was read; retry later.{call.timed_out}",
                answered=False,
            ) from None
        except httpx.DecodingError:
            raise call.lost(
                f"its answer could not be decoded (its Content-Encoding); {call.too_large}"
                f"{call.timed_out}",
                answered=True,
            ) from None
        except httpx.HTTPError as exc:
            raise call.unreachable(exc) from None
        except _TooLarge:
            raise call.lost(
                f"the answer is larger than {limit} bytes, the most the control plane relays; "
                f"{call.too_large}{call.timed_out}",
                answered=True,
            ) from None

    async def _check_tenant(self, call: RelayCall, base_url: str) -> None:
        """Refuse, before the token is sent, a data plane that does not say it is the tenant's."""
        try:
            answer = await self._send(
                "GET", f"{base_url}/health", None, self._health_timeout, MAX_HEALTH_BYTES
            )
        except httpx.HTTPError as exc:
            raise call.unreachable(exc) from None
        except _TooLarge:
            answer = RelayAnswer(200, b"", None)
        named = json_field(answer.body, "tenant_id") if answer.status == 200 else None
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
        *,
        params: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> RelayAnswer:
        # Streamed, so at most `limit` (plus one chunk) is ever held, as in the fleet probe.
        async with self._client.stream(
            method, url, params=params, headers=headers, timeout=timeout, content=body
        ) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _TooLarge
            received = bytearray()
            async for chunk in response.aiter_bytes():
                received += chunk
                if len(received) > limit:
                    raise _TooLarge
            return RelayAnswer(
                response.status_code, bytes(received), response.headers.get("Retry-After")
            )


def answer_json(call: RelayCall, answer: RelayAnswer) -> Any:
    """The answer's JSON, or a 502 saying it is none."""
    try:
        return json.loads(answer.body)
    except (ValueError, RecursionError):
        # What it did, if anything, the answer would have said: the run routes say so.
        may_have = f".{call.timed_out}" if call.timed_out else ""
        raise call.lost(
            f"answered {answer.status}, but not with JSON{may_have}", answered=True
        ) from None


def refusal(call: RelayCall, answer: RelayAnswer) -> DataPlaneError:
    """The error for an answer other than 200, saying what to do about it."""
    status = answer.status
    said = their_detail(answer.body)
    if status in (401, 403):
        return call.error(
            502,
            f"the stored data_plane token was refused (HTTP {status}{said}); store the data "
            "plane's DP_INTERNAL_TOKEN as the tenant's data_plane credentials "
            f"(PUT /v1/tenants/{call.tenant_id}/credentials/data_plane "
            '{"internal_token": "..."})',
        )
    if status == 404:
        return call.error(
            502, f"no such route (HTTP 404{said}): upgrade the data plane to a release with it"
        )
    if status == 503:
        wait = _retry_after(answer.retry_after)
        return call.error(
            503, f"cannot do it now (HTTP 503{said}); retry in {wait} s.{call.busy}",
            retry_after=wait,
        )  # fmt: skip
    return call.error(502, f"answered HTTP {status}{said}")


#: The longest data plane's word on a contact id relayed (`contact_refused`): its own, naming
#: an id of at most 191 characters and its prefixed form, is well under it.
_CONTACT_DETAIL_CHARS = 1000


def contact_refused(answer: RelayAnswer) -> InvalidInput | None:
    """The data plane's 422 on the contact id it was asked about (naming a channel the tenant
    lacks, a more channel's contact without its prefix), as the caller's own 422 naming
    `contact_id`: the id given is wrong, not the data plane. None for any other answer."""
    detail = detail_of(answer)
    if answer.status == 422 and detail.startswith("contact_id: "):
        # Relayed as the caller's own error, and printed by the CLI: one line of printable
        # characters, bounded (two contact ids and a sentence fit), whatever the answer held.
        said = _one_line(detail.removeprefix("contact_id: ")[:_CONTACT_DETAIL_CHARS])
        return InvalidInput("contact_id", said)
    return None


def _retry_after(header: str | None) -> int:
    """The data plane's ``Retry-After`` in seconds (a date or nonsense: the default)."""
    if header is not None and header.strip().isdigit():
        return max(1, min(int(header.strip()), MAX_RETRY_AFTER_S))
    return DEFAULT_RETRY_AFTER_S


def detail_of(answer: RelayAnswer) -> str:
    """The data plane's ``detail`` as it wrote it ("" when it gave none): what its refusals
    are told apart by."""
    return json_field(answer.body, "detail") or ""


def json_field(body: bytes, name: str) -> str | None:
    """The string member `name` of the JSON object `body`, or None."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    found = value.get(name) if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def their_detail(body: bytes) -> str:
    """``: <the data plane's detail>`` (one line, shortened), or "" when it gave none."""
    detail = json_field(body, "detail")
    if not detail:
        return ""
    return f": {_one_line(detail[:_DETAIL_CHARS])}"


def _one_line(text: str) -> str:
    """`text` with each character that does not print (a line break, a terminal escape, a
    bidi override) as a space."""
    return "".join(c if c.isprintable() else " " for c in text)
