"""`botfleet cp tenants|keys|boot-token|credentials ...`."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from botfleet.cli.commands.cp_common import json_list, json_object, read_text, run, validated
from botfleet.cli.output_files import check_output, write_output

if TYPE_CHECKING:
    from botfleet.control_plane.provision import TenantFiles

tenants_app = typer.Typer(help="Create, read, update, disable and delete tenants.")
keys_app = typer.Typer(help="A tenant's API keys.")
boot_app = typer.Typer(help="A tenant's boot token (the data plane's BOOT_TOKEN).")
credentials_app = typer.Typer(help="A tenant's secrets, by scope (values are never shown).")

NAME = typer.Option(None, help="Display name.")
TIMEZONE = typer.Option(None, help="IANA time zone, e.g. Europe/Madrid.")
LANGUAGE = typer.Option(None, help="Language tag, e.g. es.")
CHANNEL = typer.Option(None, help='Channel binding as JSON (or @file): {"type": "webchat"}.')
MORE_CHANNELS = typer.Option(
    None,
    "--more-channels",
    help='Further channel bindings as a JSON list (or @file): [{"type": "telegram"}]; their '
    "secrets are the credentials channel:<kind>.",
)
CONNECTORS = typer.Option(
    None, help="Connector bindings as JSON (or @file), by category or <category>.<name>."
)
LLM = typer.Option(None, help="LLM settings as JSON (or @file).")
#: `update`'s binding options: each replaces its whole section (the PATCH does not merge).
CHANNEL_UPDATE = typer.Option(
    None,
    "--channel",
    help="Channel binding as JSON (or @file); replaces the whole binding: give every key.",
)
MORE_CHANNELS_UPDATE = typer.Option(
    None,
    "--more-channels",
    help="Further channel bindings as a JSON list (or @file); replaces the whole list: a "
    "channel left out is no longer served ([] for none).",
)
CONNECTORS_UPDATE = typer.Option(
    None,
    "--connectors",
    help="Connector bindings as JSON (or @file); replaces the whole map: a binding left out "
    "is unbound.",
)
LLM_UPDATE = typer.Option(
    None,
    "--llm",
    help="LLM settings as JSON (or @file); replaces the whole llm section: a key left out "
    "(enabled, provider, base_url...) is removed, so give every key to keep.",
)
DATA_PLANE_URL = typer.Option(None, help="Where the control plane reaches the data plane.")


def register(app: typer.Typer) -> None:
    app.add_typer(tenants_app, name="tenants")
    app.add_typer(keys_app, name="keys")
    app.add_typer(boot_app, name="boot-token")
    app.add_typer(credentials_app, name="credentials")


def _fields(**options: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ("name", "timezone", "language", "data_plane_url"):
        if options.get(name) is not None:
            fields[name] = options[name]
    for name in ("channel", "connectors", "llm"):
        value = json_object(options.get(name), f"--{name}")
        if value is not None:
            fields[name] = value
    more = json_list(options.get("more_channels"), "--more-channels")
    if more is not None:
        fields["more_channels"] = more
    return fields


# ---------------------------------------------------------------- tenants


@tenants_app.command("list")
def list_tenants(ctx: typer.Context) -> None:
    run(ctx, lambda c: c.list_tenants())


@tenants_app.command("show")
def show_tenant(ctx: typer.Context, tenant: str) -> None:
    run(ctx, lambda c: c.get_tenant(tenant))


@tenants_app.command("create")
def create_tenant(
    ctx: typer.Context,
    tenant: str,
    name: str | None = NAME,
    timezone: str | None = TIMEZONE,
    language: str | None = LANGUAGE,
    channel: str | None = CHANNEL,
    more_channels: str | None = MORE_CHANNELS,
    connectors: str | None = CONNECTORS,
    llm: str | None = LLM,
    data_plane_url: str | None = DATA_PLANE_URL,
) -> None:
    """Create a tenant (admin); the answer holds its boot token, shown this once."""
    from botfleet.control_plane.models import TenantCreate

    fields = _fields(
        name=name or tenant, timezone=timezone, language=language, channel=channel,
        more_channels=more_channels, connectors=connectors, llm=llm,
        data_plane_url=data_plane_url,
    )  # fmt: skip
    body = validated(TenantCreate, {"id": tenant, **fields})
    run(ctx, lambda c: c.create_tenant(body))


DROP_STALE_CREDENTIALS = typer.Option(
    False,
    "--drop-stale-credentials",
    help="When a binding changes type (e.g. whatsapp -> telegram), delete the stored secrets "
    "the new type does not take (otherwise the change is refused, naming them).",
)


#: The tenant's sections a PATCH replaces whole (`TenantUpdate`).
SECTIONS = ("channel", "connectors", "llm")


def left_out(
    before_update: Mapping[str, Any], after_update: Mapping[str, Any], given: Collection[str]
) -> list[str]:
    """A line for each section the update was `given` that lost keys it had (the tenant as
    JSON before and after the update). A channel whose type changed is not named (its old
    settings are meant to go)."""
    lines = []
    for section in SECTIONS:
        if section not in given:
            continue
        before, after = before_update.get(section) or {}, after_update.get(section) or {}
        if section == "channel" and before.get("type") != after.get("type"):
            continue
        gone = {key: value for key, value in before.items() if key not in after}
        if not gone:
            continue
        names = ", ".join(sorted(gone))
        was = json.dumps(gone, ensure_ascii=False, sort_keys=True, default=str)
        if section == "connectors":
            done = f"--connectors replaces the whole map: the update unbound {names}"
        else:
            done = (
                f"--{section} replaces the whole {section} section: the update removed "
                f"{names} from it"
            )
        them = "it" if len(gone) == 1 else "them"
        lines.append(f"{done} (before: {was}); to keep {them}, give {them} in --{section} too")
    if "more_channels" in given:
        lines += _more_channels_left_out(
            before_update.get("more_channels") or [], after_update.get("more_channels") or []
        )
    return lines


def _more_channels_left_out(before: list[Any], after: list[Any]) -> list[str]:
    """`left_out`'s lines for --more-channels: a channel no longer served, and the keys a
    channel kept (by its type) lost."""
    kept = {b.get("type"): b for b in after if isinstance(b, dict)}
    lines = []
    for binding in before:
        if not isinstance(binding, dict):
            continue
        kind = binding.get("type")
        if kind not in kept:
            lines.append(
                f"--more-channels replaces the whole list: the update removed the {kind} "
                "channel (its credentials stay); to keep it, give it in --more-channels too"
            )
            continue
        gone = {key: value for key, value in binding.items() if key not in kept[kind]}
        if gone:
            names = ", ".join(sorted(gone))
            was = json.dumps(gone, ensure_ascii=False, sort_keys=True, default=str)
            lines.append(
                f"--more-channels replaces the whole list: the update removed {names} from "
                f"the {kind} channel (before: {was}); to keep them, give them in "
                "--more-channels too"
            )
    return lines


@tenants_app.command("update")
def update_tenant(
    ctx: typer.Context,
    tenant: str,
    name: str | None = NAME,
    timezone: str | None = TIMEZONE,
    language: str | None = LANGUAGE,
    channel: str | None = CHANNEL_UPDATE,
    more_channels: str | None = MORE_CHANNELS_UPDATE,
    connectors: str | None = CONNECTORS_UPDATE,
    llm: str | None = LLM_UPDATE,
    data_plane_url: str | None = DATA_PLANE_URL,
    drop_stale_credentials: bool = DROP_STALE_CREDENTIALS,
) -> None:
    """Change the given fields only. --channel, --more-channels, --connectors and --llm each
    replace their whole section (keys left out are removed, not kept): a warning on stderr
    names the keys an update removed, with their old values."""
    from botfleet.control_plane.models import TenantUpdate

    fields = _fields(
        name=name, timezone=timezone, language=language, channel=channel,
        more_channels=more_channels, connectors=connectors, llm=llm,
        data_plane_url=data_plane_url,
    )  # fmt: skip
    if not fields:
        raise typer.BadParameter("give at least one field to change")
    body = validated(TenantUpdate, fields)

    def update(client: Any) -> Any:
        updated = client.update_tenant(tenant, body, drop_stale_credentials=drop_stale_credentials)
        # The answer's `before` is what this update replaced, read under the tenant's lock: a
        # GET beforehand could be another change's state.
        new = updated.model_dump(mode="json")
        for line in left_out({**new, **new["before"]}, new, fields):
            typer.echo(f"warning: {line}", err=True)
        return updated

    run(ctx, update)


@tenants_app.command("apply")
def apply_tenant(
    ctx: typer.Context,
    tenant_yaml: Path = typer.Argument(..., help="A tenant YAML (flow_path, knowledge_path)."),
    data_plane_url: str | None = DATA_PLANE_URL,
    new_boot_token: bool = typer.Option(
        False,
        "--new-boot-token",
        help="Issue a new boot token for an existing tenant (the data plane running with the "
        "old one is cut off until restarted with the new one).",
    ),
    drop_stale_credentials: bool = DROP_STALE_CREDENTIALS,
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Change nothing: say on stderr what apply would change in the tenant's stored "
        "settings, and which flow and knowledge versions it would publish in place of the "
        "published ones.",
    ),
) -> None:
    """Create or update a tenant from its local files, publishing what changed (idempotent).

    The stored settings (name, channel, more_channels, connectors, llm...) are made the
    file's: a key set
    since by other means (`tenants update`) and not in the file is removed. A warning on
    stderr names, per section, the keys apply changed or removed. Prints a new tenant's boot
    token; an existing tenant keeps its own (`boot_token: null`) unless --new-boot-token.
    """
    from dataclasses import asdict

    from botfleet.control_plane.provision import TenantFiles, provision_tenant
    from botfleet.domain.errors import ConfigError

    try:
        files = TenantFiles.load(tenant_yaml)
    except (ConfigError, ValueError, OSError) as exc:
        raise typer.BadParameter(str(exc), param_hint="TENANT_YAML") from None
    if dry_run:
        _apply_dry_run(ctx, files, data_plane_url)
        return
    answer = run(
        ctx,
        lambda c: asdict(
            provision_tenant(
                c,
                files,
                data_plane_url=data_plane_url,
                rotate_boot_token=new_boot_token,
                drop_stale_credentials=drop_stale_credentials,
            )
        ),
    )
    for line in answer["settings_changed"]:
        typer.echo(f"warning: apply changed {line}", err=True)
    config, tenant = files.config, files.config.tenant_id
    for what, group, key in (
        ("flow", "flows", "flow_path"),
        ("knowledge", "knowledge", "knowledge_path"),
    ):
        version, replaced = answer[f"{what}_version"], answer[f"{what}_replaced"]
        if replaced is None or version is None or replaced < version:
            continue
        # The documented rule (the files hold what is published) undid a publish made since
        # by other means: say so, as nothing else would tell the operator.
        source = getattr(config, key) or f"the {what} in {tenant_yaml}"
        typer.echo(
            f"warning: {what} version {replaced}, published since the file's version, is no "
            f"longer published: version {version} holds the text of {source} and is published "
            f"again. To keep version {replaced}, write its text into that file "
            f"(`botfleet cp {group} show {tenant} {replaced} --raw`) and apply again.",
            err=True,
        )


def _apply_dry_run(ctx: typer.Context, files: TenantFiles, data_plane_url: str | None) -> None:
    """Print what apply would change in the stored settings, as apply's warnings say it."""
    from botfleet.control_plane.provision import planned_publishes, planned_setting_changes

    tenant = files.config.tenant_id

    def plan(client: Any) -> dict[str, Any]:
        lines = planned_setting_changes(client, files, data_plane_url=data_plane_url)
        for line in lines or []:
            typer.echo(f"warning: apply would change {line}", err=True)
        publishes = planned_publishes(client, files) if lines is not None else []
        for line in publishes:
            typer.echo(f"warning: apply: {line}", err=True)
        return {
            "tenant_id": tenant,
            "dry_run": True,
            "exists": lines is not None,
            "settings_changed": lines or [],
            "published_changed": publishes,
        }

    run(ctx, plan)


