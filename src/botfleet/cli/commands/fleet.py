"""`botfleet fleet ...`: tenants' data planes as processes on this machine (the local orchestrator).

    export BOTFLEET_BOOT_TOKEN=... BOTFLEET_CACHE_KEY=... BOTFLEET_INTERNAL_TOKEN=...
    botfleet fleet start acme --port 8003 --control-plane http://127.0.0.1:8001
    botfleet fleet status
    botfleet fleet watch            # restarts the data planes that died

Secrets never come from the command line, which every user of the machine sees (`ps`): the
environment, or files only their owner may read. Answers are JSON (`status`: a table unless
`--json`) on stdout; the rest goes to stderr. Exit status: 0 done; 1 the orchestrator refused or
failed, or the tenant is unknown (one `error:` line, never a traceback nor a secret), and for
`status` a data plane that is not serving (monitoring and cron read that); 2 a usage error (a bad
option, a missing or unreadable secret).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from botfleet.cli.commands.cp_common import positive_seconds
from botfleet.cli.fleet_secrets import (
    BOOT_TOKEN,
    CACHE_KEY,
    INTERNAL_TOKEN,
    Secret,
    read_secret,
)
from botfleet.ports.orchestration import RESERVED_FOLDERS

if TYPE_CHECKING:
    from botfleet.adapters.orchestration import LocalOrchestrator
    from botfleet.adapters.orchestration.restart_backoff import RestartBackoff
    from botfleet.ports.orchestration import DataPlaneHealth, DataPlaneSpec, DataPlaneStatus

T = TypeVar("T")

fleet_app = typer.Typer(
    help="Run tenants' data planes as processes on this machine (start, status, watch...).",
    no_args_is_help=True,
)

#: The orchestrator's own folders under the root: a tenant of that name would share them.
RESERVED = RESERVED_FOLDERS
#: Exit status: the orchestrator refused or failed, or the tenant is unknown.
FAILED = 1

ROOT = typer.Option(
    Path("var/fleet"),
    "--root",
    envvar="BOTFLEET_FLEET_ROOT",
    help="The fleet's folder (tenants' folders, pid files, logs); relative to the current "
    "folder: give an absolute one so every run finds the same fleet.",
)
HOST = typer.Option(
    "127.0.0.1",
    "--host",
    envvar="BOTFLEET_FLEET_HOST",
    help="Interface the data planes listen on. Saved with the tenant at start: restart and "
    "watch refuse another one (give the same, or set BOTFLEET_FLEET_HOST).",
)
WAIT = typer.Option(True, "--wait/--no-wait", help="Wait until its /health answers.")
TIMEOUT = typer.Option(
    60.0, "--timeout", help="Seconds to wait for it to answer.", callback=positive_seconds
)


def _tenant_id(value: str) -> str:
    from botfleet.adapters.orchestration.local import tenant_id_problem
    from botfleet.domain.tenant_ids import LOCAL_TENANT_ID_RULE

    if value in RESERVED:
        raise typer.BadParameter(
            f"{value!r} is the name of one of the fleet's own folders ({', '.join(RESERVED)}): "
            "a tenant of that name would share it with every tenant's pid files or logs"
        )
    if tenant_id_problem(value) is not None:  # a usage error like the names above: status 2
        raise typer.BadParameter(
            f"{value!r} is not a valid tenant id for a folder name ({LOCAL_TENANT_ID_RULE})"
        )
    return value


def _tenant_ids(values: list[str] | None) -> list[str]:
    return [_tenant_id(value) for value in values or []]


TENANT = typer.Argument(..., help="The tenant id.", callback=_tenant_id, show_default=False)


# ---------------------------------------------------------------- secrets


# ---------------------------------------------------------------- plumbing


def _orchestrator(root: Path, host: str = "127.0.0.1") -> LocalOrchestrator:
    import sys

    from botfleet.adapters.orchestration import LocalOrchestrator

    # sys.executable read now: the interpreter running this command runs the data planes.
    return LocalOrchestrator(root, host=host, python=sys.executable)


def _run(call: Callable[[], Coroutine[Any, Any, T]], hidden: tuple[str, ...] = ()) -> T:
    """Run `call` with `_errors`."""
    import asyncio

    with _errors(hidden):
        return asyncio.run(call())


@contextmanager
def _errors(hidden: tuple[str, ...] = ()) -> Iterator[None]:
    """An orchestrator's refusal, or a file system's, as one `error:` line on stderr (exit 1);
    the end of a failed data plane's log, which its message carries, follows indented."""
    from botfleet.adapters.orchestration import OrchestrationError

    try:
        yield
    except (OrchestrationError, OSError) as exc:
        text = str(exc) if isinstance(exc, OrchestrationError) else _os_error(exc)
        for value in _parts(hidden):
            text = text.replace(value, "***")
        first, *rest = text.splitlines() or [""]
        typer.echo(f"error: {first.rstrip(':')}", err=True)
        for line in rest:
            typer.echo(f"    {line}", err=True)
        raise typer.Exit(FAILED) from None


