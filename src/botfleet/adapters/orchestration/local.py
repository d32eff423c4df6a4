"""Local orchestrator: one data-plane process per tenant, each with its own port and folder.

    <root>/<tenant>/data/         DP_DATA_DIR: state.db, jobs, log-hash.key, boot-cache.json (0700)
    <root>/<tenant>/launch.json   how it was started (0600: holds the boot token)
    <root>/<tenant>/port.json     its port, kept when it is deleted with its data: a later
                                  start without a port gets it back if it is free
    <root>/run/<tenant>.pid       the process id (it leads its own process group)
    <root>/run/<tenant>.lock      held while a start, stop or restart of the tenant runs
    <root>/run/<tenant>.exit      how its last process ended (exit status or signal), written
                                  by the process whose child it was (`fleet watch`, a `fleet
                                  start` waiting for it)
    <root>/logs/<tenant>.log      stdout and stderr (JSON log lines)

A tenant's process gets only its own settings: the environment is built from a short list of
system variables plus the spec, so neither another tenant's variables nor the control plane's
keys ever reach it, and it runs in its own folder. That folder also identifies it: a data plane
running there is the tenant's even when its pid file is gone or names another process (found
through /proc), so a start never spawns a second one on the same state.db.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from botfleet.adapters.orchestration._exit_reason import exit_words, start_refusal
from botfleet.adapters.orchestration._processes import (
    free_port,
    hosts_overlap,
    is_alive,
    port_is_free,
    running_in,
    tail,
    terminate,
    wait_port_free,
)
from botfleet.adapters.orchestration.errors import OrchestrationError
from botfleet.domain.tenant_ids import local_tenant_id_problem
from botfleet.ports.orchestration import (
    RESERVED_FOLDERS,
    DataPlaneHealth,
    DataPlaneSpec,
    DataPlaneStatus,
)

#: System variables a data plane may inherit; everything else comes from its spec.
INHERITED_ENV = (
    "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV",
    "SYSTEMROOT", "COVERAGE_PROCESS_START",
)  # fmt: skip


def data_plane_env(spec: DataPlaneSpec, *, port: int, data_dir: Path) -> dict[str, str]:
    """The variables a tenant's data plane process runs with (its spec, nothing else)."""
    env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
    values: dict[str, str | None] = {
        "DP_TENANT_ID": spec.tenant_id,
        "DP_DATA_DIR": str(data_dir),
        "DP_PORT": str(port),
        "DP_CONTROL_PLANE_URL": spec.control_plane_url,
        "DP_BOOT_TOKEN": spec.boot_token,
        "DP_TENANT_CONFIG_PATH": spec.tenant_config_path,
        "DP_CACHE_KEY": spec.cache_key,
        "DP_INTERNAL_TOKEN": spec.internal_token,
        "DP_CONFIG_POLL_S": None if spec.config_poll_s is None else str(spec.config_poll_s),
    }
    env.update({"DP_LOG_JSON": "true", "PYTHONUNBUFFERED": "1"})
    env.update(spec.env)  # extra settings, which may change the two defaults above
    # The spec's own fields win over `env`: one naming them (saved by an earlier start) must
    # not keep an old boot or internal token after `fleet start --boot-token-file NEW`.
    env.update({name: value for name, value in values.items() if value is not None})
    return env


def tenant_id_problem(tenant_id: str) -> str | None:
    """Why `tenant_id` cannot name a tenant's folder here, or None."""
    if local_tenant_id_problem(tenant_id) is not None:
        return "not a valid tenant id for a folder name"
    if tenant_id in RESERVED_FOLDERS:
        # Its folder would be the orchestrator's own: deleting it would take every tenant's pid
        # and lock files (or logs) with it.
        return (
            f"{tenant_id!r} names one of the fleet's own folders "
            f"({', '.join(RESERVED_FOLDERS)}): give the tenant another id"
        )
    return None