@tenants_app.command("disable")
def disable_tenant(ctx: typer.Context, tenant: str) -> None:
    """Its data plane's boot pulls get 403 until it is enabled (admin)."""
    run(ctx, lambda c: c.disable_tenant(tenant))


@tenants_app.command("enable")
def enable_tenant(ctx: typer.Context, tenant: str) -> None:
    run(ctx, lambda c: c.enable_tenant(tenant))


@tenants_app.command("export")
def export_tenant(
    ctx: typer.Context,
    tenant: str,
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
) -> None:
    """Everything about the tenant except secrets, as JSON (take it before deleting)."""
    if output is None:
        run(ctx, lambda c: c.export_tenant(tenant))
        return
    check_output(output, "--output")

    def save(client: Any) -> str:
        import json

        write_output(output, json.dumps(client.export_tenant(tenant), indent=2), "--output")
        return f"exported to {output}\n"

    run(ctx, save)


@tenants_app.command("delete")
def delete_tenant(
    ctx: typer.Context,
    tenant: str,
    yes: bool = typer.Option(False, "--yes", help="Confirm: the tenant's rows are deleted."),
) -> None:
    """Delete the tenant and everything stored about it (admin). Export it first."""
    if not yes:
        raise typer.BadParameter("this deletes the tenant's data: add --yes to confirm")
    run(ctx, lambda c: c.delete_tenant(tenant))


