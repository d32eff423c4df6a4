"""`botfleet cp ...`: every control-plane operation from the command line (JSON out).

    export BOTFLEET_CP_URL=http://localhost:8001 BOTFLEET_API_KEY=...
    botfleet cp tenants apply examples/tenants/demo.yaml     # create/update + flow + knowledge
    botfleet cp flows upload demo flows/peluqueria_flow.yaml --publish
    botfleet cp fleet

Answers print as JSON on stdout (nothing else; `contacts list` prints a table unless
`--json`); errors go to stderr, never showing the key,
with exit status 1 (the control plane refused: its message, and every flow issue with its line;
or `rotate-keys` skipped rows no key can decrypt, `tenant-urls` found stored URLs the policy
refuses, or `tasks run` ran a task that failed: the answer printed, a summary on stderr)
or 2 (it could not be reached, timed out, or what answered is not a control plane; also a usage
error: a bad option, a file that cannot be read or written). `status` and `fleet` also print
each of the answer's `notes` (a restart the data plane waits for, the LLM's last failure) as a
`note:` line on stderr, and exit 0; or 1, as `botfleet fleet status` for a data plane not
serving, when an active tenant's data plane is `unreachable` or `degraded` (a `note:` line
names each such tenant and why; a disabled tenant's is noted, not counted).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import typer

from botfleet.cli.commands.cp_common import (
    DEFAULT_URL,
    REFUSED,
    Target,
    api_key,
    control_plane_url,
    positive_seconds,
    run,
)
from botfleet.cli.commands.cp_contacts import register as register_contacts
from botfleet.cli.commands.cp_documents import _terminal_safe
from botfleet.cli.commands.cp_documents import register as register_documents
from botfleet.cli.commands.cp_tasks import register as register_tasks
from botfleet.cli.commands.cp_tenants import register as register_tenants

if TYPE_CHECKING:
    from botfleet.control_plane.models import TenantStatus

cp_app = typer.Typer(help="Control-plane client (tenants, flows, knowledge, credentials...).")


@cp_app.callback(no_args_is_help=True)
def cp_main(
    ctx: typer.Context,
    url: str = typer.Option(
        DEFAULT_URL,
        "--url",
        envvar="BOTFLEET_CP_URL",
        help="Control plane URL (without user:password@: the key goes in --key).",
        callback=control_plane_url,
    ),
    key: str | None = typer.Option(
        None,
        "--key",
        envvar="BOTFLEET_API_KEY",
        help="Admin or tenant API key (prefer the environment variable).",
        show_default=False,
        callback=api_key,
    ),
    timeout: float = typer.Option(30.0, help="Seconds per request.", callback=positive_seconds),
) -> None:
    ctx.obj = Target(url, key, timeout)


# ---------------------------------------------------------------- top-level operations


@cp_app.command("health")
def health(ctx: typer.Context) -> None:
    """The control plane's health (no key needed)."""
    run(ctx, lambda c: c.health())


def audit_actor(value: str | None) -> str | None:
    """`--actor` as the audit names callers: ``admin``, or ``apikey:<key id>`` (a bare key id
    is taken as that key's); anything else is a usage error, before any request."""
    # (Imported here, as the client is: `botfleet` starts without the control plane's modules.)
    from botfleet.control_plane.principals import ACTOR_PATTERN, KEY_ACTOR_PREFIX, KEY_ID_PATTERN

    if value is None:
        return None
    actor = value.strip()
    if re.fullmatch(KEY_ID_PATTERN, actor):
        return f"{KEY_ACTOR_PREFIX}{actor}"
    if re.fullmatch(ACTOR_PATTERN, actor):
        return actor
    raise typer.BadParameter(
        "give admin, or a tenant key as apikey:<key id> (the 12-hex-digit id `keys list` "
        "shows, never the key itself)",
        param_hint="--actor",
    )


@cp_app.command("audit")
def audit(
    ctx: typer.Context,
    tenant: str | None = typer.Option(None, help="Only this tenant's entries."),
    action: str | None = typer.Option(None, help="Only this action, e.g. flow.publish."),
    actor: str | None = typer.Option(
        None,
        help="Only what this caller did: admin, or apikey:<key id> (a leaked key's, say).",
        callback=audit_actor,
    ),
    before_id: int | None = typer.Option(None, help="Page: entries older than this id."),
    limit: int = typer.Option(100, help="At most this many entries."),
) -> None:
    """Who changed what, newest first."""
    run(
        ctx,
        lambda c: c.audit(
            tenant_id=tenant, action=action, actor=actor, before_id=before_id, limit=limit
        ),
    )


#: Exit status of `status` and `fleet` when an active tenant's data plane does not serve, as
#: `botfleet fleet status`'s for a data plane not serving (the answer is printed all the same).
NOT_SERVING = REFUSED
#: The data plane's `status` values that fail them (`ok` and `unconfigured` do not).
NOT_SERVING_STATUSES = frozenset({"unreachable", "degraded"})


