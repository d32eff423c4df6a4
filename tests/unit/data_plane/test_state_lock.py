"""`botfleet.data_plane.state_lock`: one holder of a state file's lock at a time, in this process
as across processes; the holder's record only informs the refusal, never decides it; released,
the lock can be taken again and the record no longer names anyone."""

from __future__ import annotations

import errno
import json
import os
import socket
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from botfleet.data_plane import state_lock as state_lock_module
from botfleet.data_plane.state_lock import (
    StateInUse,
    lock_file_beside,
    take_state_lock,
)
from botfleet.domain.errors import ConfigError


def _take(state_db: Path, setting: str = "DP_DATA_DIR") -> state_lock_module.StateLock:
    return take_state_lock(state_db, tenant_id="acme", setting=setting)


def test_the_lock_file_is_named_after_the_state_file() -> None:
    assert lock_file_beside(Path("/srv/data/acme/state.db")) == Path("/srv/data/acme/state.db.lock")
    assert lock_file_beside(Path("/srv/one.sqlite")) == Path("/srv/one.sqlite.lock")


def test_the_holder_records_who_it_is(tmp_path: Path) -> None:
    with _take(tmp_path / "state.db") as held:
        assert held.held
        record = json.loads((tmp_path / "state.db.lock").read_text(encoding="utf-8"))
    assert record["pid"] == os.getpid()
    assert record["host"] == socket.gethostname()
    assert isinstance(record["started"], str)


def test_a_second_take_is_refused_naming_the_folder_tenant_pid_and_remedy(
    tmp_path: Path,
) -> None:
    state_db = tmp_path / "state.db"
    with _take(state_db):
        before = (tmp_path / "state.db.lock").read_bytes()
        with pytest.raises(StateInUse) as refused:
            _take(state_db)
        # The refused take leaves the holder's record as it was.
        assert (tmp_path / "state.db.lock").read_bytes() == before

    assert isinstance(refused.value, ConfigError)  # told by `serve` as a refused setting
    assert refused.value.holder is not None
    assert refused.value.holder["pid"] == os.getpid()
    message = str(refused.value)
    assert message.startswith(
        f"environment: DP_DATA_DIR: the folder {tmp_path} holds the state of tenant 'acme', "
        f"which another data plane is using (pid {os.getpid()} on host {socket.gethostname()}, "
        "started "
    ), message
    assert message.endswith("): stop it, or give this data plane its own DP_DATA_DIR")
    assert "\n" not in message


def test_with_a_state_file_setting_the_file_and_that_setting_are_named(tmp_path: Path) -> None:
    state_db = tmp_path / "acme.db"
    with _take(state_db, "DP_STATE_DB_PATH"), pytest.raises(StateInUse) as refused:
        _take(state_db, "DP_STATE_DB_PATH")
    message = str(refused.value)
    assert message.startswith(f"environment: DP_STATE_DB_PATH: {state_db} holds the state of")
    assert message.endswith("give this data plane its own DP_STATE_DB_PATH")


def test_the_record_is_never_trusted_for_the_decision(tmp_path: Path) -> None:
    state_db = tmp_path / "state.db"
    lock_file = tmp_path / "state.db.lock"
    # A record left by a crashed holder names a live process (this one): not held, so taken.
    lock_file.write_text(json.dumps({"pid": os.getpid(), "host": "x"}), encoding="utf-8")
    with _take(state_db):
        # Held, but its record was overwritten by garbage: still refused, the pid unknown.
        lock_file.write_text("not json", encoding="utf-8")
        with pytest.raises(StateInUse) as refused:
            _take(state_db)
    assert refused.value.holder is None
    assert f"(its pid is not recorded in {lock_file} yet)" in str(refused.value)


def test_released_it_can_be_taken_again_and_names_nobody(tmp_path: Path) -> None:
    state_db = tmp_path / "state.db"
    first = _take(state_db)
    first.release()
    first.release()  # idempotent
    assert not first.held
    assert (tmp_path / "state.db.lock").read_text(encoding="utf-8") == ""
    with _take(state_db) as second:
        assert second.held


def test_a_lock_file_that_cannot_be_opened_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "state.db.lock").mkdir()  # a folder where the file should be
    with pytest.raises(ConfigError) as refused:
        _take(tmp_path / "state.db")
    assert not isinstance(refused.value, StateInUse)
    assert str(refused.value).startswith(
        f"environment: DP_DATA_DIR: cannot open {tmp_path / 'state.db.lock'}: "
    )


def test_a_file_system_without_locks_runs_unlocked_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with capture_logs() as logs, _take(tmp_path / "state.db") as taken:
        assert not taken.held
    assert logs == [
        {
            "event": "state_lock_unsupported",
            "log_level": "warning",
            "path": str(tmp_path / "state.db.lock"),
            "error": "No locks available",
        }
    ]
