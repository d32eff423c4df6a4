"""One `botfleet fleet watch` per fleet root: a lock file held for the watcher's life.

Two watchers on one root both restarted the same failed data plane (one of them refused by the
tenant's lock, or both in turn) and each wrote its own restart streaks over the other's in
`run/watch.json`, so neither backed off as it should. The lock is an OS lock (`flock`) on
`run/watch.lock`: released when the process ends however it ends (a SIGKILL too), so a stale
file never blocks the next watcher. The file holds the holder's pid, for the message of the
one refused. The data planes a watcher starts do not inherit it (Python opens files
non-inheritable, and `Popen` closes the others).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


class WatchLockHeld(Exception):
    """Another process holds the fleet's watch lock."""

    def __init__(self, path: Path, holder: int | None) -> None:
        self.path = path
        self.holder = holder
        who = "another process" if holder is None else f"process {holder}"
        super().__init__(f"{who} holds {path}")


def watch_lock_file(root: Path) -> Path:
    """Where the watch lock of the fleet under `root` is."""
    return root / "run" / "watch.lock"


@contextlib.contextmanager
def holding_watch_lock(root: Path) -> Iterator[Path]:
    """Hold the watch lock of the fleet under `root` until the block ends; the lock file.

    Raises:
        WatchLockHeld: another process holds it (naming its pid when the file tells).
    """
    path = watch_lock_file(root)
    try:
        import fcntl  # POSIX; elsewhere there is no lock
    except ImportError:
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WatchLockHeld(path, _holder(fd)) from None
        # Never unlinked: a process that opened the old file would lock it while a third
        # locks a new one under the same name.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)


def _holder(fd: int) -> int | None:
    """The pid the holder wrote (None: not yet written, or the file was edited)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
