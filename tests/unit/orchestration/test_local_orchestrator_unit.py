"""Local orchestrator without processes: specs, environments, folders, unknown tenants."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from botfleet.adapters.orchestration import LocalOrchestrator, OrchestrationError, data_plane_env
from botfleet.adapters.orchestration._processes import hosts_overlap
from botfleet.ports.orchestration import DataPlaneSpec


def test_a_spec_needs_a_control_plane_or_a_local_file() -> None:
    with pytest.raises(ValueError, match="control_plane_url and boot_token"):
        DataPlaneSpec("acme", control_plane_url="http://cp")
    spec = DataPlaneSpec("acme", control_plane_url="http://cp", boot_token="bfb_secret")
    assert "bfb_secret" not in repr(spec)


def test_the_environment_holds_the_spec_and_no_inherited_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CP_ADMIN_API_KEY", "leak-me-not")
    monkeypatch.setenv("DP_TENANT_ID", "another-tenant")
    monkeypatch.setenv("BOOT_TOKEN", "another-token")
    monkeypatch.setenv("PATH", "/usr/bin")
    spec = DataPlaneSpec(
        "acme",
        control_plane_url="http://cp:8001",
        boot_token="bfb_1",
        cache_key="k",
        config_poll_s=5,
        env={"DP_LOG_LEVEL": "debug"},
    )
    env = data_plane_env(spec, port=9000, data_dir=tmp_path)
    assert env == {
        "PATH": "/usr/bin",
        **{k: v for k, v in env.items() if k in {"HOME", "LANG", "VIRTUAL_ENV", "TZ", "TMPDIR",
                                                 "LC_ALL", "LC_CTYPE", "PYTHONPATH",
                                                 "COVERAGE_PROCESS_START"}},
        "DP_TENANT_ID": "acme",
        "DP_DATA_DIR": str(tmp_path),
        "DP_PORT": "9000",
        "DP_CONTROL_PLANE_URL": "http://cp:8001",
        "DP_BOOT_TOKEN": "bfb_1",
        "DP_CACHE_KEY": "k",
        "DP_CONFIG_POLL_S": "5",
        "DP_LOG_JSON": "true",
        "DP_LOG_LEVEL": "debug",
        "PYTHONUNBUFFERED": "1",
    }  # fmt: skip


def test_the_specs_own_fields_win_over_its_env(tmp_path: Path) -> None:
    """An `env` naming a token (saved by an earlier start through the Python API) does not keep
    the old one after a rotation; the logging defaults stay changeable."""
    spec = DataPlaneSpec(
        "acme",
        control_plane_url="http://cp:8001",
        boot_token="bfb_new",
        internal_token="new-internal",
        env={"DP_BOOT_TOKEN": "bfb_old", "DP_INTERNAL_TOKEN": "old", "DP_LOG_JSON": "false"},
    )
    env = data_plane_env(spec, port=9000, data_dir=tmp_path)
    assert (env["DP_BOOT_TOKEN"], env["DP_INTERNAL_TOKEN"]) == ("bfb_new", "new-internal")
    assert env["DP_LOG_JSON"] == "false"


@pytest.mark.parametrize("tenant", ["..", "a/b", "", "x" * 70])
def test_tenant_ids_that_are_not_folder_names_are_refused(tmp_path: Path, tenant: str) -> None:
    with pytest.raises(OrchestrationError, match="not a valid tenant id"):
        LocalOrchestrator(tmp_path).tenant_dir(tenant)


async def test_a_tenant_never_started_is_unknown_and_unhealthy(tmp_path: Path) -> None:
    fleet = LocalOrchestrator(tmp_path)
    assert (await fleet.status("acme")).state == "unknown"
    health = await fleet.health("acme")
    assert (health.healthy, health.detail) == (False, "never started here")
    stopped = await fleet.stop("acme")
    assert (stopped.state, stopped.detail) == ("unknown", "never started here: nothing to stop")


async def test_an_answer_from_another_tenant_is_not_healthy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another tenant's data plane on this tenant's port (it took the port while this one was
    # stopped) answers 200: that is not this tenant being healthy.
    body = b'{"status": "ok", "tenant_id": "alpha"}'

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    fleet = LocalOrchestrator(tmp_path)
    monkeypatch.setattr(fleet, "_url", lambda tenant_id: f"http://127.0.0.1:{port}")
    async with server:
        health = await fleet.health("beta")
    assert not health.healthy
    assert "'alpha'" in health.detail and str(port) in health.detail


async def test_a_process_that_cannot_be_run_is_an_error_naming_the_tenant(tmp_path: Path) -> None:
    config = tmp_path / "acme.yaml"
    config.write_text("tenant_id: acme\n", encoding="utf-8")
    fleet = LocalOrchestrator(tmp_path / "fleet", python=str(tmp_path / "no-such-python"))
    with pytest.raises(OrchestrationError, match=r"tenant 'acme'.*no-such-python"):
        await fleet.start(DataPlaneSpec("acme", tenant_config_path=str(config)))
    assert (await fleet.status("acme")).state == "stopped"  # no pid file of a process never run


@pytest.mark.parametrize(
    ("host", "other", "overlap"),
    [
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", "127.0.0.2", False),
        ("localhost", "127.0.0.1", True),
        ("0.0.0.0", "10.0.0.9", True),
        ("10.0.0.9", "::", True),
        ("::1", "[::1]", True),
        ("::1", "127.0.0.1", False),
        ("", "127.0.0.1", True),
    ],
)
def test_hosts_collide_when_the_same_or_one_is_every_interface(
    host: str, other: str, overlap: bool
) -> None:
    assert hosts_overlap(host, other) is overlap
    assert hosts_overlap(other, host) is overlap
