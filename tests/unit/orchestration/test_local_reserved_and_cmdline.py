"""The local orchestrator refuses tenant ids naming its own folders, and does not take a process
whose command line reads empty (right after `exec`, or exiting) for someone else's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from botfleet.adapters.orchestration import _processes
from botfleet.adapters.orchestration.errors import OrchestrationError
from botfleet.adapters.orchestration.local import LocalOrchestrator


@pytest.mark.parametrize("tenant", ["run", "logs"])
def test_a_tenant_cannot_take_the_fleets_own_folders(tmp_path: Path, tenant: str) -> None:
    fleet = LocalOrchestrator(tmp_path)
    with pytest.raises(OrchestrationError) as refused:
        fleet.tenant_dir(tenant)
    assert "fleet's own folders" in str(refused.value)
    assert fleet.tenant_dir("acme") == tmp_path / "acme"


def test_an_empty_command_line_is_not_another_program(monkeypatch: pytest.MonkeyPatch) -> None:
    real = _processes._proc_entry

    def entry(pid: int, name: str) -> bytes | None:
        return b"" if name == "cmdline" else real(pid, name)

    monkeypatch.setattr(_processes, "_proc_entry", entry)
    assert _processes.is_alive(os.getpid())
    monkeypatch.setattr(
        _processes,
        "_proc_entry",
        lambda pid, name: b"/usr/bin/vim\0" if name == "cmdline" else None,
    )
    assert not _processes.is_alive(os.getpid())


async def test_a_restart_from_another_interface_is_refused_not_moved(tmp_path: Path) -> None:
    import json

    elsewhere = LocalOrchestrator(tmp_path, host="10.0.0.9")
    record = {
        "spec": {"tenant_id": "acme", "control_plane_url": "http://127.0.0.1:8001"},
        "port": 18099,
        "host": "10.0.0.9",
    }
    launch = elsewhere.tenant_dir("acme") / "launch.json"
    launch.parent.mkdir(parents=True)
    launch.write_text(json.dumps(record), encoding="utf-8")
    here = LocalOrchestrator(tmp_path, host="127.0.0.1")
    with pytest.raises(OrchestrationError) as refused:
        await here.restart("acme")
    assert "started on 10.0.0.9" in str(refused.value)
    assert "--host 10.0.0.9" in str(refused.value)


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("10.0.0.9", "http://10.0.0.9:18099"),
        ("0.0.0.0", "http://127.0.0.1:18099"),
        ("::1", "http://[::1]:18099"),
        ("::", "http://[::1]:18099"),
    ],
)
async def test_the_url_is_where_the_tenant_was_started(tmp_path: Path, host: str, url: str) -> None:
    # `status` without --host (or with another one) used to show the tenant on this
    # orchestrator's interface, and its health as `no`.
    import json

    record = {
        "spec": {"tenant_id": "acme", "control_plane_url": "http://127.0.0.1:8001"},
        "port": 18099,
        "host": host,
    }
    here = LocalOrchestrator(tmp_path, host="127.0.0.1")
    launch = here.tenant_dir("acme") / "launch.json"
    launch.parent.mkdir(parents=True)
    launch.write_text(json.dumps(record), encoding="utf-8")
    assert (await here.status("acme")).url == url
