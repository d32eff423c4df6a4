"""Owner-only files and folders for a tenant's data, whatever the process's umask.

SQLite creates a database file with mode 0644 less the umask, and systemd and most shells run
with umask 0022: a tenant's `state.db` (its contacts' messages and phone numbers) came out
readable by every user of the host. A file created empty here first, mode 0600, is what SQLite
opens instead (an empty file is an empty database); the `-wal` and `-shm` files SQLite makes
beside it take the database file's mode, so they are owner-only too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = [
    "PRIVATE_FILE",
    "PRIVATE_FOLDER",
    "SQLITE_COMPANIONS",
    "create_private_file",
    "make_private",
    "sqlite_files",
]

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
#: The files SQLite keeps beside a database file `x.db`: `x.db-wal`, `x.db-shm`, `x.db-journal`.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
#: The group's and others' permission bits.
_SHARED = 0o077


def sqlite_files(database: Path) -> list[Path]:
    """`database` and the files SQLite may keep beside it."""
    return [database, *(database.with_name(database.name + end) for end in SQLITE_COMPANIONS)]


def create_private_file(path: Path) -> None:
    """Create `path` empty, mode 0600, unless something is there already.

    Failing to is left to whoever opens the file next (SQLite), which says why in its own
    error; a file that exists is left as it is (`make_private` tightens one).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except OSError:
        return
    try:
        # The umask may have taken bits off the owner's too (umask 0277): exactly 0600.
        os.fchmod(fd, PRIVATE_FILE)
    except OSError:
        pass
    finally:
        os.close(fd)


def make_private(path: Path) -> int | None:
    """Take the group's and others' permissions off `path` (a file or a folder) when it has
    some and belongs to this process's user; the mode it had when it was changed, else None
    (no such path, already private, another user's, or the change refused: a read-only volume
    is no reason not to start)."""
    geteuid = getattr(os, "geteuid", None)
    if geteuid is None:  # pragma: no cover - not POSIX: no such modes
        return None
    # Opened without following a link, and changed through that descriptor: a link planted
    # under one of our names in a shared folder (DP_STATE_DB_PATH in /tmp) must not get
    # another of this user's files changed, nor a swap between a look and a change.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # no such path, a link (ELOOP), or not ours to open
        return None
    try:
        info = os.fstat(fd)
        mode = stat.S_IMODE(info.st_mode)
        if not mode & _SHARED or info.st_uid != geteuid():
            return None
        os.fchmod(fd, mode & ~_SHARED)
    except OSError:
        return None
    finally:
        os.close(fd)
    return mode