@cp_app.command("status")
def status(ctx: typer.Context, tenant: str) -> None:
    """One tenant's data-plane health, versions, usage and tasks.

    Exits 1 (the answer still printed) when the data plane is unreachable or degraded, a
    `note:` line on stderr saying why, unless the tenant is disabled."""
    found = run(ctx, lambda c: c.tenant_status(tenant))
    print_notes(found.notes)
    exit_unless_serving([found])


@cp_app.command("fleet")
def fleet(ctx: typer.Context) -> None:
    """Every tenant's status (admin).

    Exits 1 (the answer still printed) when any active tenant's data plane is unreachable or
    degraded, a `note:` line on stderr naming each; a disabled tenant's is noted, not counted."""
    tenants = run(ctx, lambda c: c.fleet()).tenants
    for found in tenants:
        print_notes(found.notes, prefix=f"{found.tenant_id}: ")
    exit_unless_serving(tenants)


def exit_unless_serving(statuses: Iterable[TenantStatus]) -> None:
    """A `note:` line for each tenant whose data plane is unreachable or degraded, naming it
    and why; then exit NOT_SERVING if one of them is not disabled (a cron check or a
    monitoring probe reads the exit status, not the JSON)."""
    failing = False
    for found in statuses:
        if found.status not in NOT_SERVING_STATUSES:
            continue
        disabled = found.tenant_status == "disabled"
        failing = failing or not disabled
        aside = " (the tenant is disabled: not counted in the exit status)" if disabled else ""
        note = f"data plane {found.status}{aside}: {_why(found)}"
        print_notes([note], prefix=f"{found.tenant_id}: ")
    if failing:
        raise typer.Exit(NOT_SERVING)


def _why(found: TenantStatus) -> str:
    """What made the status: the error of its /health, else what that /health said."""
    about_health = [error for error in found.errors if "/health" in error]
    if about_health:
        return about_health[-1]
    health = found.health
    if health is not None:
        store = f", store {health.store}" if health.store not in (None, "ok") else ""
        return f"its /health says status {health.status}{store}"
    return found.errors[-1] if found.errors else "no answer"


def print_notes(notes: list[str], *, prefix: str = "") -> None:
    """One `note:` line each on stderr: buried in the JSON, a pending restart or the cause of
    the LLM's errors goes unread (standard output stays the answer's JSON)."""
    for note in notes:
        # The data plane's words (a provider's message, a setting's name): never raw.
        typer.echo(f"note: {_terminal_safe(prefix + note)}", err=True)


@cp_app.command("rotate-keys")
def rotate_keys(ctx: typer.Context) -> None:
    """Re-encrypt every credential with the first key of CP_FERNET_KEYS (admin).

    Exits 1 (the answer still printed) when rows no configured key can decrypt were skipped:
    keep the old key until they are rotated or their secrets put again.
    """
    result = run(ctx, lambda c: c.rotate_keys())
    if result.skipped:
        rows = ", ".join(result.skipped)
        typer.echo(
            f"error: {len(result.skipped)} credential row(s) no configured key can decrypt "
            f"were not rotated: {rows}; restore the old key in CP_FERNET_KEYS and rotate "
            "again, or put those secrets again (do not remove the old key yet)",
            err=True,
        )
        raise typer.Exit(REFUSED)


@cp_app.command("tenant-urls")
def tenant_urls(ctx: typer.Context) -> None:
    """Stored URLs a tenant key could not set under CP_TENANT_URL_POLICY=public (admin).

    Changing the policy does not re-check what is stored: run this after tightening it. Each
    entry names the tenant, the place (a binding field, or credentials.<scope>.<name>) and
    why, never the URL. Exits 1 (the answer still printed) when there is any, or when
    credentials no configured key can decrypt could not be read.
    """
    report = run(ctx, lambda c: c.tenant_urls())
    if report.refused:
        tenants = sorted({item.tenant_id for item in report.refused})
        typer.echo(
            f"error: {len(report.refused)} stored URL(s) of {len(tenants)} tenant(s) "
            f"({', '.join(tenants)}) point at hosts CP_TENANT_URL_POLICY=public refuses; "
            "change them (or keep the ones you set on purpose with the admin key)",
            err=True,
        )
    if report.unreadable:
        typer.echo(
            f"error: credentials no configured key can decrypt were not read: "
            f"{', '.join(report.unreadable)}",
            err=True,
        )
    if report.refused or report.unreadable:
        raise typer.Exit(REFUSED)


@cp_app.command("binding-schemas")
def binding_schemas(ctx: typer.Context) -> None:
    """JSON Schemas of the channel, connector and LLM bindings."""
    run(ctx, lambda c: c.binding_schemas())


register_tenants(cp_app)
register_documents(cp_app)
register_contacts(cp_app)
register_tasks(cp_app)
