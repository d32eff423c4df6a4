"""`botfleet fleet` with real data-plane processes under a temporary root.

The control plane they are pointed at does not answer: each data plane runs, waiting for its
configuration (`boot_waiting_for_control_plane`), which is all `start`, `status`, `stop`,
`restart`, `watch` and `delete` look at (the process table, the folders, the ports). The path
through a control plane that answers, waiting until healthy, is test_fleet_cli_with_control_plane.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner, Result

from botfleet.adapters.orchestration import LocalOrchestrator
from botfleet.cli.main import app
from botfleet.testing.faults import free_port

# Real data planes, spawned and never waited for: a few seconds for the whole file.
pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")
BOOT = "bfb_fleet-cli-boot-token-0123456789"
INTERNAL = "fleet-cli-internal-token-9876543210"
CACHE = Fernet.generate_key().decode()
SECRETS = (BOOT, INTERNAL, CACHE)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("BOTFLEET_FLEET_ROOT", "BOTFLEET_FLEET_HOST", "BOTFLEET_BOOT_TOKEN",
                 "BOTFLEET_CACHE_KEY", "BOTFLEET_INTERNAL_TOKEN"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "fleet"
    yield folder
    fleet = LocalOrchestrator(folder, stop_timeout_s=5)
    for launch in folder.glob("*/launch.json"):  # never leave a process behind
        asyncio.run(fleet.stop(launch.parent.name))


@pytest.fixture
def nowhere() -> str:
    """A control plane URL nothing answers on."""
    return f"http://127.0.0.1:{free_port()}"


def fleet(*args: str | Path, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    result = CliRunner().invoke(app, ["fleet", *map(str, args)], env=env, input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
    return result


def env_secrets() -> dict[str, str]:
    return {
        "BOTFLEET_BOOT_TOKEN": BOOT,
        "BOTFLEET_CACHE_KEY": CACHE,
        "BOTFLEET_INTERNAL_TOKEN": INTERNAL,
    }


def start(tenant: str, root: Path, cp: str, *extra: str | Path) -> dict[str, object]:
    result = fleet(
        "start", tenant, "--control-plane", cp, "--root", root, "--no-wait", *extra,
        env=env_secrets(),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    started: dict[str, object] = json.loads(result.stdout)
    argv(started["pid"])  # before another process's status would take it for gone
    return started


def proc(pid: object, entry: str) -> bytes:
    return Path(f"/proc/{pid}/{entry}").read_bytes()


def argv(pid: object) -> str:
    """The process's command line, once the kernel shows it: just after `exec` (when Popen
    returns) /proc/<pid>/cmdline is empty for a moment."""
    deadline = time.monotonic() + 5
    while not (shown := proc(pid, "cmdline")):
        assert time.monotonic() < deadline, f"process {pid} shows no command line"
        time.sleep(0.01)
    return shown.decode()


def status_json(root: Path, *tenants: str) -> list[dict[str, object]]:
    result = fleet("status", *tenants, "--json", "--root", root)
    listed: list[dict[str, object]] = json.loads(result.stdout)
    # Data planes waiting for a control plane that never answers are not serving: status 1.
    serving = all(view["healthy"] is True for view in listed)
    assert result.exit_code == (0 if serving else 1), result.stderr
    return listed


def wait_for_state(root: Path, tenant: str, state: str) -> None:
    deadline = time.monotonic() + 10
    while status_json(root, tenant)[0]["state"] != state:
        assert time.monotonic() < deadline, status_json(root, tenant)
        time.sleep(0.05)


def test_start_takes_the_secrets_from_the_environment_and_never_puts_them_in_argv(
    root: Path, nowhere: str
) -> None:
    port = free_port()
    result = fleet(
        "start", "acme", "--port", str(port), "--control-plane", nowhere, "--root", root,
        "--no-wait", env=env_secrets(),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    started = json.loads(result.stdout)
    assert started["tenant"] == "acme"
    assert started["state"] == "starting"
    assert started["port"] == port
    assert started["url"] == f"http://127.0.0.1:{port}"
    assert started["root"] == str(root.resolve())
    assert started["log"] == str(root.resolve() / "logs" / "acme.log")
    assert f"fleet root: {root.resolve()}" in result.stderr
    # The token came from BOTFLEET_INTERNAL_TOKEN: the step reads it from there, not shown.
    assert (
        """printf '%s' "$BOTFLEET_INTERNAL_TOKEN" | botfleet cp credentials set acme data_plane """
        "internal_token=@-"
    ) in result.stderr
    assert f"--data-plane-url http://127.0.0.1:{port}" in result.stderr

    pid = started["pid"]
    assert isinstance(pid, int)
    command = argv(pid)
    assert "serve\0data-plane" in command
    assert not any(secret in command for secret in SECRETS)
    environ = dict(
        item.split("=", 1) for item in proc(pid, "environ").decode().split("\0") if "=" in item
    )
    assert environ["DP_BOOT_TOKEN"] == BOOT
    assert environ["DP_CACHE_KEY"] == CACHE
    assert environ["DP_INTERNAL_TOKEN"] == INTERNAL
    assert environ["DP_CONTROL_PLANE_URL"] == nowhere
    assert not any(name.startswith("BOTFLEET_") for name in environ)
    launch = root / "acme" / "launch.json"
    assert launch.stat().st_mode & 0o777 == 0o600
    assert json.loads(launch.read_text())["spec"]["boot_token"] == BOOT


def test_start_reads_private_files_and_the_internal_token_from_the_credentials_json(
    root: Path, nowhere: str, tmp_path: Path
) -> None:
    files = {}
    for name, text in (
        ("boot-token", f"{BOOT}\n"),
        ("cache-key", f"{CACHE}\n"),
        ("dp.json", json.dumps({"internal_token": INTERNAL})),  # as given to `cp credentials`
    ):
        files[name] = tmp_path / name
        files[name].write_text(text, encoding="utf-8")
        files[name].chmod(0o600)
    result = fleet(
        "start", "acme", "--control-plane", nowhere, "--root", root, "--no-wait",
        "--boot-token-file", files["boot-token"], "--cache-key-file", files["cache-key"],
        "--internal-token-file", files["dp.json"],
        env={"BOTFLEET_BOOT_TOKEN": "bfb_the_file_wins"},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    pid = json.loads(result.stdout)["pid"]
    environ = proc(pid, "environ").decode().split("\0")
    assert f"DP_BOOT_TOKEN={BOOT}" in environ
    assert f"DP_CACHE_KEY={CACHE}" in environ
    assert f"DP_INTERNAL_TOKEN={INTERNAL}" in environ
    assert not any(secret in argv(pid) for secret in SECRETS)


def test_status_lists_every_tenant_as_a_table_or_as_json(root: Path, nowhere: str) -> None:
    acme = start("acme", root, nowhere)
    beta = start("beta", root, nowhere)

    table = fleet("status", "--root", root)
    # Up, yet not serving (no configuration): a monitoring check must see it.
    assert table.exit_code == 1
    assert table.stderr == (
        "error: 2 of 2 data planes not serving: acme (running, /health not ok), "
        "beta (running, /health not ok)\n"
    )
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["TENANT", "STATE", "PID", "URL", "HEALTH", "DETAIL"]
    # Running (waiting for the control plane), not answering /health.
    assert [row.split() for row in rows] == [
        ["acme", "running", str(acme["pid"]), str(acme["url"]), "no"],
        ["beta", "running", str(beta["pid"]), str(beta["url"]), "no"],
    ]

    listed = status_json(root)
    assert [(v["tenant"], v["state"], v["pid"], v["healthy"]) for v in listed] == [
        ("acme", "running", acme["pid"], False),
        ("beta", "running", beta["pid"], False),
    ]
    assert [v["tenant"] for v in status_json(root, "beta")] == ["beta"]


def test_stop_restart_and_watch_once_restarting_only_the_data_plane_that_died(
    root: Path, nowhere: str
) -> None:
    acme = start("acme", root, nowhere)
    beta = start("beta", root, nowhere)

    restarted = fleet("restart", "acme", "--no-wait", "--root", root)
    assert restarted.exit_code == 0, restarted.stderr
    new_pid = json.loads(restarted.stdout)["pid"]
    assert new_pid not in (None, acme["pid"])

    stopped = fleet("stop", "beta", "--root", root)
    assert stopped.exit_code == 0, stopped.stderr
    assert json.loads(stopped.stdout)["state"] == "stopped"
    assert status_json(root, "beta")[0]["state"] == "stopped"
    assert beta["pid"] not in [v["pid"] for v in status_json(root)]

    os.kill(new_pid, signal.SIGKILL)
    wait_for_state(root, "acme", "failed")
    watched = fleet("watch", "--once", "--timeout", "1", "--root", root)
    # Restarted, then waited for: with no control plane to boot from, it never answers, and a
    # check run next would find it down: the run says so (exit 1), not "all well".
    assert watched.exit_code == 1, watched.stderr
    lines = [json.loads(line) for line in watched.stdout.splitlines()]
    assert len(lines) == 1  # beta, stopped on purpose, is left alone
    (line,) = lines
    assert (line["event"], line["tenant"]) == ("data_plane_restarted", "acme")
    assert line["healthy"] is False and "error" in line
    assert line["reason"].startswith(f"process {new_pid} exited")
    after = status_json(root, "acme")[0]
    assert (after["state"], after["pid"]) == ("running", line["pid"])
    assert status_json(root, "beta")[0]["state"] == "stopped"

    again = fleet("watch", "--once", "--root", root)  # nothing failed: nothing said
    assert (again.exit_code, again.stdout) == (0, "")


def test_watch_once_exits_1_when_a_restart_is_refused(root: Path, nowhere: str) -> None:
    port = free_port()
    started = start("acme", root, nowhere, "--port", str(port))
    os.kill(int(str(started["pid"])), signal.SIGKILL)
    wait_for_state(root, "acme", "failed")
    with socket.socket() as squatter:  # another program took the port meanwhile
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        watched = fleet("watch", "--once", "--root", root)
    assert watched.exit_code == 1
    (line,) = [json.loads(text) for text in watched.stdout.splitlines()]
    assert (line["event"], line["tenant"]) == ("data_plane_restart_failed", "acme")
    assert f"port {port} on 127.0.0.1 is in use by another program" in line["error"]
    assert status_json(root, "acme")[0]["state"] == "failed"


def test_a_port_another_program_holds_is_one_error_line(root: Path, nowhere: str) -> None:
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = fleet(
            "start", "acme", "--port", str(port), "--control-plane", nowhere, "--root", root,
            env=env_secrets(),
        )  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: tenant 'acme': port {port} on 127.0.0.1 is in use by another program: free "
        "it, or give this tenant another port (nothing was stopped or started)"
    ]


def test_a_data_plane_that_does_not_answer_in_time_is_one_error_line_and_keeps_running(
    root: Path, nowhere: str
) -> None:
    result = fleet(
        "start", "acme", "--control-plane", nowhere, "--root", root, "--timeout", "0.5",
        env=env_secrets(),
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: tenant 'acme': data plane not healthy after 0.5s: ")
    log = root.resolve() / "logs" / "acme.log"
    assert line.endswith(
        f"; it is still running (stop it: botfleet fleet stop acme); its log: {log}"
    )
    assert status_json(root, "acme")[0]["state"] == "running"


def test_delete_keeps_the_data_unless_purge_is_confirmed(root: Path, nowhere: str) -> None:
    acme = start("acme", root, nowhere)
    start("beta", root, nowhere)

    kept = fleet("delete", "acme", "--root", root)
    assert kept.exit_code == 0, kept.stderr
    assert json.loads(kept.stdout)["state"] == "unknown"
    assert (root / "acme" / "data").is_dir()
    assert not (root / "acme" / "launch.json").exists()
    gone(acme["pid"])

    declined = fleet("delete", "beta", "--purge", "--root", root, input="n\n")
    assert declined.exit_code == 1
    assert "Aborted" in declined.stderr
    assert status_json(root, "beta")[0]["state"] == "running"

    purged = fleet("delete", "beta", "--purge", "--root", root, input="y\n")
    assert purged.exit_code == 0, purged.stderr
    assert not (root / "beta").exists()
    assert not (root / "logs" / "beta.log").exists()
    assert [v["tenant"] for v in status_json(root)] == []


def gone(pid: object) -> None:
    """The process has exited (a zombie child of this test process has). Waited for: the
    orchestrator takes a process for gone once its memory is released, a moment before."""
    deadline = time.monotonic() + 5
    while True:
        try:
            if proc(pid, "stat").rsplit(b")", 1)[-1].split()[:1] == [b"Z"]:
                return
        except OSError:
            return
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.02)


def test_a_new_cache_key_that_does_not_open_the_cached_secrets_is_refused_before_a_stop(
    root: Path, nowhere: str
) -> None:
    started = fleet(
        "start", "acme", "--control-plane", nowhere, "--root", root, "--no-wait",
        env=env_secrets(),
    )  # fmt: skip
    assert started.exit_code == 0, started.stderr
    pid = json.loads(started.stdout)["pid"]
    # The copy its data plane would start from with the control plane down, sealed with CACHE.
    cached = root / "acme" / "data" / "acme" / "boot-cache.json"
    cached.parent.mkdir(parents=True, exist_ok=True)
    sealed = Fernet(CACHE.encode()).encrypt(b'{"channel": {"bot_token": "x"}}').decode()
    cached.write_text(json.dumps({"sealed_secrets": sealed}), encoding="utf-8")
    other = Fernet.generate_key().decode()

    wrong = fleet(
        "start", "acme", "--root", root, "--no-wait",
        env={**env_secrets(), "BOTFLEET_CACHE_KEY": other},
    )  # fmt: skip
    assert wrong.exit_code == 2
    assert "the new cache key does not open the secrets" in wrong.stderr
    assert "NEW,OLD" in wrong.stderr
    assert other not in wrong.stderr and CACHE not in wrong.stderr
    assert status_json(root, "acme")[0]["pid"] == pid  # nothing was stopped

    rotated = fleet(
        "start", "acme", "--root", root, "--no-wait",
        env={**env_secrets(), "BOTFLEET_CACHE_KEY": f"{other},{CACHE}"},
    )  # fmt: skip
    assert rotated.exit_code == 0, rotated.stderr
