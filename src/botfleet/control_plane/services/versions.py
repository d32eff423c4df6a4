"""Versioned documents (flows, knowledge): numbering, publish, rollback, diff, listing."""

from __future__ import annotations

import asyncio
import difflib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from botfleet.control_plane.db.repositories import DocumentRepository
from botfleet.control_plane.db.tables import Tenant, VersionedDocument, utcnow
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from botfleet.control_plane.pagination import Page, after_version, page_of
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services import audit
from botfleet.control_plane.services.tenants import get_tenant, get_tenant_for_change

DocT = TypeVar("DocT", bound=VersionedDocument)


@dataclass(frozen=True, slots=True)
class DocumentKind(Generic[DocT]):
    """One kind of versioned document: its name, repository and the tenant's pointer column."""

    name: str  # "flow" | "knowledge"
    repository: Callable[[SqlAlchemyUnitOfWork], DocumentRepository[DocT]]
    get_published: Callable[[Tenant], int | None]
    set_published: Callable[[Tenant, int | None], None]
    #: Raises (a `ControlPlaneError`) when the document cannot run with the tenant as it is
    #: now: a data plane would refuse to boot with it.
    check_publishable: Callable[[Tenant, DocT], None] | None = None


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def check_size(what: str, text: str, limit: int) -> None:
    try:
        size = len(text.encode())
    except UnicodeEncodeError as exc:
        # Only reachable from code that skipped the API's body checks; still a 422, not a 500.
        raise InvalidInput(what, f"character {exc.start} is a lone surrogate") from None
    if size > limit:
        raise PayloadTooLarge(what, size, limit)


async def next_version(uow: SqlAlchemyUnitOfWork, kind: DocumentKind[DocT], tenant_id: str) -> int:
    """The number the next upload gets (1..n). Take the tenant's lock first (`get_tenant(...,
    lock=True)`): concurrent uploads then number one after the other instead of conflicting."""
    return await kind.repository(uow).latest_version(tenant_id) + 1


async def get_version(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant_id: str,
    version: int,
) -> DocT:
    await get_tenant(uow, principal, tenant_id)
    document = await kind.repository(uow).get(tenant_id, version)
    if document is None:
        raise NotFound(f"{kind.name} version", version)
    return document


async def get_version_and_published(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant_id: str,
    version: int,
) -> tuple[DocT, int | None]:
    """A version and the tenant's published version number (to mark it)."""
    tenant = await get_tenant(uow, principal, tenant_id)
    document = await kind.repository(uow).get(tenant_id, version)
    if document is None:
        raise NotFound(f"{kind.name} version", version)
    return document, kind.get_published(tenant)


async def list_versions(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant_id: str,
    *,
    limit: int,
    cursor: str | None = None,
) -> tuple[int | None, Page[DocT]]:
    """(published version, a page of versions oldest first)."""
    tenant = await get_tenant(uow, principal, tenant_id)
    listing = f"{kind.name} versions"
    rows = await kind.repository(uow).page(
        tenant_id, after=after_version(listing, cursor), limit=limit + 1
    )
    return kind.get_published(tenant), page_of(rows, limit, listing, lambda row: row.version)


async def publish(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant_id: str,
    version: int,
    *,
    action: str = "publish",
) -> DocT:
    """Make `version` the one data planes boot with. Audited as ``<kind>.<action>``.

    The tenant row is locked first: concurrent publishes (and binding changes) of one tenant
    run one after the other, so each checks, and audits ``from_version``, against the state
    the previous one committed.
    """
    tenant = await get_tenant_for_change(uow, principal, tenant_id)
    document = await kind.repository(uow).get(tenant_id, version)
    if document is None:
        raise NotFound(f"{kind.name} version", version)
    await _publish(uow, principal, kind, tenant, document, action)
    await uow.commit()
    return document


async def publish_new(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant: Tenant,
    document: DocT,
) -> None:
    """Publish a version an upload has just added, in the upload's transaction (the caller
    holds the tenant's lock and commits both): a refused publish stores nothing."""
    await _publish(uow, principal, kind, tenant, document, "publish")


async def _publish(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant: Tenant,
    document: DocT,
    action: str,
) -> None:
    """Point the (locked) tenant at `document`, unless it already is; the caller commits."""
    previous, version = kind.get_published(tenant), document.version
    if previous != version:
        if kind.check_publishable is not None:
            kind.check_publishable(tenant, document)
        kind.set_published(tenant, version)
        tenant.updated_at = utcnow()
        audit.record(
            uow, principal, f"{kind.name}.{action}", tenant_id=tenant.id, target=str(version),
            details={"from_version": previous, "to_version": version},
        )  # fmt: skip


async def rollback(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant_id: str,
    version: int | None = None,
) -> DocT:
    """Publish an earlier version: `version`, or by default the one before the published one."""
    tenant = await get_tenant_for_change(uow, principal, tenant_id)
    current = kind.get_published(tenant)
    if current is None:
        raise Conflict(f"tenant {tenant_id!r} has no published {kind.name} to roll back")
    if version is None:
        version = await kind.repository(uow).previous_version(tenant_id, current)
        if version is None:
            raise Conflict(f"{kind.name} version {current} is the first; nothing to roll back to")
    document = await kind.repository(uow).get(tenant_id, version)
    if document is None:
        raise NotFound(f"{kind.name} version", version)
    if version >= current:
        raise Conflict(
            f"rollback must go to a version before the published one ({current}); "
            f"use publish for version {version}"
        )
    await _publish(uow, principal, kind, tenant, document, "rollback")
    await uow.commit()
    return document


#: Lines of each version a diff compares. difflib's matching grows faster than linearly with
#: the line count (two shuffled 50,000-line documents take seconds of CPU); past this, the
#: diff covers the first lines only and says so.
MAX_DIFF_LINES = 10_000


def unified_diff(
    old: str, new: str, fromfile: str, tofile: str, *, max_lines: int | None = None
) -> str:
    """Unified diff of two texts (empty when identical) over at most `max_lines` (default
    `MAX_DIFF_LINES`) lines of each; when either is longer, a last line starting with
    ``# diff cut:`` says what was left out. CPU-bound: run it off the event loop."""
    if max_lines is None:
        max_lines = MAX_DIFF_LINES
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    cut = len(old_lines) > max_lines or len(new_lines) > max_lines
    lines = difflib.unified_diff(
        old_lines[:max_lines], new_lines[:max_lines], fromfile=fromfile, tofile=tofile
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    if cut:
        text += (
            f"# diff cut: only the first {max_lines} lines of each version were compared "
            f"({fromfile} has {len(old_lines)} lines, {tofile} has {len(new_lines)}); "
            "read the versions themselves for the rest\n"
        )
    return text


async def diff_versions(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant_id: str,
    from_version: int,
    to_version: int,
) -> str:
    """Unified diff between two versions (empty when they are identical), computed in a worker
    thread (the event loop keeps serving) and bounded by `MAX_DIFF_LINES`."""
    old = (await get_version(uow, principal, kind, tenant_id, from_version)).content
    new = (await get_version(uow, principal, kind, tenant_id, to_version)).content
    await uow.release()  # no database connection held while diffing
    return await asyncio.to_thread(
        unified_diff, old, new, f"{kind.name}@v{from_version}", f"{kind.name}@v{to_version}"
    )
