"""Versioned documents (flows, knowledge): numbering, publish, rollback, diff, listing."""

from __future__ import annotations

import asyncio
import difflib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from botfleet.control_plane.db.repositories import DocumentRepository
from botfleet.control_plane.db.tables import AuditEntry, Tenant, VersionedDocument, utcnow
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from botfleet.control_plane.pagination import Page, after_version, page_of
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services import audit
from botfleet.control_plane.services.tenants import get_tenant, get_tenant_for_change
from botfleet.flows.version_changes import VersionChange

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
    #: What publishing the second text in place of the first (the live one) does to the
    #: conversations under way; CPU-bound, so run in a worker thread. None: nothing to say.
    changes: Callable[[str, str], tuple[VersionChange, ...]] | None = None
    #: Raises `PermissionDenied` when the caller may not put the second text live in place of
    #: the first (None: nothing was live), for what the change does beyond the document (a
    #: flow's conversation retention erases contacts' data); CPU-bound, run in a worker thread.
    check_publisher: Callable[[Principal, str | None, str], None] | None = None


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


@dataclass(frozen=True, slots=True)
class Upload(Generic[DocT]):
    """What an upload did: the version it answers with, and whether it is a new one."""

    document: DocT
    #: The tenant's published version after the upload (to mark the answer published).
    published_version: int | None
    #: True when the text was the latest version's: that version is answered, none is added.
    unchanged: bool = False
    #: With publish: what replacing the version live until then does to conversations.
    changes: tuple[VersionChange, ...] = ()


@dataclass(frozen=True, slots=True)
class Published(Generic[DocT]):
    """What a publish or rollback did: the version now live, and what replacing the one live
    until then does to conversations under way (empty when the pointer did not move)."""

    document: DocT
    changes: tuple[VersionChange, ...] = ()


async def unchanged_upload(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant: Tenant,
    text: str,
    *,
    publish: bool,
) -> Upload[DocT] | None:
    """An upload of the latest version's very text adds no version: that version is answered
    (published with `publish`, audited as a publish when that changes the pointer; no upload
    is audited) and the transaction committed. None when the text is new. The caller holds
    the tenant's lock (`get_tenant_for_change`), so a concurrent upload of the same text sees
    this one's version."""
    repository = kind.repository(uow)
    number = await repository.latest_version(tenant.id)
    latest = await repository.get(tenant.id, number) if number else None
    if latest is None or latest.sha256 != sha256_text(text) or latest.content != text:
        return None
    changes: tuple[VersionChange, ...] = ()
    if publish:
        changes = await _publish(uow, principal, kind, tenant, latest, "publish")
        await uow.commit()
    return Upload(latest, kind.get_published(tenant), unchanged=True, changes=changes)


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
    """`publish_with_changes`, answering only the version."""
    done = await publish_with_changes(uow, principal, kind, tenant_id, version, action=action)
    return done.document


async def publish_with_changes(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant_id: str,
    version: int,
    *,
    action: str = "publish",
) -> Published[DocT]:
    """Make `version` the one data planes boot with. Audited as ``<kind>.<action>``.

    The tenant row is locked first: concurrent publishes (and binding changes) of one tenant
    run one after the other, so each checks, and audits ``from_version``, against the state
    the previous one committed.
    """
    tenant = await get_tenant_for_change(uow, principal, tenant_id)
    document = await kind.repository(uow).get(tenant_id, version)
    if document is None:
        raise NotFound(f"{kind.name} version", version)
    changes = await _publish(uow, principal, kind, tenant, document, action)
    await uow.commit()
    return Published(document, changes)


async def publish_new(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant: Tenant,
    document: DocT,
) -> tuple[VersionChange, ...]:
    """Publish a version an upload has just added, in the upload's transaction (the caller
    holds the tenant's lock and commits both): a refused publish stores nothing. Returns what
    replacing the version live until then does to conversations under way."""
    return await _publish(uow, principal, kind, tenant, document, "publish")


async def _publish(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant: Tenant,
    document: DocT,
    action: str,
) -> tuple[VersionChange, ...]:
    """Point the (locked) tenant at `document`, unless it already is; the caller commits.
    Returns what replacing the version live until then does to conversations under way (also
    in the audit entry's details, as ``changes``, when there is any)."""
    previous, version = kind.get_published(tenant), document.version
    if previous == version:
        return ()
    live = None if previous is None else await kind.repository(uow).get(tenant.id, previous)
    if kind.check_publisher is not None:
        live_text = None if live is None else live.content
        await asyncio.to_thread(kind.check_publisher, principal, live_text, document.content)
    if kind.check_publishable is not None:
        kind.check_publishable(tenant, document)
    changes = await _changes_from(kind, live, document)
    kind.set_published(tenant, version)
    tenant.updated_at = utcnow()
    details: dict[str, object] = {"from_version": previous, "to_version": version}
    if changes:
        details["changes"] = [
            {"code": c.code, "path": c.path, "message": c.message} for c in changes
        ]
    audit.record(
        uow, principal, f"{kind.name}.{action}", tenant_id=tenant.id, target=str(version),
        details=details,
    )  # fmt: skip
    return changes


