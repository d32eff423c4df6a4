"""Flow use cases: upload (validated by the data plane's own loader), publish, rollback, diff."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from pydantic import ValidationError

from botfleet.control_plane.db.tables import FlowVersion, Tenant
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import Conflict, InvalidInput, PermissionDenied
from botfleet.control_plane.principals import Principal, Role
from botfleet.control_plane.services import audit, versions
from botfleet.control_plane.services.tenants import get_tenant_for_change
from botfleet.domain.errors import FlowValidationError
from botfleet.flows._issues import did_you_mean
from botfleet.flows.channel_limits import ChannelLimits, other_channel_warnings
from botfleet.flows.durations import parse_duration
from botfleet.flows.load import Flow, load_flow_text
from botfleet.flows.schema import FlowSpec
from botfleet.flows.version_changes import VersionChange, version_changes
from botfleet.flows.yaml_lines import YamlSyntaxError, load_with_lines

MAX_FLOW_ID_LENGTH = 200  # the flow_versions.flow_id column


def _set_published(tenant: Tenant, version: int | None) -> None:
    tenant.published_flow_version = version


def _unbound_places(flow: Flow, configured: object) -> str:
    """`state.action calls 'x'; ...` for each connector call of `flow` not in `configured`
    (a tenant's `connectors` mapping); empty when every call is bound."""
    # Imported here: the catalog pulls in the connector adapters (SDKs) the rest of the
    # control plane never needs.
    from botfleet.adapters.connectors.catalog import unbound_connector_calls

    bound = frozenset(configured) if isinstance(configured, dict) else frozenset()
    missing = unbound_connector_calls(flow.spec, bound)
    return "; ".join(f"{where} calls {name!r}" for where, name in missing)


def _unbound_for_publishing(flow: Flow, configured: object) -> str:
    """`_unbound_places` with the binding each call most likely meant (a slip such as
    `notification.cmr`, as the data plane's boot check names it) and the tenant's bindings;
    empty when every call is bound."""
    from botfleet.adapters.connectors.catalog import NOT_CONNECTORS, unbound_connector_calls

    bound = frozenset(configured) if isinstance(configured, dict) else frozenset()
    missing = unbound_connector_calls(flow.spec, bound)
    if not missing:
        return ""
    names = bound - NOT_CONNECTORS
    places = "; ".join(
        f"{where} calls {name!r}{did_you_mean(name, names)}" for where, name in missing
    )
    binds = f"it binds {', '.join(sorted(names))}" if names else "it binds no connector"
    return f"{places}; {binds}"


def _unbound_calls(tenant: Tenant, document: FlowVersion, configured: object) -> str:
    flow = load_flow_text(document.content, f"{tenant.id}/flow@v{document.version}")
    return _unbound_places(flow, configured)


def _check_connectors(tenant: Tenant, document: FlowVersion) -> None:
    """A flow calling a connector the tenant does not bind would stop its data plane from
    booting (`check_flow_connectors`), so it is not published until the binding exists."""
    flow = load_flow_text(document.content, f"{tenant.id}/flow@v{document.version}")
    places = _unbound_for_publishing(flow, tenant.connectors or {})
    if places:
        raise Conflict(
            f"flow version {document.version} calls connectors tenant {tenant.id!r} does not "
            f"configure ({places}); add the connector bindings first (PATCH the tenant)"
        )


async def check_connectors_kept(
    uow: SqlAlchemyUnitOfWork, tenant: Tenant, connectors: dict[str, object]
) -> None:
    """Refuse new connector bindings that drop one the published flow calls: the tenant's data
    plane could not boot with them."""
    if tenant.published_flow_version is None:
        return
    document = await uow.flows.get(tenant.id, tenant.published_flow_version)
    if document is None:
        return
    places = _unbound_calls(tenant, document, connectors)
    if places:
        raise Conflict(
            f"the published flow (version {document.version}) of tenant {tenant.id!r} calls "
            f"connectors these bindings drop ({places}); publish a flow without those calls "
            "first"
        )


def _spec_of(text: str) -> FlowSpec | None:
    """A stored version's flow, read against the schema only (it was checked whole when it
    was uploaded); None for one that no longer reads under today's schema."""
    try:
        return FlowSpec.model_validate(load_with_lines(text).data)
    except (YamlSyntaxError, ValidationError):
        return None


def flow_changes(live_text: str, new_text: str) -> tuple[VersionChange, ...]:
    """What publishing the flow `new_text` in place of the live `live_text` does to the
    conversations under way (`version_changes`); nothing when either no longer reads."""
    live, new = _spec_of(live_text), _spec_of(new_text)
    if live is None or new is None:
        return ()
    return version_changes(live, new)


def _retention(text: str | None) -> str | None:
    """The `settings.conversation_retention` of a flow text; None when it sets none, or the
    text no longer reads (no data plane could run it, so it forgets nobody)."""
    spec = None if text is None else _spec_of(text)
    return None if spec is None else spec.settings.conversation_retention


def _as_duration(value: str | None) -> timedelta | str | None:
    """A retention as compared: ``4320h`` is ``180d``."""
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError:
        return value


def check_retention_change(principal: Principal, live_text: str | None, new_text: str) -> None:
    """Refuse a key below owner a publish that changes the live flow's
    `settings.conversation_retention` (403): the data plane then deletes the state of every
    contact silent for longer, an erasure of contacts' data, which is the owner's. A first
    publish setting one counts as a change; a draft upload changes nothing live."""
    if principal.is_admin or principal.role.covers(Role.OWNER):
        return
    live, new = _retention(live_text), _retention(new_text)
    if _as_duration(live) == _as_duration(new):
        return
    before = "none" if live is None else repr(live)
    after = "none" if new is None else repr(new)
    raise PermissionDenied(
        f"changing the flow's settings.conversation_retention (live: {before}; this version: "
        f"{after}) needs a tenant API key with the owner role, or the admin: it deletes the "
        "conversations of contacts silent for longer, as erasing a contact's data does; this "
        f"key ({principal.key_id}) has the {principal.role} role. Publish a version with the "
        f"live flow's retention ({before}), or ask the tenant's owner to publish this one"
    )


FLOWS: versions.DocumentKind[FlowVersion] = versions.DocumentKind(
    name="flow",
    repository=lambda uow: uow.flows,
    get_published=lambda tenant: tenant.published_flow_version,
    set_published=_set_published,
    check_publishable=_check_connectors,
    changes=flow_changes,
    check_publisher=check_retention_change,
)


def validate_flow(
    text: str,
    source: str,
    *,
    channel: ChannelLimits | None = None,
    more: Sequence[ChannelLimits] = (),
) -> Flow:
    """Load the flow exactly as a data plane would, its menu warnings checking `channel`'s
    limits (None: WhatsApp's), then each of `more`'s (the tenant's more channels: the
    warnings `channel`'s gave are not repeated; `botfleet validate` does the same). Raises
    `FlowValidationError`."""
    flow = load_flow_text(text, source, channel=channel)
    others = (load_flow_text(text, source, channel=limits).warnings for limits in more)
    added = other_channel_warnings(flow.warnings, others)
    return replace(flow, warnings=(*flow.warnings, *added)) if added else flow


def tenant_channel(tenant: Tenant) -> ChannelLimits | None:
    """The limits of the tenant's channel (`channel.type`) as its adapter declares them, so
    the warnings stored with an upload speak of the channel it runs on (as `botfleet validate`
    words them); None for a type without an adapter (checked against WhatsApp's)."""
    return channel_limits_of(tenant.channel)


def more_channel_limits(more_channels: object) -> list[ChannelLimits]:
    """The limits of each of a tenant's `more_channels` its adapters declare."""
    bindings = more_channels if isinstance(more_channels, list) else []
    found = [channel_limits_of(binding) for binding in bindings]
    return [limits for limits in found if limits is not None]


def channel_limits_of(channel: object) -> ChannelLimits | None:
    """`tenant_channel` of a tenant's `channel` binding (its ``type`` is all that counts)."""
    from botfleet.adapters.channels.limits import declared_channel_limits

    kind = channel.get("type") if isinstance(channel, dict) else None
    return declared_channel_limits(kind if isinstance(kind, str) else None)


def _channel_warnings(
    documents: list[tuple[str, str]],
    channel: ChannelLimits | None,
    more: Sequence[ChannelLimits] = (),
) -> list[list[str] | None]:
    """The warnings of each (text, source) against `channel` and `more`; None for a text that
    no longer loads (stored under older rules: its warnings are left as they were)."""
    found: list[list[str] | None] = []
    for text, source in documents:
        try:
            flow = validate_flow(text, source, channel=channel, more=more)
        except FlowValidationError:
            found.append(None)
            continue
        found.append([str(issue) for issue in flow.warnings])
    return found


async def refresh_channel_warnings(
    uow: SqlAlchemyUnitOfWork, tenant: Tenant, old_channel: object, old_more: object = None
) -> None:
    """Check the published and the latest flow versions again with the limits of the tenant's
    channel, now `tenant.channel`, when they differ from those of `old_channel`: the warnings
    an upload stored speak of the channel it ran on then (a web chat's menus warn of nothing
    that WhatsApp's limits do), and the API shows them with every listing. Done once, when the
    channel changes, so that reads stay as cheap as they were; in a worker thread, as an
    upload's check is. Two versions at most: the check runs under the tenant's lock (on SQLite,
    the database's write lock), and a large flow takes seconds to check, so checking every
    stored version would hold it for as many; older versions keep their upload's warnings
    until they are published."""
    channel, more = tenant_channel(tenant), more_channel_limits(tenant.more_channels)
    if old_more is None:  # only `channel` changed
        old_more = tenant.more_channels
    if (channel, more) == (channel_limits_of(old_channel), more_channel_limits(old_more)):
        return
    numbers = {tenant.published_flow_version, await uow.flows.latest_version(tenant.id)}
    documents = [
        document
        for number in sorted(n for n in numbers if n)
        if (document := await uow.flows.get(tenant.id, number)) is not None
    ]
    inputs = [(d.content, f"{tenant.id}/flow@v{d.version}") for d in documents]
    found = await asyncio.to_thread(_channel_warnings, inputs, channel, more)
    for document, warnings in zip(documents, found, strict=True):
        if warnings is not None and warnings != document.warnings:
            document.warnings = warnings


async def upload_flow(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    tenant_id: str,
    text: str,
    *,
    max_bytes: int,
    publish: bool = False,
) -> versions.Upload[FlowVersion]:
    """Store a new immutable version (numbered 1..n) after validation; optionally publish it.

    With `publish`, storing and publishing are one transaction: a flow that cannot be
    published (409) is not stored either. The tenant is locked from the start: concurrent
    uploads of one tenant take their numbers one after the other (instead of two picking the
    same one and the second failing), and the bindings checked here are the ones a publish
    commits against.

    The very text of the latest version stores nothing: that version is returned with
    ``unchanged`` (and published with `publish`), so re-sending a file adds no duplicate to
    roll back over. A publish answers what replacing the live version does to conversations
    under way (``changes``); it is never refused for them.
    """
    principal.require_tenant(tenant_id)
    versions.check_size("flow", text, max_bytes)
    tenant = await get_tenant_for_change(uow, principal, tenant_id)
    same = await versions.unchanged_upload(uow, principal, FLOWS, tenant, text, publish=publish)
    if same is not None:
        return same
    number = await versions.next_version(uow, FLOWS, tenant_id)
    # In a worker thread: checking a large flow takes CPU (its templates are compiled), and on
    # the event loop it would hold every other tenant's requests and boot pulls meanwhile.
    source, channel = f"{tenant_id}/flow@v{number}", tenant_channel(tenant)
    more = more_channel_limits(tenant.more_channels)
    flow = await asyncio.to_thread(validate_flow, text, source, channel=channel, more=more)
    if "\x00" in flow.spec.id or len(flow.spec.id) > MAX_FLOW_ID_LENGTH:
        raise InvalidInput("id", f"a flow id has at most {MAX_FLOW_ID_LENGTH} characters, no NUL")
    places = _unbound_for_publishing(flow, tenant.connectors or {}) if publish else ""
    if places:
        raise Conflict(
            f"the flow was not stored: it calls connectors tenant {tenant_id!r} does not "
            f"configure ({places}); add the connector bindings first (PATCH the tenant), or "
            "upload it without publishing"
        )
    document = FlowVersion(
        tenant_id=tenant_id,
        version=number,
        content=text,
        sha256=versions.sha256_text(text),
        created_by=principal.actor,
        flow_id=flow.spec.id,
        warnings=[str(issue) for issue in flow.warnings],
    )
    uow.flows.add(document)
    audit.record(
        uow, principal, "flow.upload", tenant_id=tenant_id, target=str(number),
        details={"flow_id": flow.spec.id, "sha256": document.sha256},
    )  # fmt: skip
    changes = await versions.publish_new(uow, principal, FLOWS, tenant, document) if publish else ()
    await uow.commit()
    return versions.Upload(document, FLOWS.get_published(tenant), changes=changes)