def _os_error(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot use{where}: {exc.strerror or type(exc).__name__}"


def _parts(hidden: tuple[str, ...]) -> list[str]:
    # A cache key may be several keys: none of them shown, whole or alone.
    parts = {value for value in hidden if value}
    parts |= {part.strip() for value in hidden for part in value.split(",") if part.strip()}
    return sorted(parts, key=len, reverse=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(FAILED)


def _port(url: str | None) -> int | None:
    from urllib.parse import urlsplit

    return None if url is None else urlsplit(url).port


def _view(status: DataPlaneStatus, health: DataPlaneHealth | None = None) -> dict[str, Any]:
    """A status as printed; `healthy` is null when /health was not asked (not running)."""
    return {
        "tenant": status.tenant_id,
        "state": status.state,
        "pid": status.pid,
        "port": _port(status.url),
        "url": status.url,
        "healthy": None if health is None else health.healthy,
        "detail": status.detail,
    }


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


def _tenants_in(root: Path) -> list[str]:
    """The tenants started under `root` (those with a launch record)."""
    if not root.is_dir():
        raise typer.BadParameter(f"no fleet at {root}: no such folder", param_hint="--root")
    return sorted(
        path.parent.name for path in root.glob("*/launch.json") if path.parent.name not in RESERVED
    )


async def _unknown(fleet: LocalOrchestrator, tenant: str) -> bool:
    return (await fleet.status(tenant)).state == "unknown" and not fleet.tenant_dir(tenant).exists()


def _unknown_error(fleet: LocalOrchestrator, tenant: str) -> typer.Exit:
    return _fail(f"tenant {tenant!r}: unknown in {fleet.root} (never started with this --root)")


async def _healthy(fleet: LocalOrchestrator, tenant: str, timeout_s: float) -> DataPlaneHealth:
    """`wait_until_healthy`; its refusal says whether the data plane still runs (one waiting
    for the control plane does) and names the log to read."""
    from botfleet.adapters.orchestration import OrchestrationError, wait_until_healthy

    try:
        return await wait_until_healthy(fleet, tenant, timeout_s=timeout_s)
    except OrchestrationError as exc:
        log = fleet.log_file(tenant)
        if str(log) in exc.detail:  # it exited: the detail carries the end of its log
            raise
        running = (await fleet.status(tenant)).state == "running"
        still = f"; it is still running (stop it: botfleet fleet stop {tenant})" if running else ""
        raise OrchestrationError(tenant, f"{exc.detail}{still}; its log: {log}") from None


# ---------------------------------------------------------------- commands


@fleet_app.command("start")
def start(
    ctx: typer.Context,
    tenant: str = TENANT,
    control_plane: str | None = typer.Option(
        None,
        "--control-plane",
        help="Where the data plane reaches the control plane (its DP_CONTROL_PLANE_URL; "
        "default: the one of the tenant's last start under --root).",
        show_default=False,
    ),
    port: int | None = typer.Option(
        None,
        "--port",
        min=1,
        max=65535,
        help="Port to listen on (default: the tenant's previous one, also after a delete that "
        "kept its data, if it is free; else a free one).",
        show_default=False,
    ),
    boot_token_file: Path | None = typer.Option(
        None, "--boot-token-file", help="Instead of BOTFLEET_BOOT_TOKEN.", show_default=False
    ),
    cache_key_file: Path | None = typer.Option(
        None, "--cache-key-file", help="Instead of BOTFLEET_CACHE_KEY.", show_default=False
    ),
    internal_token_file: Path | None = typer.Option(
        None,
        "--internal-token-file",
        help="Instead of BOTFLEET_INTERNAL_TOKEN.",
        show_default=False,
    ),
    root: Path = ROOT,
    host: str = HOST,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
) -> None:
    """Start TENANT's data plane, pulling its configuration from the control plane; print its
    status as JSON (with --wait, the default, once its /health answers).

    The boot token, the cache key and the internal token come from BOTFLEET_BOOT_TOKEN,
    BOTFLEET_CACHE_KEY and BOTFLEET_INTERNAL_TOKEN, or from files (--boot-token-file...: the
    value, or a JSON object with a boot_token, cache_key or internal_token field; mode 0600).
    Keep the cache key the same across starts. A start with the same settings leaves a running
    data plane alone; changed ones (a new boot token) stop it and start it again.

    A tenant started before under --root keeps what this start does not give: its
    --control-plane, --port, --host and secrets (after a boot-token rotation: start TENANT
    --boot-token-file NEW), and the poll interval and environment a start through the Python
    API gave it; stderr says which were reused.
    """
    from botfleet.ports.orchestration import DataPlaneSpec

    fleet = _orchestrator(root, host)
    with _errors():
        last = fleet.last_start(tenant)
    previous = None if last is None else last[0]
    reused: list[str] = []
    if control_plane is None:
        if previous is None or not previous.control_plane_url:
            raise _usage(
                "missing option --control-plane: give the control plane's URL, e.g. "
                f"http://127.0.0.1:8001 (tenant {tenant!r} has no earlier start under "
                f"{fleet.root} to take it from)"
            )
        control_plane = previous.control_plane_url
        reused.append(f"--control-plane {control_plane}")
    if port is None and previous is not None and previous.port is not None:
        # The orchestrator would pick it anyway; in the spec too, the start is "unchanged"
        # and leaves a running data plane alone.
        port = previous.port
        reused.append(f"--port {port}")
    if last is not None and last[1] != host:
        given = ctx.get_parameter_source("host")
        # By name: typer carries its own copy of click, whose enum this is.
        if given is not None and given.name == "DEFAULT":
            if not _loopback(last[1]):
                # Reachable from other hosts is a choice to make each time, never a default
                # carried over: the option says so on the command line.
                raise _usage(
                    f"tenant {tenant!r} was started on {last[1]}, which other hosts can reach: "
                    f"give --host {last[1]} to start it there again, or --host 127.0.0.1"
                )
            # Else a start would move it to the default interface, where `watch` and
            # `restart` (given the host it had) would then refuse it.
            host = last[1]
            fleet = _orchestrator(root, host)
            reused.append(f"--host {host}")
    with _usage_errors():
        _check_url(control_plane)
        boot_token = _secret(BOOT_TOKEN, boot_token_file, tenant, previous, reused)
        cache_key = _secret(CACHE_KEY, cache_key_file, tenant, previous, reused)
        internal_token = _secret(INTERNAL_TOKEN, internal_token_file, tenant, previous, reused)
        _check_new_cache_key(fleet.data_dir(tenant) / tenant, cache_key, previous)
    config_poll_s, env = _api_settings(previous, reused)
    if reused:
        typer.echo(
            f"reused from the last start of {tenant!r} under {fleet.root}: {', '.join(reused)}",
            err=True,
        )
    spec = DataPlaneSpec(
        tenant,
        control_plane_url=control_plane,
        boot_token=boot_token,
        cache_key=cache_key,
        internal_token=internal_token,
        port=port,
        config_poll_s=config_poll_s,
        env=env,
    )

    async def go() -> dict[str, Any]:
        status = await fleet.start(spec)
        if not wait:
            return _view(status)
        health = await _healthy(fleet, tenant, timeout)
        now = await fleet.status(tenant)
        # What the start said (it did not get its old port back) outlives the wait.
        return _view(now if now.detail else replace(now, detail=status.detail), health)

    previous_url = _run(lambda: fleet.status(tenant)).url if previous is not None else None
    view = _run(go, (boot_token, cache_key, internal_token))
    view |= {"root": str(fleet.root), "log": str(fleet.log_file(tenant))}
    _echo_json(view)
    typer.echo(f"fleet root: {fleet.root}", err=True)
    steps = _next_steps(
        tenant, view["url"], fleet.root, host, previous, previous_url, spec, internal_token_file
    )
    if steps:
        typer.echo("next steps (once, or when they change):", err=True)
        for step in steps:
            typer.echo(f"  - {step}", err=True)


def _api_settings(
    previous: DataPlaneSpec | None, reused: list[str]
) -> tuple[float | None, dict[str, str]]:
    """What the command has no option for (the Python API's `config_poll_s` and `env`): the
    last start's, so a start from the command line does not drop it (`restart` keeps it too);
    named in `reused` (the environment's names only)."""
    if previous is None:
        return None, {}
    env = dict(previous.env)
    if previous.config_poll_s is not None:
        reused.append(f"config_poll_s {previous.config_poll_s:g}")
    if env:
        reused.append(f"env {', '.join(sorted(env))}")
    return previous.config_poll_s, env


def _usage(message: str) -> typer.Exit:
    """A usage error as one `error:` line, status 2, as the orchestrator's refusals are told
    (click's own is a box of several lines, which a log or a script reads badly)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@contextmanager
def _usage_errors() -> Iterator[None]:
    """`typer.BadParameter` raised by a command's own checks as `_usage`'s one line."""
    try:
        yield
    except typer.BadParameter as exc:
        raise _usage(" ".join(exc.format_message().split())) from None


def _secret(
    secret: Secret,
    file: Path | None,
    tenant: str,
    previous: DataPlaneSpec | None,
    reused: list[str],
) -> str:
    """`read_secret`, or the value of the tenant's last start when neither its file nor its
    variable gives one (noted in `reused`, by name only)."""
    kept = None if previous is None else getattr(previous, secret.name)
    if file is None and not os.environ.get(secret.variable, "").strip() and kept:
        reused.append(f"the {secret.name.replace('_', ' ')}")
        return str(kept)
    return read_secret(secret, file, tenant)


def _check_new_cache_key(
    state_folder: Path, cache_key: str, previous: DataPlaneSpec | None
) -> None:
    """Refuses a cache key other than the last start's that does not open the secrets of the
    tenant's cached copy (in `state_folder`), before anything is stopped: with the control
    plane down, the data plane restarted on it would start without its channel's token and
    exit, a tenant that ran taken down."""
    from botfleet.data_plane.config_source.cache import CACHE_FILE, sealed_secrets_open

    if previous is None or cache_key == previous.cache_key:
        return
    cached = state_folder / CACHE_FILE
    if sealed_secrets_open(cached, cache_key) is False:
        raise typer.BadParameter(
            f"the new cache key does not open the secrets of the tenant's cached configuration "
            f"({cached}), and a start with the control plane down would need them: give the "
            "new key and the old one, NEW,OLD (the data plane seals the copy again with NEW; "
            'docs/operations.md, "Rotating keys and tokens"), or delete that file to start '
            "without a cached copy (the data plane then waits for the control plane)",
            param_hint="--cache-key-file / BOTFLEET_CACHE_KEY",
        )


def _check_url(url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise typer.BadParameter(
            "give the control plane's URL, e.g. http://127.0.0.1:8001", param_hint="--control-plane"
        )


def _next_steps(
    tenant: str,
    url: str | None,
    root: Path,
    host: str,
    previous: DataPlaneSpec | None,
    previous_url: str | None,
    spec: DataPlaneSpec,
    internal_token_file: Path | None,
) -> list[str]:
    """What is left to do after this start: all of it the first time; later, only what the
    start changed (the internal token, the URL), the rest being done already."""
    first = previous is None
    steps = []
    if previous is None or previous.internal_token != spec.internal_token:
        steps.append(
            "store the internal token as the tenant's data_plane credentials: "
            + _store_token_command(tenant, internal_token_file)
        )
    if first or previous_url != url:
        steps.append(
            f"tell the control plane where it answers: botfleet cp tenants update {tenant} "
            f"--data-plane-url {url}"
        )
    if first:
        host_option = "" if host == "127.0.0.1" else f" --host {host}"
        steps.append(
            f"keep it running: botfleet fleet watch --root {root}{host_option} "
            "(or --once from cron or a systemd timer)"
        )
    return steps


def _store_token_command(tenant: str, file: Path | None) -> str:
    """The `botfleet cp credentials set TENANT data_plane ...` that stores the internal token
    this start was given, read from where it came, never showing it: the tenant's own file, by
    its absolute path (the command may be run from another folder), as `--file` when it is a
    JSON object holding only `internal_token` (the onboarding's dp.json), as `internal_token=@`
    when it holds the token alone, through jq when it holds other fields too (they would be
    stored with it, and refused); else BOTFLEET_INTERNAL_TOKEN on standard input (printf is a
    shell builtin: the value is on no command line)."""
    command = f"botfleet cp credentials set {shlex.quote(tenant)} data_plane"
    if file is None:
        return f"printf '%s' \"${INTERNAL_TOKEN.variable}\" | {command} internal_token=@-"
    path = shlex.quote(str(file.absolute()))
    try:
        text = file.read_text(encoding="utf-8").strip()
        loaded = json.loads(text) if text.startswith("{") else None
    except (OSError, ValueError):  # read a moment ago, changed since: as any JSON object
        loaded = {}
    if loaded is None:
        return f"{command} internal_token=@{path}"
    if isinstance(loaded, dict) and set(loaded) == {INTERNAL_TOKEN.name}:
        return f"{command} --file {path}"
    return f"jq '{{internal_token}}' {path} | {command} --file -"


@fleet_app.command("status")
def status(
    tenants: list[str] | None = typer.Argument(
        None,
        help="Tenant ids (default: every tenant started under --root).",
        callback=_tenant_ids,
        show_default=False,
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    root: Path = ROOT,
    host: str = HOST,
) -> None:
    """Each data plane's state (running, starting, stopped, failed, unknown), pid, URL and
    health, for monitoring and cron as well as for a person: the exit status says whether every
    data plane listed serves (name the tenants to check to leave out one stopped on purpose).

    \b
    Exit status:
      0  every data plane listed runs and answers /health (or none was started under --root)
      1  some data plane does not: failed, stopped, starting, running with /health not ok,
         or a tenant named is unknown under --root (one error: line names each)
      2  usage: no fleet at --root, a bad tenant id
    """
    import asyncio

    fleet = _orchestrator(root, host)
    names = tenants or _tenants_in(fleet.root)

    async def one(tenant: str) -> dict[str, Any]:
        found = await fleet.status(tenant)
        healthy = await fleet.health(tenant) if found.state == "running" else None
        return _view(found, healthy)

    async def every() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(one(tenant) for tenant in names)))

    views = _run(every)
    if as_json:
        _echo_json(views)
    elif views:
        typer.echo(_table(views))
    else:
        typer.echo(f"no data planes in {fleet.root}")
    unknown = [view for view in views if view["state"] == "unknown"]
    parts = []
    if unknown:
        # A tenant deleted with its data kept is no typo of the root: say which is which.
        never = [view["tenant"] for view in unknown if not view["detail"]]
        deleted = [view["tenant"] for view in unknown if view["detail"]]
        if never:
            parts.append(
                f"unknown in {fleet.root} (never started with this --root): {', '.join(never)}"
            )
        if deleted:
            parts.append(
                f"deleted from {fleet.root}, its data kept (start it to run it again): "
                f"{', '.join(deleted)}"
            )
    # A monitoring check or a cron job reads the exit status: every data plane not serving
    # fails it, each named with why (the table's first column and state say the rest).
    down = [view for view in views if view["state"] != "unknown" and view["healthy"] is not True]
    if down:
        named = ", ".join(f"{view['tenant']} ({_not_serving(view)})" for view in down)
        parts.append(f"{len(down)} of {len(views)} data planes not serving: {named}")
    if parts:
        raise _fail("; ".join(parts))


def _not_serving(view: dict[str, Any]) -> str:
    if view["state"] == "running":
        return "running, /health not ok"
    return str(view["state"])


def _table(views: list[dict[str, Any]]) -> str:
    rows = [("TENANT", "STATE", "PID", "URL", "HEALTH", "DETAIL")]
    for view in views:
        health = {True: "ok", False: "no", None: "-"}[view.get("healthy")]
        detail = (view["detail"].splitlines() or [""])[0].rstrip(":")
        rows.append(
            (
                view["tenant"],
                view["state"],
                str(view["pid"] or "-"),
                view["url"] or "-",
                health,
                _printable(detail),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _printable(text: str) -> str:
    # A log line quoted in a detail must not drive the terminal.
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


@fleet_app.command("stop")
def stop(tenant: str = TENANT, root: Path = ROOT) -> None:
    """Stop TENANT's data plane (SIGTERM: it finishes the turns under way; SIGKILL after 15 s);
    its data stays. Returns once it has exited and its port is free, so another data plane may
    start on that port at once. `watch` leaves a stopped data plane alone."""
    fleet = _orchestrator(root)

    async def go() -> DataPlaneStatus | None:
        return None if await _unknown(fleet, tenant) else await fleet.stop(tenant)

    stopped = _run(go)
    if stopped is None:
        raise _unknown_error(fleet, tenant)
    _echo_json(_view(stopped))


@fleet_app.command("restart")
def restart(
    tenant: str = TENANT,
    root: Path = ROOT,
    host: str = HOST,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
) -> None:
    """Stop TENANT's data plane and start it again with the settings of its last start (to
    apply changed bindings). After a boot-token rotation use `start` with the new token."""
    fleet = _orchestrator(root, host)

    async def go() -> dict[str, Any] | None:
        if await _unknown(fleet, tenant):
            return None
        restarted = await fleet.restart(tenant)
        if not wait:
            return _view(restarted)
        health = await _healthy(fleet, tenant, timeout)
        return _view(await fleet.status(tenant), health)

    view = _run(go)
    if view is None:
        raise _unknown_error(fleet, tenant)
    _echo_json(view)


@fleet_app.command("delete")
def delete(
    tenant: str = TENANT,
    purge: bool = typer.Option(
        False, "--purge", help="Also remove its data (state, jobs, cached configuration) and log."
    ),
    yes: bool = typer.Option(False, "--yes", help="With --purge: do not ask."),
    root: Path = ROOT,
) -> None:
    """Stop TENANT's data plane and forget it (its saved settings, with the boot token, go);
    its data stays unless --purge. For a tenant deleted in the control plane."""
    fleet = _orchestrator(root)
    if _run(lambda: _unknown(fleet, tenant)):
        raise _unknown_error(fleet, tenant)
    if purge and not yes:
        from botfleet.cli.commands.cp_contacts import confirm_on_stderr

        confirm_on_stderr(
            f"Delete the data plane of tenant {tenant!r} with its data "
            f"({fleet.tenant_dir(tenant)}: conversations, scheduled jobs) and its log? This "
            "cannot be undone"
        )
    _echo_json(_view(_run(lambda: fleet.delete(tenant, keep_data=not purge))))


@fleet_app.command("watch")
def watch(
    every: float = typer.Option(
        15.0, "--every", help="Seconds between checks.", callback=positive_seconds
    ),
    once: bool = typer.Option(False, "--once", help="Check once and exit (cron, systemd timer)."),
    root: Path = ROOT,
    host: str = HOST,
    timeout: float = typer.Option(
        60.0,
        "--timeout",
        help="With --once: seconds to wait for each restarted data plane's /health.",
        callback=positive_seconds,
    ),
) -> None:
    """Restart the data planes that died (state `failed`: killed, out of memory, crashed), one
    JSON line on stdout per restart, until Ctrl+C or SIGTERM.

    Data planes stopped with `stop` are left alone. Tenants started later under --root are
    watched from the next check. A restart runs the settings of the tenant's last start.
    One that keeps failing is restarted after growing pauses (--every, doubling up to 5 min,
    until it stays up 5 min); one that refuses to start is printed once per reason.

    With --once, each data plane restarted is waited for until its /health answers (at most
    --timeout seconds; its line says `"healthy"`), so a check run right after sees it up.

    One watch per --root: another one (a long-running one, or a --once run still under way)
    holds run/watch.lock. Then a long-running watch refuses to start (exit 1), and a --once run
    checks nothing and says so on stderr (exit 0: the other one watches).

    \b
    Exit status:
      0  stopped by Ctrl+C or SIGTERM; with --once, nothing failed to restart, or another
         watch of the root was running (skipped)
      1  with --once: a restart failed (its JSON line says why); without it: another watch
         of the root is running
      2  usage: no fleet at --root, a bad option
    """
    from botfleet.adapters.orchestration.restart_backoff import RestartBackoff
    from botfleet.adapters.orchestration.watch_lock import WatchLockHeld, holding_watch_lock

    fleet = _orchestrator(root, host)
    _tenants_in(fleet.root)  # a mistyped --root is an error, not a fleet that never fails
    try:
        with _errors(), holding_watch_lock(fleet.root):
            # In a file: `--once` runs from cron back off as a long-running watch does.
            backoff = RestartBackoff(fleet.root / "run" / "watch.json", first_s=every)
            failures = _run(lambda: _watch(fleet, every, once, backoff, timeout))
    except WatchLockHeld as held:
        who = "another watch" if held.holder is None else f"another watch (pid {held.holder})"
        if once:
            typer.echo(
                f"skipped: {who} of {fleet.root} is running (it holds {held.path}); this run "
                "checked nothing",
                err=True,
            )
            return
        raise _fail(
            f"{who} of {fleet.root} is running (it holds {held.path}): two would restart the "
            "same data planes and overwrite each other's restart pauses; stop it first, or "
            "leave the watching to it"
        ) from None
    if failures:
        raise typer.Exit(FAILED)


async def _watch(
    fleet: LocalOrchestrator, every: float, once: bool, backoff: RestartBackoff, timeout: float
) -> int:
    """Check, then every `every` seconds until a signal; the failed restarts of the last check."""
    import asyncio
    import signal

    if once:
        return await _restart_failed(fleet, backoff, wait_s=timeout)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for number in signals:  # a restart under way finishes first
        loop.add_signal_handler(number, stopping.set)
    try:
        while not stopping.is_set():
            await _restart_failed(fleet, backoff)
            with suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=every)
    finally:
        for number in signals:
            loop.remove_signal_handler(number)
    return 0


async def _restart_failed(
    fleet: LocalOrchestrator, backoff: RestartBackoff | None = None, *, wait_s: float | None = None
) -> int:
    """Restart the failed data planes whose pause (`backoff`) is over, one JSON line each but
    for a refusal to start already told in the tenant's streak; the restarts that failed.
    With `wait_s`, each restarted one is waited for until healthy (`"healthy"` in its line; one
    that is not within `wait_s` counts as failed): a `--once` run's caller checks next."""
    from datetime import UTC, datetime

    from botfleet.adapters.orchestration import OrchestrationError
    from botfleet.adapters.orchestration.restart_backoff import RestartBackoff

    backoff = backoff if backoff is not None else RestartBackoff(None, first_s=15.0)
    failures = 0
    tenants = _tenants_in(fleet.root)
    backoff.keep_only(tenants)
    for tenant in tenants:
        # One read of its log for both: the detail's end of it, and the refusal it ends with.
        found, refusal = await fleet.status_and_refusal(tenant)
        if found.state == "running":
            backoff.seen_up(tenant)
        elif found.state != "failed":  # stopped or deleted by the operator: a fresh start
            backoff.forget(tenant)
        if found.state != "failed":
            continue
        if (pause := backoff.wait_s(tenant)) > 0:
            if wait_s is not None:
                # A `--once` run from cron: its log is where an operator looks, and a data
                # plane down and waiting out its pause said nothing there.
                paused = {"event": "data_plane_restart_paused", "tenant": tenant}
                typer.echo(json.dumps({**paused, "retry_in_s": round(pause)}))
            continue
        line: dict[str, Any] = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "tenant": tenant,
            "reason": (found.detail.splitlines() or [""])[0].rstrip(":"),
        }
        try:
            restarted = await fleet.restart_failed(tenant)
            if restarted is None:  # stopped (or started) by someone else meanwhile
                continue
            line |= {"event": "data_plane_restarted", "pid": restarted.pid, "url": restarted.url}
            if wait_s is not None:
                line["healthy"] = await _healthy_after_restart(fleet, tenant, wait_s, line)
                failures += not line["healthy"]
        except (OrchestrationError, OSError) as exc:
            failures += 1
            error = exc.detail if isinstance(exc, OrchestrationError) else _os_error(exc)
            line |= {"event": "data_plane_restart_failed", "error": error}
        line["backoff_s"] = backoff.restarted(tenant)
        # Restarted for the same refusal as the last time: its line would say nothing new.
        told = backoff.first_telling(tenant, refusal)
        if told or line["event"] == "data_plane_restart_failed":
            typer.echo(json.dumps({"event": line.pop("event"), **line}))
    return failures


async def _healthy_after_restart(
    fleet: LocalOrchestrator, tenant: str, wait_s: float, line: dict[str, Any]
) -> bool:
    """Whether the restarted data plane answers /health within `wait_s`; else why, in
    `line["error"]`."""
    from botfleet.adapters.orchestration import OrchestrationError

    try:
        await _healthy(fleet, tenant, wait_s)
    except OrchestrationError as exc:
        line["error"] = exc.detail
        return False
    return True


def _loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (an address or "localhost")."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
