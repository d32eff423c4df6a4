"""A failed start told in one line, for both planes' ASGI apps.

Starlette reports a lifespan that failed to start with its traceback, which uvicorn logs (~60
lines, or one JSON line ~1 kB long whose last line is the error). A failure the lifespan could
explain (the control plane's database, the data plane's refused configuration) is appended to
a list the app's lifespan shares; it is reported with that message instead, and the `serve`
commands exit with status 2 (see `startup_problem`) where uvicorn would exit with 3.

Two problems are told before any app is built, by the `serve` commands, in the same one-line
style: invalid settings (`invalid_settings`) and a host the server could not listen on
(`listen_problem`). A data plane's state file that cannot be used at start (damaged, locked by
another process) is told with what to do about it (`store_problem`).
"""

from __future__ import annotations

import errno
import os
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import AliasChoices
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botfleet.domain.errors import StoreError, StoreUnavailable

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

__all__ = [
    "StartupProblemInOneLine",
    "explain_startup_problems",
    "invalid_settings",
    "listen_problem",
    "startup_problem",
    "store_problem",
]


class StartupProblemInOneLine:
    """Rewrites the lifespan's failure message with the last explained problem; other scopes
    pass through."""

    def __init__(self, app: ASGIApp, problems: list[str]) -> None:
        self.app = app
        self.problems = problems

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def explained(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed" and self.problems:
                message = {**message, "message": self.problems[-1]}
            await send(message)

        await self.app(scope, receive, explained)


def explain_startup_problems(app: Starlette, problems: list[str]) -> None:
    """Report the problems the lifespan appends to `problems` in one line (outermost layer:
    add it last), and keep them for `startup_problem`."""
    app.add_middleware(StartupProblemInOneLine, problems=problems)
    app.state.startup_problems = problems


def startup_problem(app: Starlette) -> str | None:
    """Why `app` failed to start, when its lifespan explained it (`explain_startup_problems`);
    else None."""
    problems: list[str] = getattr(app.state, "startup_problems", [])
    return problems[-1] if problems else None


def invalid_settings(title: str, exc: ValidationError, model: type[BaseModel]) -> str:
    """`<title>: <SETTING>: <message>; ...` in one line, for `exc` raised by the settings
    `model`: each error under the variable an operator sets (``CP_PORT``, not ``port``), without
    pydantic's type tag and documentation link, and never the refused value."""
    problems = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        # A validator's ValueError comes as "Value error, <its message>": the prefix is pydantic's.
        message = error["msg"].removeprefix("Value error, ")
        loc = [str(part) for part in error["loc"]]
        if loc:
            loc[0] = _variable(model, loc[0])
        where = ".".join(loc)
        if where and not message.startswith(where):  # ours already start with the setting
            message = f"{where}: {message}"
        problems.append(" ".join(message.split()))
    return f"{title}: {'; '.join(problems)}"


def _variable(model: type[BaseModel], name: str) -> str:
    """The environment variable of `model`'s field `name` (its first alias, else the prefix
    and the name); `name` itself when it is already a variable's name (an alias in `loc`)."""
    field = model.model_fields.get(name)
    if field is None:
        return name
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        alias = next((choice for choice in alias.choices if isinstance(choice, str)), None)
    if isinstance(alias, str):
        return alias
    prefix = str(model.model_config.get("env_prefix", ""))
    return f"{prefix}{name}".upper()


_LISTEN_HINT = (
    "give an address of this machine (127.0.0.1 for this machine only, 0.0.0.0 for all its "
    "interfaces) or a name that resolves to one"
)


def listen_problem(host: str, setting: str) -> str | None:
    """Why a server could not listen on `host` (given by `setting`: ``--host``, ``DP_HOST``...),
    found before it tries: the name does not resolve, or it is not an address of this machine;
    else None. uvicorn would find out after the app started, and exit with 3 after a line that
    names neither the host nor where it came from (``[Errno -2] Name or service not known``).
    Other failures (the port is taken) are left to the server: they may pass."""
    told = f"cannot listen on {host!r} ({setting})"
    try:
        # As asyncio's `create_server` resolves it (an empty host: every interface).
        found = socket.getaddrinfo(
            host or None, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        return f"{told}: the name does not resolve ({exc.strerror or exc}); {_LISTEN_HINT}"
    except UnicodeError:  # a label too long or empty: the name cannot even be looked up
        return f"{told}: it is not a valid host name; {_LISTEN_HINT}"
    for family, kind, proto, _, address in found:
        try:
            sock = socket.socket(family, kind, proto)
        except OSError:
            continue  # a family this machine lacks: asyncio skips it too
        with sock:
            try:
                sock.bind(address)  # port 0: any free one, the real port is not held
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    resolved = "it" if address[0] == host else f"it resolves to {address[0]}, which"
                    return f"{told}: {resolved} is not an address of this machine; {_LISTEN_HINT}"
    return None


#: What to do about a state file, by the SQLite primary result code found under the error.
_FULL_HINT = "the disk is full: free space, then start again"
_LOCKED_HINT = (
    "another process holds the file's lock (a backup, a sqlite3 shell, or a second data plane "
    "of this tenant on a volume without file locks): stop it, then start this one again"
)
_STORE_HINTS = {
    5: _LOCKED_HINT,  # SQLITE_BUSY
    6: _LOCKED_HINT,  # SQLITE_LOCKED
    15: _LOCKED_HINT,  # SQLITE_PROTOCOL: the lock protocol failed under contention
    13: _FULL_HINT,  # SQLITE_FULL
    10: "the file could not be read or written (an I/O error): check the disk",  # SQLITE_IOERR
    14: "the file could not be opened: check the volume and its permissions",  # SQLITE_CANTOPEN
}
_DAMAGED_HINT = (
    "the file is damaged or is not a database: restore it from a backup (docs/operations.md, "
    '"Backups"), or move it aside, with any -wal and -shm file beside it, to start without '
    "what it held"
)
_DAMAGED_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
_UNAVAILABLE_HINT = (
    "it may work later: check that no other process holds it and that the disk has space, "
    "then start again"
)
#: SQLite reports a full volume as SQLITE_FULL only when a plain write fails: growing the -shm
#: file (SQLITE_IOERR_SHMSIZE), an fsync or a truncate fail as a bare "disk I/O error", and
#: creating a -wal file on a volume without free inodes as SQLITE_CANTOPEN. Python does not
#: expose the errno (ENOSPC) underneath, so for these the file's volume is looked at.
_FULL_VOLUME_SUSPECTS = frozenset({10, 14})  # SQLITE_IOERR, SQLITE_CANTOPEN
#: Less free than this on the file's volume is a full disk for a data plane: its start alone
#: writes more (the -shm file's first 32 KiB, WAL pages, the job file).
_NEARLY_FULL_BYTES = 1 << 20
#: The state file's path, with which the stores' and the scheduler's messages begin.
_STATE_FILE = re.compile(r"^(.+?\.db): ")
#: How far down the chain of causes a SQLite error is looked for (the store wraps it once or
#: twice: sqlite3 error, then the port's error, then the scheduler's naming of the file).
_CAUSE_DEPTH = 8


def store_problem(exc: StoreError) -> str:
    """`exc`, met while a data plane opened its state (`state.db`, `state.jobs.db`), in one line
    that starts with the file's path (the stores' messages do) and ends with what to do about
    it: stop the process holding its lock, free disk space, restore a damaged file. The hint
    comes from the SQLite error under `exc` (for an I/O error, also from the space left on the
    file's volume), since the tenant store reports a lock met while it opens as a plain
    `StoreError`; a message that already says how to restore the file (the job file's) gets
    none twice."""
    message = " ".join(str(exc).split())
    code = _sqlite_code(exc)
    if code in _DAMAGED_CODES:
        hint: str | None = None if "restore it from a backup" in message else _DAMAGED_HINT
    elif code in _FULL_VOLUME_SUSPECTS and _volume_is_full(message):
        hint = _FULL_HINT
    elif code is not None and code in _STORE_HINTS:
        hint = _STORE_HINTS[code]
    elif isinstance(exc, StoreUnavailable):
        hint = _UNAVAILABLE_HINT
    else:  # a file from a newer release, an old SQLite: the message says what to do
        hint = None
    return message if hint is None else f"{message}; {hint}"


def _volume_is_full(message: str) -> bool:
    """True when the volume of the state file `message` begins with has (nearly) no space or
    no inodes left; False when it has, or cannot be looked at."""
    found = _STATE_FILE.match(message)
    if found is None:
        return False
    folder = Path(found.group(1)).parent
    while not folder.exists() and folder != folder.parent:  # its folder could not be created
        folder = folder.parent
    try:
        volume = os.statvfs(folder)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return False
    no_inodes = volume.f_files > 0 and volume.f_favail == 0
    return no_inodes or volume.f_bavail * volume.f_frsize < _NEARLY_FULL_BYTES


def _sqlite_code(exc: BaseException) -> int | None:
    """The primary result code of the first SQLite error in `exc`'s chain of causes."""
    seen: BaseException | None = exc
    for _ in range(_CAUSE_DEPTH):
        if seen is None:
            return None
        code = getattr(seen, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF  # extended codes keep the primary one in the low byte
        seen = seen.__cause__ or seen.__context__
    return None
