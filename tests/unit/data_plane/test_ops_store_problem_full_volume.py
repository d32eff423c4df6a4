"""A full disk at start says so even when SQLite calls it a "disk I/O error": growing the
`-shm` file of `state.db` or `state.jobs.db` on a full volume fails as SQLITE_IOERR_SHMSIZE,
not SQLITE_FULL, and docs/operations.md promises "the disk is full: free space". Python does
not expose the ENOSPC underneath, so `store_problem` looks at the file's volume."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from botfleet.domain.errors import StoreError, StoreUnavailable
from botfleet.startup_problems import store_problem

SQLITE_IOERR_SHMSIZE = 10 | (19 << 8)
FULL = "the disk is full: free space, then start again"
IO_ERROR = "the file could not be read or written (an I/O error): check the disk"


def _raised_from(error: StoreError, cause: sqlite3.Error) -> StoreError:
    try:
        raise error from cause
    except StoreError as raised:
        return raised


def _io_error(path: Path) -> StoreError:
    """What the scheduler raises for an I/O error on the job file `path`."""
    cause = sqlite3.OperationalError("disk I/O error")
    cause.sqlite_errorcode = SQLITE_IOERR_SHMSIZE
    message = f"{path}: the scheduler cannot use the job file now: disk I/O error"
    return _raised_from(StoreUnavailable(message), cause)


def _volume(free_bytes: int, free_inodes: int = 1000) -> os.statvfs_result:
    # bsize, frsize, blocks, bfree, bavail, files, ffree, favail, flag, namemax
    blocks = free_bytes // 4096
    return os.statvfs_result((4096, 4096, 10_000, blocks, blocks, 5000, free_inodes,
                              free_inodes, 0, 255))  # fmt: skip


def test_an_io_error_on_a_full_volume_says_the_disk_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_at: list[str] = []

    def statvfs(path: object) -> os.statvfs_result:
        looked_at.append(str(path))
        return _volume(free_bytes=64 * 1024)

    monkeypatch.setattr(os, "statvfs", statvfs)
    job_file = tmp_path / "data" / "acme" / "state.jobs.db"  # its folder never got made

    problem = store_problem(_io_error(job_file))

    assert problem == (
        f"{job_file}: the scheduler cannot use the job file now: disk I/O error; {FULL}"
    )
    assert looked_at == [str(tmp_path)]  # the nearest folder that exists


def test_a_volume_without_free_inodes_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "statvfs", lambda path: _volume(10 << 30, free_inodes=0))

    assert store_problem(_io_error(tmp_path / "state.jobs.db")).endswith(f"; {FULL}")


def test_an_io_error_with_room_on_the_volume_stays_an_io_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "statvfs", lambda path: _volume(10 << 30))

    assert store_problem(_io_error(tmp_path / "state.jobs.db")).endswith(f"; {IO_ERROR}")


def test_an_io_error_whose_message_names_no_file_stays_an_io_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "statvfs", lambda path: _volume(0))
    cause = sqlite3.OperationalError("disk I/O error")
    cause.sqlite_errorcode = SQLITE_IOERR_SHMSIZE
    error = _raised_from(StoreUnavailable("the in-memory job store: disk I/O error"), cause)

    assert store_problem(error).endswith(f"; {IO_ERROR}")


@pytest.fixture
def full_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs of its own (root with CAP_SYS_ADMIN; skipped elsewhere), unmounted after."""
    mount_point = tmp_path / "volume"
    mount_point.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("mount cannot be run here")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace')}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, timeout=10)


def test_a_real_full_volume_under_a_state_file(full_tmpfs: Path) -> None:
    state_db = full_tmpfs / "state.db"
    made = sqlite3.connect(state_db, isolation_level=None)
    made.execute("PRAGMA journal_mode = WAL")
    made.execute("CREATE TABLE t (x)")
    made.close()  # the last connection removes -wal and -shm
    fd = os.open(full_tmpfs / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError):
            while True:
                os.write(fd, bytes(4096))
    finally:
        os.close(fd)
    opened = sqlite3.connect(state_db, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError) as raised:
            opened.execute("SELECT * FROM t").fetchall()  # creates -shm: no room to grow it
    finally:
        opened.close()
    message = f"{state_db}: cannot open the tenant store: {raised.value}"

    problem = store_problem(_raised_from(StoreUnavailable(message), raised.value))

    assert problem == f"{message}; {FULL}"