class LocalOrchestrator:
    """Implements `Orchestrator` with child processes on this machine.

    Args:
        root: where tenants' folders, pid files and logs go (``var/fleet``).
        host: interface the data planes listen on.
        python: the interpreter that runs them (this one by default).
        stop_timeout_s: grace period after SIGTERM before SIGKILL (a data plane finishes the
            turns under way on SIGTERM).
        release_timeout_s: how long a stop waits, after SIGKILL, for the process to be gone,
            and then for its port to be free.
        health_timeout_s: timeout of each ``GET /health``.
        lock_timeout_s: how long a start, stop or restart waits for another process's one of
            the same tenant (default: the grace period, twice the release timeout and 30 s: a stop
            and a start).

    A start, stop or restart of one tenant waits for another one of the same tenant to finish
    (in this process and in others on the same root: a lock file), so two overlapping calls
    never spawn two processes for a tenant.
    """

    def __init__(
        self,
        root: Path = Path("var/fleet"),
        *,
        host: str = "127.0.0.1",
        python: str = sys.executable,
        stop_timeout_s: float = 15.0,
        release_timeout_s: float = 5.0,
        health_timeout_s: float = 2.0,
        lock_timeout_s: float | None = None,
    ) -> None:
        self.root = root.resolve()
        self.host = host
        self.python = python
        self.stop_timeout_s = stop_timeout_s
        self.release_timeout_s = release_timeout_s
        self.health_timeout_s = health_timeout_s
        if lock_timeout_s is None:
            lock_timeout_s = stop_timeout_s + 2 * release_timeout_s + 30.0
        self.lock_timeout_s = lock_timeout_s
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # ---------------------------------------------------------------- paths

    def tenant_dir(self, tenant_id: str) -> Path:
        problem = tenant_id_problem(tenant_id)
        if problem is not None:
            raise OrchestrationError(tenant_id, problem)
        return self.root / tenant_id

    def data_dir(self, tenant_id: str) -> Path:
        return self.tenant_dir(tenant_id) / "data"

    def pid_file(self, tenant_id: str) -> Path:
        return self.root / "run" / f"{self.tenant_dir(tenant_id).name}.pid"

    def log_file(self, tenant_id: str) -> Path:
        return self.root / "logs" / f"{self.tenant_dir(tenant_id).name}.log"

    def _launch_file(self, tenant_id: str) -> Path:
        return self.tenant_dir(tenant_id) / "launch.json"

    def _port_file(self, tenant_id: str) -> Path:
        return self.tenant_dir(tenant_id) / "port.json"

    def _exit_file(self, tenant_id: str) -> Path:
        return self.root / "run" / f"{self.tenant_dir(tenant_id).name}.exit"

    def last_start(self, tenant_id: str) -> tuple[DataPlaneSpec, str] | None:
        """The spec and the host of the tenant's last start here (its launch record, secrets
        included), or None: never started, deleted, or a record that cannot be read."""
        launch = self._read_launch(tenant_id)
        if launch is None:
            return None
        try:
            spec = DataPlaneSpec(**{**launch["spec"], "env": dict(launch["spec"]["env"])})
        except (KeyError, TypeError, ValueError):  # edited or damaged by hand
            return None
        return spec, self._host_of(launch)

    # ---------------------------------------------------------------- Orchestrator

    async def start(self, spec: DataPlaneSpec) -> DataPlaneStatus:
        async with self._exclusive(spec.tenant_id):
            return await self._start(spec)

    async def stop(self, tenant_id: str) -> DataPlaneStatus:
        async with self._exclusive(tenant_id):
            return await self._stop(tenant_id)

    async def restart(self, tenant_id: str) -> DataPlaneStatus:
        async with self._exclusive(tenant_id):
            return await self._restart(tenant_id)

    async def restart_failed(self, tenant_id: str) -> DataPlaneStatus | None:
        """Restart the tenant's data plane if it is `failed` (it exited on its own); None when
        it is not, checked under the tenant's lock: a watcher that saw it exit while a `stop`
        was under way must not start again what the operator stopped."""
        async with self._exclusive(tenant_id):
            if self._status(tenant_id, with_log=False)[0].state != "failed":
                return None
            return await self._restart(tenant_id)

    async def delete(self, tenant_id: str, *, keep_data: bool = True) -> DataPlaneStatus:
        """Stop the tenant's data plane and forget it: its launch record (which holds the boot
        token and the cache key) and pid file go, so `restart` no longer knows it. Its data
        folder (state, jobs, cached configuration) stays unless `keep_data=False`, which also
        removes its log; a later `start` of the tenant runs on what was kept, and without a
        port gets its old one back if it is free (kept in a record without secrets)."""
        async with self._exclusive(tenant_id):
            stopped = await self._stop(tenant_id)
            if stopped.state == "unknown" and not self.tenant_dir(tenant_id).exists():
                return stopped
            launch = self._read_launch(tenant_id)
            if keep_data and launch is not None:
                # Whoever was told its URL (the control plane's data_plane_url, a proxy) still
                # uses it when the tenant comes back.
                port_record = {"port": int(launch["port"]), "host": self._host_of(launch)}
                _write_private(self._port_file(tenant_id), json.dumps(port_record))
            self._launch_file(tenant_id).unlink(missing_ok=True)
            if keep_data:
                detail = f"deleted; its data stays in {self.data_dir(tenant_id)}"
            else:
                shutil.rmtree(self.tenant_dir(tenant_id), ignore_errors=True)
                self.log_file(tenant_id).unlink(missing_ok=True)
                detail = "deleted with its data"
            return DataPlaneStatus(tenant_id, "unknown", None, None, detail)

    async def _start(self, spec: DataPlaneSpec) -> DataPlaneStatus:
        tenant_id = spec.tenant_id
        previous = self._read_launch(tenant_id)
        if previous is not None and "host" not in previous:  # recorded before hosts were
            previous = {**previous, "host": self.host}
        port, note = await self._port_to_start_on(spec, previous)
        launch = _launch_record(spec, port, self.host)
        await self._refuse_taken_port(tenant_id, port)
        status, _ = self._status(tenant_id, with_log=False)  # a failed one is started again
        if status.state == "running":
            if previous == launch:
                if status.pid is not None and status.pid != self._read_pid(tenant_id):
                    self._write_pid(tenant_id, status.pid)  # adopt it: stop() finds it again
                    status = dataclasses.replace(status, detail="")
                return status
            if previous is not None and int(previous["port"]) != port:
                # Moving to another port: make sure it is free before stopping this one.
                await self._refuse_busy_port(tenant_id, port)
            await self._stop(tenant_id)
        else:
            await self._refuse_busy_port(tenant_id, port)
        return dataclasses.replace(self._spawn(tenant_id, launch), detail=note)

    async def _port_to_start_on(
        self, spec: DataPlaneSpec, previous: dict[str, Any] | None
    ) -> tuple[int, str]:
        """The spec's port, else the one of its last start, else the one it had when it was
        deleted with its data kept if that one is free, else a free one; and a note when the
        tenant does not get its old port back."""
        if spec.port:
            return spec.port, ""
        if previous is not None:
            return int(previous["port"]), ""
        kept = self._read_kept_port(spec.tenant_id)
        if kept is None:
            return free_port(self.host), ""
        taken_by = await self._taken_by(spec.tenant_id, self.host, kept)
        if taken_by is None and port_is_free(self.host, kept):
            return kept, ""
        port = free_port(self.host)
        holder = "another program" if taken_by is None else _data_plane_of(taken_by[0])
        note = (
            f"its port before it was deleted, {kept}, is in use by {holder}: it listens on "
            f"port {port} now (tell whoever used the old URL)"
        )
        return port, note

    def _read_kept_port(self, tenant_id: str) -> int | None:
        try:
            record = json.loads(self._port_file(tenant_id).read_text("utf-8"))
            port = record["port"]
        except (OSError, ValueError, KeyError, TypeError):  # none, or unreadable: a free one
            return None
        # An edited or damaged record: 0 would start on a port nobody is told, and a number
        # past 65535 fails the bind with OverflowError, not the OSError of a taken port.
        valid = type(port) is int and 0 < port <= 65535
        return port if valid else None

    async def _stop(self, tenant_id: str) -> DataPlaneStatus:
        """Stop the tenant's data planes; return once they have exited and their port is free
        (a start on it right after must not find it taken), or raise naming the survivor."""
        pids = self._running_pids(tenant_id)
        launch = self._read_launch(tenant_id)
        if not pids and self._read_pid(tenant_id) is None and launch is None:
            detail = f"{self._forgotten(tenant_id)}: nothing to stop"
            return DataPlaneStatus(tenant_id, "unknown", self._url(tenant_id), None, detail)
        detail = "was not running"
        for pid in pids:
            alive = functools.partial(self._alive, pid, tenant_id)
            outcome = await terminate(
                pid, alive, timeout_s=self.stop_timeout_s, kill_wait_s=self.release_timeout_s
            )
            if outcome == "survived":  # its pid file stays: status goes on saying it runs
                held = f"port {launch['port']}" if launch else "its port"
                raise OrchestrationError(
                    tenant_id,
                    f"process {pid} still runs {self.stop_timeout_s:g} s after SIGTERM and "
                    f"{self.release_timeout_s:g} s after SIGKILL (stuck in the kernel: ps -o "
                    f"pid,stat,wchan -p {pid}), and holds {held} until it exits: stop again later",
                )
            detail = "killed after the grace period" if outcome == "killed" else "stopped"
            self._children.pop(pid, None)
        self.pid_file(tenant_id).unlink(missing_ok=True)
        self._exit_file(tenant_id).unlink(missing_ok=True)
        if pids and launch is not None:
            host, port = self._host_of(launch), int(launch["port"])
            if not await wait_port_free(host, port, self.release_timeout_s):
                detail += (
                    f"; port {port} on {host} is still in use, by another program since the data "
                    "plane exited"
                )
        return DataPlaneStatus(tenant_id, "stopped", self._url(tenant_id), None, detail)

    def _forgotten(self, tenant_id: str) -> str:
        """Why the tenant has no launch record here: never started, or deleted with its data
        kept (whose folder remains)."""
        if self.data_dir(tenant_id).is_dir():
            return f"deleted here (its data stays in {self.data_dir(tenant_id)})"
        return "never started here"

    async def _restart(self, tenant_id: str) -> DataPlaneStatus:
        launch = self._read_launch(tenant_id)
        if launch is None:
            raise OrchestrationError(
                tenant_id, f"{self._forgotten(tenant_id)}: nothing to restart (start it instead)"
            )
        host = self._host_of(launch)
        if host != self.host:
            # Restarted from here it would move to this orchestrator's interface.
            raise OrchestrationError(
                tenant_id,
                f"it was started on {host}, and this orchestrator listens on {self.host}: "
                f"restart it with the same host (botfleet fleet restart --host {host}), or "
                "start it again to move it",
            )
        port = int(launch["port"])
        await self._refuse_taken_port(tenant_id, port)
        # Only the state: a failed one's log was read by whoever asked for this restart.
        if self._status(tenant_id, with_log=False)[0].state != "running":  # else it holds it
            await self._refuse_busy_port(tenant_id, port)
        await self._stop(tenant_id)
        return self._spawn(tenant_id, launch)

    async def status(self, tenant_id: str) -> DataPlaneStatus:
        return self._status(tenant_id, with_log=True)[0]

    async def status_and_refusal(self, tenant_id: str) -> tuple[DataPlaneStatus, str | None]:
        """`status`, and the line with which a `failed` data plane refused to start
        (`start_refusal`), from one read of its log: `fleet watch` needs both every check."""
        return self._status(tenant_id, with_log=True)

    def start_refusal(self, tenant_id: str) -> str | None:
        """The line with which the tenant's data plane refused to start (exit status 2: a bad
        configuration, its state file unusable), when its log ends with it; else None."""
        return start_refusal(tail(self.log_file(tenant_id)))

    def _status(self, tenant_id: str, *, with_log: bool) -> tuple[DataPlaneStatus, str | None]:
        """The status, and a failed one's start-up refusal; without `with_log` a failed one's
        detail is only how it ended (callers that only look at the state do not read the log)."""
        url = self._url(tenant_id)
        pid = self._read_pid(tenant_id)
        if pid is not None and self._alive(pid, tenant_id):
            return DataPlaneStatus(tenant_id, "running", url, pid), None
        # The pid file is gone or names another process, yet a data plane may run in the
        # tenant's folder (the pid file deleted, or this process died before writing it).
        strays = running_in(self.tenant_dir(tenant_id))
        if strays:
            named = "is missing" if pid is None else f"names process {pid}, which is not it"
            detail = (
                f"process {strays[0]} runs in the tenant's folder, but its pid file "
                f"{self.pid_file(tenant_id)} "
                f"{named}; the next start with the same spec adopts it, stop ends it"
            )
            return DataPlaneStatus(tenant_id, "running", url, strays[0], detail), None
        if pid is None:
            if self._read_launch(tenant_id) is not None:
                return DataPlaneStatus(tenant_id, "stopped", url), None
            forgotten = self._forgotten(tenant_id)
            detail = "" if forgotten == "never started here" else forgotten
            return DataPlaneStatus(tenant_id, "unknown", url, None, detail), None
        ended = exit_words(self._returncode(tenant_id, pid))
        if not with_log:
            return DataPlaneStatus(tenant_id, "failed", url, None, f"process {pid} {ended}"), None
        log_tail = tail(self.log_file(tenant_id))
        refusal = start_refusal(log_tail)
        why = f" ({refusal})" if refusal else ""
        detail = f"process {pid} {ended}{why}; end of {self.log_file(tenant_id)}:\n{log_tail}"
        return DataPlaneStatus(tenant_id, "failed", url, None, detail), refusal

    def _returncode(self, tenant_id: str, pid: int) -> int | None:
        """How the tenant's exited process `pid` ended (`Popen.returncode`), if known: this
        process's own child (then kept in the tenant's exit record, for the `status` of other
        processes), or that record; None when its parent was another process (a `fleet start`
        that has exited: init reaped it, and the exit status went with it)."""
        child = self._children.get(pid)
        if child is not None and child.returncode is not None:
            record = json.dumps({"pid": pid, "returncode": child.returncode})
            with contextlib.suppress(OSError):  # not kept (a full disk): still told here
                _write_private(self._exit_file(tenant_id), record)
                del self._children[pid]  # reaped and recorded: a long watch keeps no dead ones
            return child.returncode
        try:
            kept = json.loads(self._exit_file(tenant_id).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(kept, dict) or kept.get("pid") != pid:  # an earlier process's
            return None
        returncode = kept.get("returncode")
        return returncode if type(returncode) is int else None

    async def health(self, tenant_id: str) -> DataPlaneHealth:
        url = self._url(tenant_id)
        if url is None:
            return DataPlaneHealth(tenant_id, False, detail="never started here")
        try:
            async with httpx.AsyncClient(timeout=self.health_timeout_s) as http:
                response = await http.get(f"{url}/health")
        except httpx.HTTPError as exc:
            return DataPlaneHealth(tenant_id, False, detail=f"{type(exc).__name__} on {url}")
        try:
            body = response.json()
        except ValueError:
            body = None
        healthy = response.status_code == 200 and isinstance(body, dict)
        detail = "ok" if healthy else f"HTTP {response.status_code}"
        answered_as = body.get("tenant_id", tenant_id) if isinstance(body, dict) else tenant_id
        if answered_as != tenant_id:
            # Another tenant's data plane took the port while this one was down: its 200 must
            # not pass for this tenant being up.
            healthy = False
            detail = f"{url} answers as tenant {answered_as!r}: its data plane holds the port"
        return DataPlaneHealth(tenant_id, healthy, body if isinstance(body, dict) else None, detail)

    # ---------------------------------------------------------------- internals

    @contextlib.asynccontextmanager
    async def _exclusive(self, tenant_id: str) -> AsyncIterator[None]:
        """Hold the tenant's lock: an `asyncio.Lock` for this process, then its lock file
        (`flock`, released when the file is closed, also by a crash) for other processes."""
        lock_file = self.root / "run" / f"{self.tenant_dir(tenant_id).name}.lock"
        async with self._locks.setdefault(tenant_id, asyncio.Lock()):
            lock_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                await self._lock_file(tenant_id, fd, lock_file)
                yield
            finally:
                os.close(fd)

    async def _lock_file(self, tenant_id: str, fd: int, path: Path) -> None:
        try:
            import fcntl  # POSIX; elsewhere the process's own lock is all there is
        except ImportError:
            return
        deadline = time.monotonic() + self.lock_timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OrchestrationError(
                        tenant_id,
                        f"another process's start, stop or restart of this tenant has not "
                        f"finished (it holds {path})",
                    ) from None
                await asyncio.sleep(0.05)

    async def _refuse_taken_port(self, tenant_id: str, port: int) -> None:
        """Raise if another tenant's data plane runs on `port` of this orchestrator's host: the
        new process could not bind it, and until it exited, health checks on the port would get
        the other tenant's answer."""
        taken_by = await self._taken_by(tenant_id, self.host, port)
        if taken_by is not None:
            other, other_host = taken_by
            raise OrchestrationError(
                tenant_id,
                f"port {port} on {other_host} is in use by {_data_plane_of(other)}: "
                "give this tenant another port, or stop that one first",
            )

    async def _taken_by(self, tenant_id: str, host: str, port: int) -> tuple[str, str] | None:
        """Another tenant of this root whose data plane runs on `port` of a host that overlaps
        `host` (the same one, or every interface), and its host; None if there is none."""
        for launch_file in sorted(self.root.glob("*/launch.json")):
            other = launch_file.parent.name
            if other == tenant_id or local_tenant_id_problem(other) is not None:
                continue
            launch = self._read_launch(other)
            if launch is None or int(launch["port"]) != port:
                continue
            other_host = self._host_of(launch)
            if not hosts_overlap(host, other_host):
                continue
            if self._status(other, with_log=False)[0].state == "running":
                return other, other_host
        return None

    async def _refuse_busy_port(self, tenant_id: str, port: int) -> None:
        """Raise if anything listens on `port` (not called for the port the tenant's own running
        data plane holds): the process about to be spawned could not bind it, and would run its
        start-up (boot pull, recovery of its state, scheduler) before exiting. Checked before a
        running data plane is stopped, so a refused start leaves it serving."""
        if port_is_free(self.host, port):
            return
        answered_as = await self._answered_as(port)
        if answered_as == tenant_id:
            raise OrchestrationError(
                tenant_id,
                f"a data plane of this tenant that this orchestrator did not start ({self.root}) "
                f"already listens on port {port} (started by hand, or from another folder): "
                "stop it first; two data planes of one tenant must not run at once",
            )
        holder = (
            f"{_data_plane_of(answered_as)} (not one of {self.root})"
            if answered_as
            else "another program"
        )
        raise OrchestrationError(
            tenant_id,
            f"port {port} on {self.host} is in use by {holder}: free it, or give this tenant "
            "another port (nothing was stopped or started)",
        )

    async def _answered_as(self, port: int) -> str | None:
        """The tenant a data plane on `port` says it runs (its /health), if it answers so."""
        try:
            async with httpx.AsyncClient(timeout=self.health_timeout_s) as http:
                body = (await http.get(f"http://{self._connect_host()}:{port}/health")).json()
        except (httpx.HTTPError, ValueError):
            return None
        tenant = body.get("tenant_id") if isinstance(body, dict) else None
        return tenant if isinstance(tenant, str) else None

    def _running_pids(self, tenant_id: str) -> list[int]:
        """The tenant's data planes that run: the pid file's, and any other in its folder."""
        pid = self._read_pid(tenant_id)
        pids = [pid] if pid is not None and self._alive(pid, tenant_id) else []
        return pids + [p for p in running_in(self.tenant_dir(tenant_id)) if p not in pids]

    def _write_pid(self, tenant_id: str, pid: int) -> None:
        self.pid_file(tenant_id).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.pid_file(tenant_id).write_text(f"{pid}\n", encoding="utf-8")

    def _spawn(self, tenant_id: str, launch: dict[str, Any]) -> DataPlaneStatus:
        spec = DataPlaneSpec(**{**launch["spec"], "env": dict(launch["spec"]["env"])})
        port = int(launch["port"])
        folder, data = self.tenant_dir(tenant_id), self.data_dir(tenant_id)
        for path in (
            folder,
            data,
            self.pid_file(tenant_id).parent,
            self.log_file(tenant_id).parent,
        ):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.chmod(0o700)
        data.chmod(0o700)
        _write_private(self._launch_file(tenant_id), json.dumps(launch, indent=1, sort_keys=True))
        self._port_file(tenant_id).unlink(missing_ok=True)  # launch.json holds the port now
        command = [self.python, "-m", "botfleet.cli.main", "serve", "data-plane"]
        command += ["--host", self.host, "--port", str(port)]
        with self.log_file(tenant_id).open("ab") as log:
            try:
                process = subprocess.Popen(
                    command,
                    cwd=folder,
                    env=data_plane_env(spec, port=port, data_dir=data),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own group: stop() signals it and its children
                )
            except OSError as exc:  # a bare FileNotFoundError would not say whose start failed
                raise OrchestrationError(
                    tenant_id, f"could not run {self.python!r}: {exc.strerror or exc}"
                ) from exc
        self._children[process.pid] = process
        self._write_pid(tenant_id, process.pid)
        self._exit_file(tenant_id).unlink(missing_ok=True)  # an earlier process's end
        return DataPlaneStatus(tenant_id, "starting", self._url(tenant_id), process.pid)

    def _alive(self, pid: int, tenant_id: str) -> bool:
        child = self._children.get(pid)
        if child is not None:
            return child.poll() is None
        return is_alive(pid, self.tenant_dir(tenant_id))

    def _read_pid(self, tenant_id: str) -> int | None:
        try:
            text = self.pid_file(tenant_id).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def _read_launch(self, tenant_id: str) -> dict[str, Any] | None:
        try:
            launch: dict[str, Any] = json.loads(self._launch_file(tenant_id).read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return launch

    def _url(self, tenant_id: str) -> str | None:
        launch = self._read_launch(tenant_id)
        if launch is None:
            return None
        # Where it was started, whatever this orchestrator's host: `status` of a fleet whose
        # tenants listen on several interfaces shows each one's real URL and health.
        return f"http://{self._connect_host(self._host_of(launch))}:{launch['port']}"

    def _host_of(self, launch: dict[str, Any]) -> str:
        # Launch records written before hosts were recorded started on this orchestrator's.
        return str(launch.get("host", self.host))

    def _connect_host(self, host: str | None = None) -> str:
        host = self.host if host is None else host
        if host in ("0.0.0.0", ""):  # every interface: reached on the loopback one
            return "127.0.0.1"
        if host == "::":
            return "[::1]"
        return f"[{host}]" if ":" in host else host


def _data_plane_of(tenant_id: str) -> str:
    return f"the data plane of tenant {tenant_id!r}"


def _launch_record(spec: DataPlaneSpec, port: int, host: str) -> dict[str, Any]:
    fields = dataclasses.asdict(spec)
    fields["env"] = dict(spec.env)
    if spec.tenant_config_path:  # the process runs in its own folder
        fields["tenant_config_path"] = str(Path(spec.tenant_config_path).resolve())
    return {"spec": fields, "port": port, "host": host}


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o600)
