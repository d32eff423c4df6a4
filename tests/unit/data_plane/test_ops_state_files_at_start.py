"""`botfleet serve data-plane` whose `state.db` or `state.jobs.db` cannot be used at start: one
line on stderr naming the file and what to do, and exit status 2, as for a refused
configuration; not uvicorn's traceback and status 3. The operator reads it at the end of the
orchestrator's log, and must know which of the tenant's two files it is."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from botfleet.testing.faults import free_port
from serve_process import hello_tenant, run_to_exit, serve_command

GARBAGE = b"these bytes were never a SQLite database " * 200


def _serve(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`serve data-plane` for the local tenant `acme`, its files under `tmp_path/data/acme`."""
    tenant = hello_tenant(tmp_path)
    command = serve_command("data-plane", "--host", "127.0.0.1", "--port", str(free_port()))
    return run_to_exit(
        [*command, "--tenant-config", str(tenant)],
        cwd=tmp_path,
        env={"DP_DATA_DIR": str(tmp_path / "data")},
        timeout_s=90,
    )


def _the_one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The refusal on stderr, after checking the status and that no traceback was written."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("data plane cannot start: ")
    return line.removeprefix("data plane cannot start: ")


def _tenant_file(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "data" / "acme"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """This process holding `path`'s exclusive lock (a second data plane, a sqlite3 shell)
    until the block ends: nobody else may even read it."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("CREATE TABLE IF NOT EXISTS held (x)")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_state_db_that_is_not_a_database_is_named_with_what_to_do(tmp_path: Path) -> None:
    state_db = _tenant_file(tmp_path, "state.db")
    state_db.write_bytes(GARBAGE)

    line = _the_one_line(_serve(tmp_path))

    assert line == (
        f"{state_db}: cannot open the tenant store: file is not a database; the file is "
        'damaged or is not a database: restore it from a backup (docs/operations.md, "Backups"), '
        "or move it aside, with any -wal and -shm file beside it, to start without what it held"
    )
    assert state_db.read_bytes() == GARBAGE  # left as it was, for the operator
    # and no new log-hash key beside it: a restored state.db keeps the key it came with
    assert not (state_db.parent / "log-hash.key").exists()


def test_a_damaged_job_file_is_named_and_told_once_what_to_do(tmp_path: Path) -> None:
    jobs_db = _tenant_file(tmp_path, "state.jobs.db")
    jobs_db.write_bytes(GARBAGE)

    result = _serve(tmp_path)

    line = _the_one_line(result)
    assert line.startswith(f"{jobs_db}: cannot open the job file: file is not a database; ")
    # The scheduler's own advice (its pending reminders), not ours added after it.
    assert line.count("restore it from a backup") == 1
    assert "standing schedules are registered again" in line
    assert jobs_db.read_bytes() == GARBAGE


@pytest.mark.slow  # the store waits 5 s for the lock before it gives up
def test_a_state_db_locked_by_another_process_says_to_stop_it(tmp_path: Path) -> None:
    state_db = _tenant_file(tmp_path, "state.db")
    with _locked(state_db):
        result = _serve(tmp_path)

    assert _the_one_line(result) == (
        f"{state_db}: cannot open the tenant store: database is locked; another process holds "
        "the file's lock (a backup, a sqlite3 shell, or a second data plane of this tenant on a "
        "volume without file locks): stop it, then start this one again"
    )


@pytest.mark.slow  # the scheduler waits 10 s for the lock before it gives up
def test_a_job_file_locked_by_another_process_says_to_stop_it(tmp_path: Path) -> None:
    jobs_db = _tenant_file(tmp_path, "state.jobs.db")
    with _locked(jobs_db):
        result = _serve(tmp_path)

    assert _the_one_line(result) == (
        f"{jobs_db}: the scheduler cannot use the job file now: database is locked; another "
        "process holds the file's lock (a backup, a sqlite3 shell, or a second data plane of "
        "this tenant on a volume without file locks): stop it, then start this one again"
    )