# ---------------------------------------------------------------- keys and boot token


@keys_app.command("create")
def create_key(
    ctx: typer.Context,
    tenant: str,
    name: str = typer.Option(..., help="What it is for."),
    expires_in_days: int | None = typer.Option(
        None,
        "--expires-in-days",
        help="The key stops working this many days from now (1 to 730).",
        show_default=False,
    ),
    expires_at: str | None = typer.Option(
        None,
        "--expires-at",
        help="Or: when it stops working, an ISO 8601 date-time with its offset, e.g. "
        "2027-06-30T00:00:00Z (at most 730 days away).",
        show_default=False,
    ),
    role: str | None = typer.Option(
        None,
        "--role",
        help="viewer (reads; not keys, credentials or contacts' data), editor (also flows, "
        "knowledge and running tasks) or owner (everything a tenant key may). Default: owner.",
        show_default=False,
    ),
) -> None:
    """A tenant-scoped key, shown this once. Without --expires-in-days or --expires-at it
    works until revoked, or, when the control plane sets CP_API_KEY_MAX_DAYS, until that many
    days from now (a later expiry is refused). A tenant key makes keys of at most its own role
    that expire no later than itself."""
    from botfleet.control_plane.models import ApiKeyCreate

    fields: dict[str, Any] = {"name": name}
    if expires_in_days is not None:
        fields["expires_in_days"] = expires_in_days
    if expires_at is not None:
        fields["expires_at"] = expires_at
    if role is not None:
        fields["role"] = role
    body = validated(ApiKeyCreate, fields)
    run(
        ctx,
        lambda c: c.create_api_key(
            tenant,
            body.name,
            expires_at=body.expires_at,
            expires_in_days=body.expires_in_days,
            role=None if role is None else body.role.value,
        ),
    )


