"""Two `botfleet serve data-plane` processes on one tenant's state folder (a unit started twice,
two containers on one volume): the second is refused before it binds its port or opens the
state, in one line naming the folder, the tenant and the first's pid, and the first serves on.
The lock is the kernel's: once the first is killed (SIGKILL, nothing cleaned up), a new one
starts."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from botfleet.data_plane.state_lock import StateInUse
from botfleet.testing.faults import free_port
from botfleet.testing.runtime import bootstrap_test_runtime, make_settings, text_message
from serve_process import hello_tenant, process_gone, run_to_exit, serve_command, started


def _command(tenant: Path, port: int) -> list[str]:
    command = serve_command("data-plane", "--host", "127.0.0.1", "--port", str(port))
    return [*command, "--tenant-config", str(tenant)]


def test_a_second_data_plane_on_the_same_state_is_refused_until_the_first_is_gone(
    tmp_path: Path,
) -> None:
    tenant = hello_tenant(tmp_path)
    env = {"DP_DATA_DIR": str(tmp_path / "data")}
    folder = tmp_path / "data" / "acme"
    first_port, second_port = free_port(), free_port()
    first_url = f"http://127.0.0.1:{first_port}"

    with started(_command(tenant, first_port), cwd=tmp_path, env=env) as first:
        first.wait_until_answering(f"{first_url}/health")
        record = json.loads((folder / "state.db.lock").read_text(encoding="utf-8"))
        assert record["pid"] == first.process.pid

        second = run_to_exit(_command(tenant, second_port), cwd=tmp_path, env=env, timeout_s=90)

        assert second.returncode == 2, second.stdout + second.stderr
        assert "Traceback" not in second.stderr
        [line] = second.stderr.splitlines()
        assert line.startswith(
            f"data plane cannot start: environment: DP_DATA_DIR: the folder {folder} holds "
            f"the state of tenant 'acme', which another data plane is using "
            f"(pid {first.process.pid} on host "
        ), line
        assert line.endswith("stop it, or give this data plane its own DP_DATA_DIR"), line
        # Refused before its port: nothing answers there, nor was anything started.
        assert "data_plane_ready" not in second.stdout
        try:
            httpx.get(f"http://127.0.0.1:{second_port}/health", timeout=1)
            raise AssertionError("the refused data plane's port answered")
        except httpx.ConnectError:
            pass
        # The first serves on, its record untouched by the refused start.
        assert httpx.get(f"{first_url}/health", timeout=5).status_code == 200
        reply = httpx.post(f"{first_url}/inbound", json={"contact_id": "c1", "text": "hi"})
        assert reply.status_code == 200, reply.text
        assert json.loads((folder / "state.db.lock").read_text(encoding="utf-8")) == record
        # Reading the state of a running data plane (sqlite3, the backup in operations.md)
        # takes no lock, so it still works.
        with closing(sqlite3.connect(f"file:{folder / 'state.db'}?mode=ro", uri=True)) as db:
            assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] >= 1

        first.kill()  # SIGKILL: no shutdown ran, the lock file still names it
        assert process_gone(first.process.pid)

    assert json.loads((folder / "state.db.lock").read_text(encoding="utf-8")) == record
    third_port = free_port()
    with started(_command(tenant, third_port), cwd=tmp_path, env=env) as third:
        third.wait_until_answering(f"http://127.0.0.1:{third_port}/health")
        record = json.loads((folder / "state.db.lock").read_text(encoding="utf-8"))
        assert record["pid"] == third.process.pid
        stopped = third.stop()
    assert "Scheduler has been shut down" in stopped.stdout, stopped.stdout + stopped.stderr
    # A clean stop clears the record: the file no longer names a process.
    assert (folder / "state.db.lock").read_text(encoding="utf-8") == ""


async def test_two_runtimes_of_one_state_file_in_one_process_are_refused_too(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "state.db")
    async with bootstrap_test_runtime(settings=settings) as first:
        with pytest.raises(StateInUse):
            async with bootstrap_test_runtime(settings=settings):
                pass  # pragma: no cover
        # Refused before opening anything: the first runtime's state is untouched and works.
        result = await first.handle(text_message("c1", "hi"))
        assert result.outputs
        # In-memory stores take no lock: they share nothing.
        async with bootstrap_test_runtime(), bootstrap_test_runtime():
            pass
    # Closed, the first runtime released it.
    async with bootstrap_test_runtime(settings=settings) as again:
        assert (await again.handle(text_message("c2", "hi"))).outputs
