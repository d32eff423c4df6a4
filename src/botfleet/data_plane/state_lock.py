"""One data plane per state file: an exclusive `flock` on `<state file>.lock` beside it.

SQLite keeps the writes of two processes to one file consistent, but not their work: two data
planes on one tenant's state would both run its scheduler (every reminder sent twice), both
replay its pending messages at start, and both checkpoint the write-ahead log. A data plane on
file-backed state takes this lock before it opens anything there, and holds it while it lives.

The lock is the decision; the file's content never is. The holder writes its pid, host and start
time there only so that a refused start can say who holds it. The kernel releases the lock when
its holder exits, killed or crashed too: a stale lock needs no cleaning. The file itself stays
(unlinking it would let a process that opened the old file and one that created a new one both
hold "the" lock).

`flock` locks an open file description, so a second open of the file conflicts in this process
too: two runtimes of one tenant's state in one process are refused as two processes are.
On a network file system, the lock works as well as its locking does.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import structlog

from botfleet.domain.errors import ConfigError

__all__ = ["LOCK_SUFFIX", "StateInUse", "StateLock", "lock_file_beside", "take_state_lock"]

log = structlog.get_logger("botfleet.data_plane.boot")

LOCK_SUFFIX = ".lock"
#: More than a holder ever writes; what is past it is not read.
_MAX_RECORD = 4096


def lock_file_beside(state_db: Path) -> Path:
    """The lock file of a state file: `state.db` -> `state.db.lock`. Named after the file, not
    the folder: `DP_STATE_DB_PATH` may put two tenants' files in one folder."""
    return state_db.with_name(state_db.name + LOCK_SUFFIX)


class StateInUse(ConfigError):
    """Another data plane (another process, or another runtime of this one) holds the lock.

    `holder`: what the lock file says about it (`pid`, `host`, `started`), or None when it says
    nothing readable (its holder may not have written it yet)."""

    def __init__(
        self, *, setting: str, tenant_id: str, state_db: Path, holder: dict[str, object] | None
    ) -> None:
        self.holder = holder
        self.state_db = state_db
        where = f"the folder {state_db.parent}" if setting == "DP_DATA_DIR" else str(state_db)
        detail = (
            f"{where} holds the state of tenant {tenant_id!r}, which another data plane is "
            f"using ({_describe(holder, lock_file_beside(state_db))}): stop it, or give this "
            f"data plane its own {setting}"
        )
        super().__init__("environment", setting, detail)


class StateLock:
    """A held lock on a state file; `release` (or leaving its `with` block) lets it go."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd

    @property
    def held(self) -> bool:
        """False once released, and when the file system could not lock (logged)."""
        return self._fd is not None

    def release(self) -> None:
        """Unlock and close; the record is cleared first, while still held, so the file does
        not name a process that stopped cleanly. Idempotent."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass  # the lock is what counts, and closing releases it
        finally:
            os.close(fd)

    def __enter__(self) -> StateLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def take_state_lock(state_db: Path, *, tenant_id: str, setting: str) -> StateLock:
    """Lock `state_db`'s lock file, without waiting, and record this process in it. The folder
    must exist (`prepare_state_folder`). `setting`: the variable that placed the file
    (`DP_DATA_DIR`, `DP_STATE_DB_PATH`), for the messages.

    Raises:
        StateInUse: another open of the lock file holds it.
        ConfigError: the lock file cannot be opened (another user's file, say).
    """
    path = lock_file_beside(state_db)
    try:
        # No O_TRUNC: a process refused must leave the holder's record as it is. Python's fds
        # are not inherited by children, so none outlives this process holding the lock.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError("environment", setting, f"cannot open {path}: {reason}") from None
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: nothing to lock with
        os.close(fd)
        return StateLock(path, None)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_record(fd)
        os.close(fd)
        raise StateInUse(
            setting=setting, tenant_id=tenant_id, state_db=state_db, holder=holder
        ) from None
    except OSError as exc:
        # A file system without locks (some network or FUSE ones): the data plane runs as it did
        # before there was a lock, and says so.
        os.close(fd)
        log.warning("state_lock_unsupported", path=str(path), error=exc.strerror or str(exc))
        return StateLock(path, None)
    _write_record(fd)
    return StateLock(path, fd)


def _write_record(fd: int) -> None:
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
    except OSError:
        pass  # only a refused start's message is poorer for it


def _read_record(fd: int) -> dict[str, object] | None:
    try:
        record = json.loads(os.pread(fd, _MAX_RECORD, 0))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _describe(holder: dict[str, object] | None, path: Path) -> str:
    if holder is None or not isinstance(holder.get("pid"), int):
        return f"its pid is not recorded in {path} yet"
    said = f"pid {holder['pid']}"
    if isinstance(holder.get("host"), str):
        said += f" on host {holder['host']}"
    if isinstance(holder.get("started"), str):
        said += f", started {holder['started']}"
    return said