@keys_app.command("list")
def list_keys(
    ctx: typer.Context,
    tenant: str,
    include_expired: bool = typer.Option(
        False, "--include-expired", help="Also list keys past their expiry (hidden otherwise)."
    ),
) -> None:
    """Key metadata: name, role, creator (admin or apikey:<id>), expires_at, last_used_at
    (hourly), revoked_at."""
    run(ctx, lambda c: c.list_api_keys(tenant, include_expired=include_expired))


@keys_app.command("revoke")
def revoke_key(ctx: typer.Context, tenant: str, key_id: str) -> None:
    """Revoke a key at once. A tenant key may not revoke one the admin made, nor one with a
    higher role (the admin may revoke any)."""
    run(ctx, lambda c: c.revoke_api_key(tenant, key_id))


@boot_app.command("rotate")
def rotate_boot_token(ctx: typer.Context, tenant: str) -> None:
    """A new boot token (shown once); the previous one stops working."""
    run(ctx, lambda c: c.rotate_boot_token(tenant))


# ---------------------------------------------------------------- credentials


@credentials_app.command("set")
def set_credentials(
    ctx: typer.Context,
    tenant: str,
    scope: str = typer.Argument(
        ...,
        help="channel, llm, data_plane, channel:<kind> (a more channel's: channel:telegram) or "
        "connector:<name> (connector:calendar, connector:notification.crm).",
    ),
    values: list[str] | None = typer.Argument(None, help="KEY=VALUE pairs (KEY=@file reads it)."),
    file: Path | None = typer.Option(
        None, "--file", help="A JSON object of secrets ('-': standard input)."
    ),
) -> None:
    """Store a scope's secrets (replacing the old ones). Prefer --file: arguments end up in
    shell history."""
    secrets: dict[str, Any] = {}
    if file is not None:
        loaded = json_object(read_text(file), "--file")
        secrets.update(loaded or {})
    for pair in values or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{name or pair!r}: write KEY=VALUE", param_hint="VALUES")
        secrets[name] = read_text(Path(value[1:])).strip() if value.startswith("@") else value
    if not secrets:
        raise typer.BadParameter("give KEY=VALUE pairs or --file")
    run(ctx, lambda c: c.set_credentials(tenant, scope, secrets))


@credentials_app.command("list")
def list_credentials(ctx: typer.Context, tenant: str) -> None:
    """Scopes and key names (never values)."""
    run(ctx, lambda c: c.list_credentials(tenant))


@credentials_app.command("delete")
def delete_credentials(
    ctx: typer.Context,
    tenant: str,
    scope: str,
    force: bool = typer.Option(
        False,
        "--force",
        help="Delete them even if the scope's binding requires them (the data plane will not "
        "start again until new ones are stored).",
    ),
) -> None:
    """Delete a scope's secrets; those its binding requires only with --force."""
    run(ctx, lambda c: c.delete_credentials(tenant, scope, force=force))
