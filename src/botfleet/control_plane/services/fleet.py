"""Fleet observability: ask each tenant's data plane for /health, /usage and /tasks.

Each answer is read as the control plane's model of it (`DataPlaneHealth`, `DataPlaneUsage`,
`PendingTasks`); one of another shape is left out (null) and said in ``errors``, so the status
answer always has the shape its schema publishes.

The internal routes of a data plane want ``Authorization: Bearer <DP_INTERNAL_TOKEN>``: store
that token as the tenant's ``data_plane`` credentials (``{"internal_token": ...}``).

What an operator should act on in those answers is also said in words, in ``notes``: published
settings the data plane runs without until its restart (its /health's ``config``), its
configuration polls refused or cut off (``config.control_plane``: a rotated boot token), and
the LLM provider's last failure (its /usage's ``llm_last_error``): a tenant key has no access
to the data plane's log, which says them all.

A data plane that does not answer is reported as ``unreachable``; it never turns into an error
of the control plane. Neither does a ``data_plane`` credential sealed with a key no longer in
``CP_FERNET_KEYS``: that tenant's data plane is probed without the token (its /usage and /tasks
then fail) and the decryption error is the first of its ``errors``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from botfleet.control_plane.crypto import SecretBox, UndecryptableSecret
from botfleet.control_plane.db.tables import Tenant
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.models import (
    DataPlaneConfigPolls,
    DataPlaneHealth,
    DataPlaneUsage,
    FleetView,
    PendingTasks,
    TenantStatus,
)
from botfleet.control_plane.principals import Principal, Role
from botfleet.control_plane.services.credentials import data_plane_token
from botfleet.control_plane.services.tenants import get_tenant

MAX_BODY_BYTES = 1024 * 1024
MAX_CONCURRENT_PROBES = 16
_UNHEALTHY = frozenset({"degraded", "error", "down", "unhealthy", "failing"})


ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(slots=True)
class ProbeResult:
    status: str
    health: DataPlaneHealth | None = None
    usage: DataPlaneUsage | None = None
    tasks: PendingTasks | None = None
    errors: list[str] = field(default_factory=list)


class _Unreachable(Exception):
    pass


def _read(model: type[ModelT], url: str, answer: Any) -> ModelT:
    """`answer` (JSON, or the exception getting it raised) as `model`; a ValueError naming
    `url` when it is not shaped so (the count of problems only: the answer may be anything
    that holds the URL)."""
    if isinstance(answer, BaseException):
        raise answer
    try:
        return model.model_validate(answer)
    except ValidationError as exc:
        raise ValueError(
            f"GET {url}: answered, but not as a data plane does ({exc.error_count()} problem(s))"
        ) from None


class DataPlaneProbe:
    """Reads a data plane's health and metrics over HTTP with a short timeout."""

    def __init__(self, client: httpx.AsyncClient, *, timeout_s: float) -> None:
        self._client = client
        self._timeout = httpx.Timeout(timeout_s)

    async def _get(self, url: str, token: str | None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        too_large = f"GET {url}: answer larger than {MAX_BODY_BYTES} bytes"
        try:
            # Streamed, so at most MAX_BODY_BYTES (plus one chunk) is ever held: a data plane
            # (or whatever holds its URL) answering gigabytes cannot exhaust the control plane.
            async with self._client.stream(
                "GET", url, headers=headers, timeout=self._timeout
            ) as response:
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                    raise ValueError(too_large)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY_BYTES:
                        raise ValueError(too_large)
                status = response.status_code
        except httpx.HTTPError as exc:
            raise _Unreachable(f"GET {url}: {type(exc).__name__}") from None
        if status >= 400:
            raise ValueError(f"GET {url}: HTTP {status}")
        try:
            return json.loads(body)
        except ValueError:
            raise ValueError(f"GET {url}: answer is not JSON") from None

    async def probe(
        self, base_url: str, token: str | None = None, *, tenant_id: str | None = None
    ) -> ProbeResult:
        """Read /health, then /usage and /tasks; `token` is the data plane's internal token.

        A data plane that does not answer /health is not asked the rest. One whose /health
        names a tenant other than `tenant_id` (another tenant's data plane holds the URL, a
        port reused on one machine) is `unreachable` for this tenant: its answers are not
        reported as this tenant's, and the token is not sent to it.
        """
        health: Any
        try:
            health = await self._get(f"{base_url}/health", None)
        except Exception as exc:
            health = exc
        if isinstance(health, _Unreachable):
            return ProbeResult(status="unreachable", errors=[str(health)])
        answered_as = health.get("tenant_id") if isinstance(health, dict) else None
        if tenant_id is not None and isinstance(answered_as, str) and answered_as != tenant_id:
            return ProbeResult(
                status="unreachable",
                errors=[
                    f"GET {base_url}/health: answers as tenant {answered_as!r}: another "
                    "tenant's data plane holds this data_plane_url"
                ],
            )
        usage, tasks = await asyncio.gather(
            *(self._get(f"{base_url}/{path}", token) for path in ("usage", "tasks")),
            return_exceptions=True,
        )
        result = ProbeResult(status="ok")
        try:
            result.health = _read(DataPlaneHealth, f"{base_url}/health", health)
        except Exception as exc:
            result.status = "degraded"
            result.errors.append(str(exc))
        else:
            if result.health.status.lower() in _UNHEALTHY:
                result.status = "degraded"
        try:
            result.usage = _read(DataPlaneUsage, f"{base_url}/usage", usage)
        except Exception as exc:
            result.errors.append(str(exc))
        try:
            result.tasks = _read(PendingTasks, f"{base_url}/tasks", tasks)
        except Exception as exc:
            result.errors.append(str(exc))
        return result


@dataclass(frozen=True, slots=True)
class _Snapshot:
    tenant_id: str
    tenant_status: str
    data_plane_url: str | None
    flow_version: int | None
    knowledge_version: int | None
    token: str | None = field(default=None, repr=False)
    #: Why the token could not be read (the data plane is then probed without it).
    token_error: str | None = None

    @classmethod
    async def of(cls, uow: SqlAlchemyUnitOfWork, box: SecretBox, tenant: Tenant) -> _Snapshot:
        token, problem = None, None
        if tenant.data_plane_url:
            try:
                token = await data_plane_token(uow, box, tenant.id)
            except UndecryptableSecret as exc:
                # One tenant's unreadable credentials must not hide the rest of the fleet.
                problem = str(exc)
        return cls(
            tenant.id,
            tenant.status,
            tenant.data_plane_url,
            tenant.published_flow_version,
            tenant.published_knowledge_version,
            token,
            problem,
        )


async def _status(probe: DataPlaneProbe, snapshot: _Snapshot, now: datetime) -> TenantStatus:
    if snapshot.data_plane_url is None:
        result = ProbeResult(status="unconfigured")
    else:
        result = await probe.probe(
            snapshot.data_plane_url, snapshot.token, tenant_id=snapshot.tenant_id
        )
    if snapshot.token_error:
        result.errors.insert(0, snapshot.token_error)
    return TenantStatus(
        tenant_id=snapshot.tenant_id,
        tenant_status=snapshot.tenant_status,
        status=result.status,
        data_plane_url=snapshot.data_plane_url,
        published_flow_version=snapshot.flow_version,
        published_knowledge_version=snapshot.knowledge_version,
        checked_at=now,
        health=result.health,
        usage=result.usage,
        tasks=result.tasks,
        errors=result.errors,
        notes=notes_of(result.health, result.usage),
    )


def notes_of(health: DataPlaneHealth | None, usage: DataPlaneUsage | None) -> list[str]:
    """The `notes` of a status (see the module doc), one line each."""
    notes = []
    config = health.config if health is not None else None
    if config is not None and config.restart_required:
        since = f" (changed {_minute(config.since)})" if config.since is not None else ""
        notes.append(
            f"restart required: {', '.join(config.restart_required)}{since}; the new settings "
            "apply at the data plane's next start"
        )
    polls = config.control_plane if config is not None else None
    if polls is not None and polls.polls != "ok":
        notes.append(_polls_note(polls))
    failure = usage.llm_last_error if usage is not None else None
    if failure is not None:
        line = f"llm: last error {_minute(failure.at)} {failure.outcome}: {failure.detail}"
        if failure.resolved_at is not None:
            line += f"; the provider has answered since {_minute(failure.resolved_at)}"
        notes.append(line)
    return notes


def _polls_note(polls: DataPlaneConfigPolls) -> str:
    since = f" since {_minute(polls.since)}" if polls.since is not None else ""
    if polls.polls == "refused":
        why = {
            401: "its boot token is refused (rotated? start it with the new one)",
            403: "the tenant is disabled",
            409: "nothing is published",
        }.get(polls.http_status or 0, f"HTTP {polls.http_status}")
        head = f"config polls refused{since}: {why}"
    elif polls.polls == "cache":
        head = f"started from its cached copy{since}, not polled since"
    else:
        head = f"config polls cannot reach the control plane{since}"
    return f"{head}; it runs the configuration it has, and publishes do not reach it"


def _minute(moment: datetime) -> str:
    if moment.tzinfo is None:  # a data plane's clock is UTC unless it says otherwise
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


async def tenant_status(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    probe: DataPlaneProbe,
    box: SecretBox,
    tenant_id: str,
    *,
    now: datetime,
) -> TenantStatus:
    """The tenant's status. For a key below editor, without the pending jobs: they name
    contacts (phone numbers) and hold their data, which `GET .../tasks` keeps from viewers."""
    snapshot = await _Snapshot.of(uow, box, await get_tenant(uow, principal, tenant_id))
    await uow.release()  # do not hold a DB connection while waiting on the network
    found = await _status(probe, snapshot, now)
    if principal.is_admin or principal.role.covers(Role.EDITOR) or found.tasks is None:
        return found
    why = (
        f"GET /tasks: left out for a key with the {principal.role} role (pending jobs name "
        "contacts and hold their data); listing them needs the editor role"
    )
    return found.model_copy(update={"tasks": None, "errors": [*found.errors, why]})


async def fleet_status(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    probe: DataPlaneProbe,
    box: SecretBox,
    *,
    now: datetime,
) -> FleetView:
    """Every tenant's status (admin only), probed concurrently."""
    principal.require_admin("the fleet view")
    snapshots = [await _Snapshot.of(uow, box, t) for t in await uow.tenants.list()]
    await uow.release()
    limit = asyncio.Semaphore(MAX_CONCURRENT_PROBES)

    async def one(snapshot: _Snapshot) -> TenantStatus:
        async with limit:
            return await _status(probe, snapshot, now)

    statuses = await asyncio.gather(*(one(s) for s in snapshots))
    return FleetView(checked_at=now, tenants=list(statuses))
