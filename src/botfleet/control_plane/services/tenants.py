"""Tenant use cases: register, read, update, disable/enable, export and delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

from botfleet.control_plane.binding_schemas import (
    check_llm_provider,
    check_more_channels,
    more_channel_of,
    validate_channel,
    validate_connectors,
    validate_llm,
    validate_more_channels,
)
from botfleet.control_plane.crypto import SecretBox, UndecryptableSecret
from botfleet.control_plane.db.repositories import TENANT_DELETE
from botfleet.control_plane.db.tables import Tenant, utcnow
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TenantReadOnly,
)
from botfleet.control_plane.models import TenantCreate, TenantUpdate, data_plane_url_text
from botfleet.control_plane.pagination import Page, after_tenant_id, page_of
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services import audit
from botfleet.control_plane.services.credential_scopes import (
    StaleScope,
    host_move_conflict,
    misfit_conflict,
    stale_conflict,
    stale_scopes,
    stored_url_places,
)
from botfleet.control_plane.tokens import hash_secret, new_boot_token
from botfleet.control_plane.url_policy import (
    TenantUrlGuard,
    UrlPlace,
    changed_places,
    removed_places,
)
from botfleet.domain.channel_ids import channel_kind

ACTIVE, DISABLED = "active", "disabled"
TENANTS_LISTING = "tenants"
#: The fields holding bindings, whose URLs the tenant's data plane calls.
BINDING_FIELDS = ("channel", "more_channels", "connectors", "llm")
#: The fields holding bindings whose credentials are checked when they change.
CREDENTIAL_FIELDS = frozenset({"channel", "more_channels", "connectors"})
#: The places that passed `TenantUrlGuard.check` (new URLs) and `check_removable` (URLs
#: removed), kept apart: a removed URL may pass though it could not be set (its name does
#: not resolve), so passing one says nothing of the other.
UrlsPassed = tuple[frozenset[UrlPlace], frozenset[UrlPlace]]
_NONE_PASSED: UrlsPassed = (frozenset(), frozenset())
#: How a tenant keeps stored credentials `?drop_stale_credentials` would remove.
_KEEP_STALE = "leave the binding as it is to keep it"


async def get_tenant(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str, *, lock: bool = False
) -> Tenant:
    """The tenant, if the caller may see it; otherwise `NotFound` (never a hint it exists).

    With `lock` the row is locked until the transaction ends (see
    `TenantRepository.get_for_update`): concurrent changes of the tenant then serialize, and
    each checks the tenant as the previous one left it.
    """
    principal.require_tenant(tenant_id)
    if lock:
        tenant = await uow.tenants.get_for_update(tenant_id)
    else:
        tenant = await uow.tenants.get(tenant_id)
    if tenant is None:
        raise NotFound("tenant", tenant_id)
    return tenant


async def get_tenant_for_change(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str
) -> Tenant:
    """The tenant, locked, for a change by `principal` (every write of a tenant's rows starts
    here, so writes of one tenant, its deletion included, run one after the other).

    A disabled tenant's own keys are refused (403, `TenantReadOnly`): disabling freezes the
    tenant's configuration, reads and exports stay open, and the admin may still change it
    (to fix it before enabling it again). The status is read under the lock, so a disable
    racing a change is either before it (refused) or after it.
    """
    tenant = await get_tenant(uow, principal, tenant_id, lock=True)
    if tenant.status == DISABLED and not principal.is_admin:
        raise TenantReadOnly(tenant_id)
    return tenant


async def peek_tenant_for_change(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str
) -> Tenant:
    """The tenant, not locked, refused as `get_tenant_for_change` would refuse it: for checks
    that must not hold the lock (DNS lookups of `CP_TENANT_URL_POLICY`, which may take
    seconds: on SQLite the lock is the database's write lock). End the read with
    ``uow.release()``; the change itself then takes the lock as usual."""
    tenant = await get_tenant(uow, principal, tenant_id)
    if tenant.status == DISABLED and not principal.is_admin:
        raise TenantReadOnly(tenant_id)
    return tenant


async def create_tenant(
    uow: SqlAlchemyUnitOfWork, principal: Principal, spec: TenantCreate
) -> tuple[Tenant, str]:
    """Register a tenant; returns it with its first boot token (shown once)."""
    principal.require_admin("creating a tenant")
    if await uow.tenants.get(spec.id) is not None:
        raise Conflict(f"tenant {spec.id!r} already exists")
    connectors, llm = validate_connectors(spec.connectors), validate_llm(spec.llm)
    check_llm_provider(llm, connectors)
    channel, more_channels = (
        validate_channel(spec.channel),
        validate_more_channels(spec.more_channels),
    )
    check_more_channels(channel, more_channels)
    tenant = Tenant(
        id=spec.id,
        name=spec.name,
        timezone=spec.timezone,
        language=spec.language,
        status=ACTIVE,
        channel=channel,
        more_channels=more_channels,
        connectors=connectors,
        llm=llm,
        data_plane_url=data_plane_url_text(spec.data_plane_url),
    )
    uow.tenants.add(tenant)
    try:
        await uow.session.flush()  # the boot token's foreign key needs the tenant row first
    except IntegrityError:
        # The only constraint this insert can meet is the id's: a request made at the same
        # time found it free too and stored it first. Said as the check above says it, not as
        # "retry" (the retry would answer this anyway).
        raise Conflict(f"tenant {spec.id!r} already exists") from None
    token = new_boot_token()
    await uow.boot_tokens.replace(spec.id, hash_secret(token))
    audit.record(uow, principal, "tenant.create", tenant_id=spec.id, target=spec.id)
    await uow.commit()
    return tenant, token


async def list_tenants(
    uow: SqlAlchemyUnitOfWork, principal: Principal, *, limit: int, cursor: str | None = None
) -> Page[Tenant]:
    """A page of tenants by id: every tenant for the admin; a tenant key sees only its own."""
    rows = await uow.tenants.page(
        after=after_tenant_id(TENANTS_LISTING, cursor),
        limit=limit + 1,
        only=None if principal.is_admin else principal.tenant_id,
    )
    return page_of(rows, limit, TENANTS_LISTING, lambda tenant: tenant.id)


def _changes(tenant: Tenant, spec: TenantUpdate) -> dict[str, Any]:
    validators: dict[str, Callable[[Any], object]] = {
        "channel": validate_channel,
        "more_channels": validate_more_channels,
        "connectors": validate_connectors,
        "llm": validate_llm,
    }
    changes: dict[str, Any] = {}
    for field in spec.model_fields_set:
        value = getattr(spec, field)
        if field == "data_plane_url":
            value = data_plane_url_text(value)
        elif value is None:
            continue  # null means "leave as is" for the required fields
        elif field in validators:
            value = validators[field](value)
        if getattr(tenant, field) != value:
            changes[field] = value
    return changes


def _kind(binding: object) -> str:
    kind = binding.get("type") if isinstance(binding, dict) else None
    return channel_kind(kind) if isinstance(kind, str) else ""


def _check_channel_kind_kept(tenant: Tenant, changes: dict[str, Any]) -> None:
    """A tenant with more channels keeps the kind of its `channel`: its contacts' ids carry
    no prefix, so on another kind they would become that kind's contacts (a web chat page
    would read a WhatsApp number's conversation), and its data plane refuses to start on such
    a change (docs/channels.md, "Several channels"). A tenant on one channel may change it."""
    if "channel" not in changes:
        return
    before, after = _kind(tenant.channel), _kind(changes["channel"])
    more = changes.get("more_channels", tenant.more_channels)
    if before == after or not (tenant.more_channels or more):
        return
    raise InvalidInput(
        "channel.type",
        f"a tenant with more channels keeps the kind of its channel ({before!r}): its "
        f"contacts' ids have no prefix and would become {after!r} contacts, and its data "
        "plane would refuse to start; change more_channels only, or give the tenant one "
        'channel first (docs/channels.md, "Several channels")',
    )


def _checked_changes(principal: Principal, tenant: Tenant, spec: TenantUpdate) -> dict[str, Any]:
    changes = _changes(tenant, spec)
    check_llm_provider(changes.get("llm", tenant.llm), changes.get("connectors", tenant.connectors))
    if {"channel", "more_channels"} & set(changes):
        check_more_channels(
            changes.get("channel", tenant.channel),
            changes.get("more_channels", tenant.more_channels),
            stored="more_channels" not in spec.model_fields_set,
        )
        _check_channel_kind_kept(tenant, changes)
    # The CP calls this URL and returns what it answers: only the admin may point it somewhere.
    if "data_plane_url" in changes and not principal.is_admin:
        raise PermissionDenied("changing data_plane_url needs the admin API key")
    if "connectors" in changes and not principal.is_admin:
        _refuse_new_host_paths(tenant.connectors or {}, changes["connectors"] or {})
    return changes


#: Binding settings naming a file on the data plane's host, which reads it as a key file.
HOST_PATH_SETTINGS = ("credentials_path",)


def _refuse_new_host_paths(before: dict[str, Any], after: dict[str, Any]) -> None:
    """A tenant key may not name a file on the data plane's host: on a machine running several
    tenants (the local orchestrator) it could name another tenant's key file and act with it.
    The admin sets such paths; a tenant stores `service_account_info` as a credential."""
    for category, binding in after.items():
        if not isinstance(binding, dict):
            continue
        old = before.get(category) if isinstance(before.get(category), dict) else {}
        for name in HOST_PATH_SETTINGS:
            if binding.get(name) and binding.get(name) != (old or {}).get(name):
                raise PermissionDenied(
                    f"connectors.{category}.{name} names a file on the data plane's host: "
                    "setting it needs the admin API key (store the key's JSON as the "
                    "credential service_account_info instead)"
                )


async def _check_urls(
    guard: TenantUrlGuard,
    tenant: Tenant,
    changes: dict[str, Any],
    passed: UrlsPassed = _NONE_PASSED,
) -> UrlsPassed:
    """Check the URLs the changed bindings add (`CP_TENANT_URL_POLICY`); one the tenant holds
    already at the same place is not checked (the admin may have set it). Then the stored
    URLs they remove or change: none may be one this key could not set again, or the tenant
    could not put it back (a `--llm` leaving out the operator's loopback `base_url` locked the
    tenant out of its own LLM until an operator came)."""
    new = {field: changes[field] for field in BINDING_FIELDS if field in changes}
    if not new:
        return passed
    old = {field: getattr(tenant, field) for field in new}
    added = await guard.check(changed_places(new, _aligned(old, new)), passed=passed[0])
    removed = removed_places(_aligned(new, old), old)
    return added, await guard.check_removable(removed, passed=passed[1])


def _aligned(fields: dict[str, Any], to: dict[str, Any]) -> dict[str, Any]:
    """`fields` with their `more_channels` in the order of the kinds of `to`'s (an empty
    binding for a kind they lack): a more channel moved in the list keeps its URLs at the same
    place, so moving it is no new URL nor a removed one."""
    if "more_channels" not in fields or "more_channels" not in to:
        return fields
    order = [b.get("type") for b in to["more_channels"] or [] if isinstance(b, dict)]
    items = fields["more_channels"] or []
    aligned = []
    for kind in order:
        found = more_channel_of(items, channel_kind(kind)) if isinstance(kind, str) else None
        aligned.append({} if found is None else found[1])
    return {**fields, "more_channels": aligned}


def _stale_url_places(
    tenant_id: str, stale: list[StaleScope], box: SecretBox | None
) -> list[UrlPlace]:
    """The URLs among the stale names `_drop_stale` removes. Without `box` none can be told."""
    if box is None:
        return []
    return [place for s in stale for place in stored_url_places(box, tenant_id, s.row, s.names)]


async def update_tenant(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    tenant_id: str,
    spec: TenantUpdate,
    *,
    drop_stale_credentials: bool = False,
    url_guard: TenantUrlGuard | None = None,
    box: SecretBox | None = None,
) -> tuple[Tenant, dict[str, Any]]:
    """Change the given fields; returns the tenant and the changed fields' values before the
    change (read under the lock: what this change replaced, never a concurrent one's). New
    bindings must fit the published flow (409) and the stored
    credentials of the scopes they replace (409 naming the names the new binding does not
    take); with `drop_stale_credentials` those names are removed instead, in the same
    transaction, and audited as ``credentials.delete``: with `box` only those names (the
    scope's other secrets are sealed again), without it the whole scope.

    A tenant key may not move a URL that credentials the operator stored are sent with to
    another host (409, `host_move_conflict`): the tenant cannot read them. Its own it may.

    A new channel type checks the stored flow versions' menus again with its limits
    (`refresh_channel_warnings`), so their warnings speak of the channel the flow runs on.

    With `url_guard` (`CP_TENANT_URL_POLICY=public`) a tenant key's new binding URLs must
    point at public hosts (422 naming the field), and a stored URL it removes or changes must
    be one it could set again (422 naming the field: the admin key may); so must a URL among
    the stale credentials `drop_stale_credentials` removes. Names are looked up before the
    tenant is locked; under the lock only URLs a change committed meanwhile made new or
    removed are checked."""
    guard = url_guard if url_guard is not None and url_guard.applies_to(principal) else None
    passed = _NONE_PASSED
    if guard is not None and spec.model_fields_set & set(BINDING_FIELDS):
        current = await peek_tenant_for_change(uow, principal, tenant_id)
        current_changes = _checked_changes(principal, current, spec)
        passed = await _check_urls(guard, current, current_changes)
        if drop_stale_credentials and CREDENTIAL_FIELDS & set(current_changes):
            rows = await uow.credentials.list(tenant_id)
            dropped = _stale_url_places(
                tenant_id, stale_scopes(rows, current, current_changes), box
            )
            removed = await guard.check_removable(dropped, passed=passed[1], keep=_KEEP_STALE)
            passed = (passed[0], removed)
        await uow.release()
    # Locked: a publish checking the bindings this changes waits for it (and vice versa).
    tenant = await get_tenant_for_change(uow, principal, tenant_id)
    changes = _checked_changes(principal, tenant, spec)
    if guard is not None:
        passed = await _check_urls(guard, tenant, changes, passed)
    if "connectors" in changes:
        # Imported here: the flows service imports this module.
        from botfleet.control_plane.services.flows import check_connectors_kept

        await check_connectors_kept(uow, tenant, changes["connectors"] or {})
    if not principal.is_admin:
        moved = host_move_conflict(await uow.credentials.list(tenant.id), tenant, changes)
        if moved is not None:
            raise moved
    await _check_stored_credentials(
        uow, principal, tenant, changes, drop=drop_stale_credentials, box=box,
        guard=guard, passed=passed[1],
    )  # fmt: skip
    before = {field: getattr(tenant, field) for field in changes}
    if changes:
        old_channel, old_more = tenant.channel, tenant.more_channels
        for field, value in changes.items():
            setattr(tenant, field, value)
        tenant.updated_at = utcnow()
        if {"channel", "more_channels"} & set(changes):
            from botfleet.control_plane.services.flows import refresh_channel_warnings

            await refresh_channel_warnings(uow, tenant, old_channel, old_more)
        audit.record(
            uow, principal, "tenant.update", tenant_id=tenant_id, target=tenant_id,
            details={"fields": sorted(changes)},
        )  # fmt: skip
        await uow.commit()
    return tenant, before


async def _check_stored_credentials(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    tenant: Tenant,
    changes: dict[str, Any],
    *,
    drop: bool,
    box: SecretBox | None,
    guard: TenantUrlGuard | None = None,
    passed: frozenset[UrlPlace] = frozenset(),
) -> None:
    """Refuse (or, with `drop`, remove) stored credentials the changed bindings do not take:
    merged into them at boot, they would stop the data plane. With `box`, the secrets left are
    also checked against the changed bindings' rules (409, `misfit_conflict`). With `guard`, a
    URL among those `drop` removes must not be one the key could not set again (422; those in
    `passed` were checked before the lock)."""
    if not CREDENTIAL_FIELDS & set(changes):
        return
    stale = stale_scopes(await uow.credentials.list(tenant.id), tenant, changes)
    if stale and not drop:
        raise stale_conflict(tenant, stale)
    if stale and guard is not None:
        places = _stale_url_places(tenant.id, stale, box)
        await guard.check_removable(places, passed=passed, keep=_KEEP_STALE)
    for scope in stale:
        await _drop_stale(uow, principal, tenant.id, scope, box)
    if box is not None:
        misfit = misfit_conflict(await uow.credentials.list(tenant.id), tenant, changes, box)
        if misfit is not None:
            raise misfit


_STALE_REASON = "stale after tenant.update"


async def _drop_stale(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    tenant_id: str,
    stale: StaleScope,
    box: SecretBox | None,
) -> None:
    """Remove the stale names only: the scope's other secrets still fit the new binding (a
    webhook `url` moved into the binding leaves its signing `secret`), and putting them again
    would mean finding them again. The scope goes as a whole when nothing else is left, or when
    its secrets cannot be opened to take the names out (no configured key decrypts them, so
    they could not be used anyway). Audited as ``credentials.delete`` with the names removed
    (and those kept)."""
    row = stale.row
    kept = [name for name in row.key_names if name not in stale.names]
    values: dict[str, Any] | None = None
    if kept and box is not None:
        try:
            values = box.open(row.ciphertext, where=f"{tenant_id}/{row.scope}")
        except UndecryptableSecret:
            values = None
    details: dict[str, Any]
    if values is not None and box is not None:
        left = {name: value for name, value in values.items() if name not in stale.names}
        row.ciphertext, row.key_names, row.updated_at = box.seal(left), sorted(left), utcnow()
        details = {"keys": list(stale.names), "kept": sorted(left), "reason": _STALE_REASON}
    else:
        await uow.credentials.delete(row)
        details = {"keys": list(row.key_names), "reason": _STALE_REASON}
    audit.record(
        uow, principal, "credentials.delete", tenant_id=tenant_id, target=row.scope,
        details=details,
    )  # fmt: skip


async def set_status(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str, status: str
) -> Tenant:
    """Disable (boot refused with 403) or re-enable a tenant."""
    tenant = await get_tenant(uow, principal, tenant_id, lock=True)
    principal.require_admin(f"setting a tenant {status}")
    if tenant.status != status:
        tenant.status = status
        tenant.updated_at = utcnow()
        action = "tenant.disable" if status == DISABLED else "tenant.enable"
        audit.record(uow, principal, action, tenant_id=tenant_id, target=tenant_id)
        await uow.commit()
    return tenant


async def delete_tenant(uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str) -> None:
    """Remove the tenant and all its rows (its audit entries too); the deletion is audited.

    The tenant is locked first, like every change: a publish, upload or credentials put in
    progress finishes before the purge (whose rows it then removes too), and one arriving
    during it waits and finds no tenant (404). Purging before taking the lock left a
    concurrent change's rows behind, or deadlocked with it on PostgreSQL.
    """
    principal.require_tenant(tenant_id)
    principal.require_admin("deleting a tenant")
    await get_tenant(uow, principal, tenant_id, lock=True)
    await uow.tenants.purge(tenant_id)
    # No tenant on the entry, the id as its target: the entry outlives the tenant's own (a
    # later tenant of this id deleted in turn does not purge it, nor do its keys read it),
    # and the admin's `GET /v1/audit?tenant_id=` still finds it (`audit.list_entries`).
    audit.record(uow, principal, TENANT_DELETE, tenant_id=None, target=tenant_id)
    await uow.commit()