async def _changes_from(
    kind: DocumentKind[DocT], live: DocT | None, document: DocT
) -> tuple[VersionChange, ...]:
    """`kind.changes` from the `live` version (None: nothing was live, so nothing changes for
    anyone) to `document`, in a worker thread: comparing two large flows takes CPU, which on
    the event loop would hold every other tenant's requests."""
    if kind.changes is None or live is None:
        return ()
    return await asyncio.to_thread(kind.changes, live.content, document.content)


async def rollback(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant_id: str,
    version: int | None = None,
) -> DocT:
    """`rollback_with_changes`, answering only the version."""
    return (await rollback_with_changes(uow, principal, kind, tenant_id, version)).document


async def rollback_with_changes(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    kind: DocumentKind[DocT],
    tenant_id: str,
    version: int | None = None,
) -> Published[DocT]:
    """Publish an earlier version: `version`, or by default the one published before the
    published one (`published_before`): a version that was never published (an upload kept
    as a draft) is skipped. Audited as ``<kind>.rollback``."""
    tenant = await get_tenant_for_change(uow, principal, tenant_id)
    current = kind.get_published(tenant)
    if current is None:
        raise Conflict(f"tenant {tenant_id!r} has no published {kind.name} to roll back")
    if version is None:
        version = await published_before(uow, kind, tenant_id, current)
        if version is None:
            group = "flows" if kind.name == "flow" else kind.name  # the CLI's command group
            raise Conflict(
                f"no {kind.name} version before version {current} was ever published for "
                f"tenant {tenant_id!r}, so there is nothing to roll back to (a rollback "
                "without a version returns to the version published before the current one; "
                f'give {{"version": n}}, or `--to n` to `botfleet cp {group} rollback`, '
                "to publish an earlier version that never was)"
            )
    document = await kind.repository(uow).get(tenant_id, version)
    if document is None:
        raise NotFound(f"{kind.name} version", version)
    if version >= current:
        raise Conflict(
            f"rollback must go to a version before the published one ({current}); "
            f"use publish for version {version}"
        )
    changes = await _publish(uow, principal, kind, tenant, document, "rollback")
    await uow.commit()
    return Published(document, changes)


#: Audit entries read at a time while looking back through a tenant's publish history.
HISTORY_PAGE = 200


async def published_before(
    uow: SqlAlchemyUnitOfWork, kind: DocumentKind[DocT], tenant_id: str, current: int
) -> int | None:
    """The version that was published most recently before `current` among those numbered
    below it, or None when none was.

    The publish history is the audit log: every change of the tenant's pointer goes through
    `_publish`, which records ``<kind>.publish`` or ``<kind>.rollback`` (``to_version``) in
    the same transaction, under the tenant's lock. Newest first, the first entry that set a
    version below `current` names the version live before it: after publishes of 1, 2 and 3,
    rollbacks go to 2, then 1, then none; a draft never published (2, when only 1 and 3 were)
    is never chosen.
    """
    found: tuple[int, int] | None = None  # (audit entry id, version)
    for action in (f"{kind.name}.publish", f"{kind.name}.rollback"):
        entry = await _newest_entry_below(uow, tenant_id, action, current)
        if entry is not None and (found is None or entry[0] > found[0]):
            found = entry
    return None if found is None else found[1]


async def _newest_entry_below(
    uow: SqlAlchemyUnitOfWork, tenant_id: str, action: str, current: int
) -> tuple[int, int] | None:
    """(id, version) of the newest `action` entry of the tenant that published a version
    below `current`."""
    before_id: int | None = None
    while True:
        entries = await uow.audit.list(
            tenant_id=tenant_id, action=action, before_id=before_id, limit=HISTORY_PAGE
        )
        for entry in entries:
            version = _published_version(entry)
            if version is not None and version < current:
                return entry.id, version
        if len(entries) < HISTORY_PAGE:
            return None
        before_id = entries[-1].id


def _published_version(entry: AuditEntry) -> int | None:
    """The version a publish or rollback entry set: its ``to_version`` (its target too)."""
    value = (entry.details or {}).get("to_version", entry.target)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


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
