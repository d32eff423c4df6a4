"""Process-table helpers of the local orchestrator (POSIX): alive, ours, stop, free ports."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

#: Every data plane the local back end starts runs this module.
COMMAND_MARK = "botfleet.cli.main"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """Nobody listens on `port` of `host`: a data plane could bind it (as uvicorn binds, with
    ``SO_REUSEADDR``, so a port a stopped process left in TIME_WAIT counts as free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


#: Hosts that mean every interface: a socket bound there takes the port on all of them.
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


def _canonical_host(host: str) -> str:
    host = host.strip("[]").lower()
    if host == "localhost":
        return "127.0.0.1"
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:  # a name: compared as written
        return host


def hosts_overlap(host: str, other: str) -> bool:
    """Two listeners on one port of these hosts would collide: the same address, or one of
    them every interface (``127.0.0.1`` and ``127.0.0.2`` do not)."""
    first, second = _canonical_host(host), _canonical_host(other)
    return first == second or first in WILDCARD_HOSTS or second in WILDCARD_HOSTS


def _proc_entry(pid: int, name: str) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return None


def _stat_fields(pid: int) -> list[bytes] | None:
    """/proc's stat fields after the command's ")" (which may hold spaces and parentheses):
    state, ppid, pgrp, ..."""
    stat = _proc_entry(pid, "stat")
    return None if stat is None else stat.rsplit(b")", 1)[-1].split()


def _pids() -> list[int]:
    """Every process in /proc; [] where there is no /proc."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    return [int(entry) for entry in entries if entry.isdigit()]


def is_alive(pid: int, cwd: Path | None = None) -> bool:
    """The process exists and is not a zombie (and, where /proc tells, runs a data plane, in
    the folder `cwd` when given)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: the pid was reused
        return False
    fields = _stat_fields(pid)
    if fields is not None and fields[:1] == [b"Z"]:
        return False
    cmdline = _proc_entry(pid, "cmdline")
    # A recycled pid running something else is not our data plane. An empty command line
    # tells nothing: a process right after `exec`, or exiting, shows none for a moment.
    if cmdline and not runs_data_plane(cmdline):
        return False
    # Nor another tenant's: after a reboot a stale pid file may name a data plane started since
    # for another tenant, and `stop` would kill that one. Each runs in its tenant's folder.
    return cwd is None or _cwd_of(pid) in (None, cwd.resolve())


#: What follows `COMMAND_MARK` in a data plane's command line.
_SERVE_DATA_PLANE = (b"serve", b"data-plane")


def runs_data_plane(cmdline: bytes) -> bool:
    """Whether a command line (/proc's, NUL-separated) is a data plane's: ``-m
    botfleet.cli.main serve data-plane``, as this back end starts one and one is started by
    hand. One that only names the module is not: an operator's ``python -m botfleet.cli.main
    fleet stop`` (or the ``uv run`` above it) run from the tenant's folder, a ``grep`` or an
    editor there; `stop` would signal them."""
    args = cmdline.split(b"\0")
    mark = COMMAND_MARK.encode()
    return any(
        args[i - 1] == b"-m" and tuple(args[i + 1 : i + 3]) == _SERVE_DATA_PLANE
        for i in range(1, len(args))
        if args[i] == mark
    )


def running_in(folder: Path) -> list[int]:
    """The data planes (`runs_data_plane`) whose working folder is `folder`, from /proc; [] where
    there is no /proc. Each tenant's data plane runs in its own folder, so this finds it even
    when its pid file is gone or names another process."""
    folder = folder.resolve()
    return sorted(
        pid
        for pid in _pids()
        if pid != os.getpid() and _cwd_of(pid) == folder and is_alive(pid, folder)
    )


def _cwd_of(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


#: How `terminate` ended: the process exited on SIGTERM, on SIGKILL, or is still there.
Outcome = Literal["stopped", "killed", "survived"]


async def terminate(
    pid: int, alive: Callable[[], bool], *, timeout_s: float, kill_wait_s: float
) -> Outcome:
    """SIGTERM the process `pid` and the group it leads, SIGKILL after `timeout_s`; return once
    none of them runs, or `kill_wait_s` after the SIGKILL (``survived``: still there).

    `alive` tells whether `pid` still runs (a child's ``Popen.poll``, which also reaps it). The
    rest of its group is waited for too: a process it started may hold its port or files.
    """

    # Asked once, while `pid` is known to be the data plane: a process that leads no group
    # (one started by hand in the tenant's folder, found through /proc) is signalled alone, as
    # killpg would miss it. Its pid is free again the moment it exits, so asking again later
    # could find it reused by someone else's group leader, and kill that group.
    leads = _leads_group(pid)

    def running() -> bool:
        return alive() or (leads and bool(group_members(pid)))

    _signal(pid, signal.SIGTERM, group=leads)
    if await _until_ended(running, timeout_s):
        return "stopped"
    # A leader's pid is not reused while its group has members: the group is still ours.
    _signal(pid, signal.SIGKILL, group=leads)
    return "killed" if await _until_ended(running, kill_wait_s) else "survived"


def _leads_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except (ProcessLookupError, PermissionError):
        return False


def _signal(pid: int, number: int, *, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, number)
        else:
            os.kill(pid, number)


async def _until_ended(running: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while running():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def group_members(pgid: int) -> list[int]:
    """The processes of group `pgid` that have not exited (zombies left out), from /proc; []
    where there is no /proc."""
    group = str(pgid).encode()
    members = []
    for pid in _pids():
        fields = _stat_fields(pid)
        if fields and len(fields) > 2 and fields[2] == group and fields[0] not in (b"Z", b"X"):
            members.append(pid)
    return sorted(members)


async def wait_port_free(host: str, port: int, timeout_s: float) -> bool:
    """Wait until `port_is_free`, at most `timeout_s`; whether it is. The last thread of an
    exited process may close its sockets a moment after /proc shows the process gone."""
    return await _until_ended(lambda: not port_is_free(host, port), timeout_s)


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file ('' when there is none)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(handle.tell() - 16_384, 0))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
