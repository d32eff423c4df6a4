"""A data plane's files are its user's only, whatever the umask it was started with: systemd and
most shells run with 0022, under which SQLite made `state.db` (the contacts' messages and
numbers), its `-wal` and `state.jobs.db` readable by every user of the host. Files and a folder
left wider by an earlier start are tightened at the next one, and that is logged."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from botfleet.adapters.stores.file_modes import make_private
from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.contact_hash import load_or_create_key
from botfleet.data_plane.bootstrap import Overrides, bootstrap, lock_tenant_state
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.testing.runtime import (
    ECHO_FLOW,
    FrozenClock,
    RecordingSender,
    make_settings,
    make_tenant_config,
    text_message,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    """The umask of a systemd service or a login shell."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def world_readable_database(path: Path) -> None:
    """A SQLite file as an older release left it under umask 0022 (0644)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE left_over (x)")
    conn.commit()
    conn.close()
    assert mode(path) == 0o644


async def start_and_stop(settings: DataPlaneSettings) -> set[str]:
    """Start the tenant's runtime, let a contact write, and stop; the files it had then."""
    folder = settings.state_db_for("test").parent
    async with AsyncExitStack() as stack:
        overrides = Overrides(clock=FrozenClock(), sender=RecordingSender())
        runtime = await bootstrap(settings, make_tenant_config(ECHO_FLOW), stack, overrides)
        await runtime.handle(text_message("34600111222", "hello"))
        # While it runs: the write-ahead logs and shared-memory files are there.
        modes = {path.name: mode(path) for path in folder.iterdir()}
    assert modes == dict.fromkeys(modes, 0o600)
    return set(modes)


async def test_every_file_a_data_plane_writes_is_its_owners_only(tmp_path: Path) -> None:
    names = await start_and_stop(make_settings(data_dir=tmp_path / "data"))
    assert {"state.db", "state.db-wal", "state.db-shm", "state.jobs.db"} <= names
    assert {"state.jobs.db-wal", "log-hash.key", "state.db.lock"} <= names
    assert mode(tmp_path / "data" / "test") == 0o700


async def test_a_store_opened_alone_is_private_too(tmp_path: Path) -> None:
    path = tmp_path / "new" / "state.db"
    async with SqliteTenantStore.open(path):  # its schema written: a write-ahead log
        assert mode(path) == 0o600
        wal = path.with_name("state.db-wal")
        assert wal.exists() and mode(wal) == 0o600
    assert mode(path.parent) == 0o700


def test_wider_modes_of_an_earlier_start_are_tightened_and_logged(tmp_path: Path) -> None:
    settings = make_settings(data_dir=tmp_path / "data")
    folder = tmp_path / "data" / "test"
    folder.mkdir(parents=True)
    assert mode(folder) == 0o755
    world_readable_database(folder / "state.db")
    world_readable_database(folder / "state.jobs.db")
    key = folder / "log-hash.key"
    load_or_create_key(key)
    key.chmod(0o644)  # restored from a backup without its mode
    with capture_logs() as logs, lock_tenant_state(settings, "test"):
        pass
    assert mode(folder) == 0o700
    for name in ("state.db", "state.jobs.db", "log-hash.key", "state.db.lock"):
        assert mode(folder / name) == 0o600, name
    [warning] = [entry for entry in logs if entry["event"] == "state_files_made_private"]
    assert warning["log_level"] == "warning"
    assert warning["files"] == {
        str(folder): "0755",
        str(folder / "state.db"): "0644",
        str(folder / "state.jobs.db"): "0644",
        str(key): "0644",
    }


async def test_nothing_is_logged_when_the_files_are_private_already(tmp_path: Path) -> None:
    settings = make_settings(data_dir=tmp_path / "data")
    await start_and_stop(settings)
    with capture_logs() as logs, lock_tenant_state(settings, "test"):
        pass
    assert [entry["event"] for entry in logs] == []


def test_a_folder_named_by_the_state_file_setting_is_left_as_it_is(tmp_path: Path) -> None:
    # DP_STATE_DB_PATH may put the file in a folder shared with others (other tenants', /tmp).
    shared = tmp_path / "shared"
    shared.mkdir()
    world_readable_database(shared / "acme.db")
    settings = make_settings(state_db=shared / "acme.db")
    with capture_logs() as logs, lock_tenant_state(settings, "acme"):
        pass
    assert mode(shared) == 0o755
    assert mode(shared / "acme.db") == 0o600
    [warning] = [entry for entry in logs if entry["event"] == "state_files_made_private"]
    assert warning["files"] == {str(shared / "acme.db"): "0644"}


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_another_users_file_is_not_changed(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    world_readable_database(path)
    os.chown(path, 54321, -1)
    assert make_private(path) is None
    assert mode(path) == 0o644


def test_a_link_planted_under_one_of_its_names_is_not_followed(tmp_path: Path) -> None:
    # DP_STATE_DB_PATH in a shared folder: anyone who writes there can plant a link named as
    # one of the tenant's files; the start must not change the file it points at.
    shared = tmp_path / "shared"
    shared.mkdir()
    elsewhere = tmp_path / "another-service.conf"
    elsewhere.write_text("x")
    elsewhere.chmod(0o644)
    (shared / "acme.db-journal").symlink_to(elsewhere)
    settings = make_settings(state_db=shared / "acme.db")
    with lock_tenant_state(settings, "acme"):
        pass
    assert mode(elsewhere) == 0o644
    assert make_private(shared / "acme.db-journal") is None
    assert mode(elsewhere) == 0o644
