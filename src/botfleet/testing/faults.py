"""Fault-test helpers: real server processes on free ports, captured logs, secret grepping.

plane = start_process([sys.executable, "-m", "botfleet.cli.main", "serve", "data-plane",
                       "--port", str(port)], url=f"http://127.0.0.1:{port}",
                      log=tmp_path / "dp.log", env=env)
plane.wait_for_line("sleeping before book_appointment")
plane.kill()                                   # SIGKILL to its group: no shutdown code runs

with capture_all_logs() as logs:               # structlog and stdlib logging, rendered
    ...
assert_no_secrets({"logs": logs.text(), "body": response.text}, SECRETS)
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from botfleet.ports.connectors import Connector

__all__ = [
    "CapturedLogs",
    "HangingConnector",
    "ServerProcess",
    "TcpProxy",
    "assert_no_secrets",
    "capture_all_logs",
    "find_secrets",
    "free_port",
    "isolated_env",
    "read_text",
    "start_control_plane",
    "start_data_plane",
    "start_process",
    "whatsapp_signed",
    "whatsapp_text_delivery",
]

#: System variables a test server inherits; the rest of its environment is what the test gives.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
START_TIMEOUT_S = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def isolated_env(**variables: str) -> dict[str, str]:
    """A few system variables plus `variables`: no `.env`-style leftovers from the caller."""
    env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(variables)
    return env


@dataclass
class ServerProcess:
    """A server started by `start_process`: its process, base URL and log file."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    _http: httpx.Client | None = field(default=None, repr=False)

    @property
    def http(self) -> httpx.Client:
        """A client on the server's base URL (closed by `kill`/`stop`)."""
        if self._http is None:
            self._http = httpx.Client(base_url=self.url, timeout=30.0)
        return self._http

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        """Everything the process printed so far (stdout and stderr)."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for_line(self, needle: str, timeout_s: float = 20.0) -> None:
        """Wait until `needle` appears in the output.

        Raises:
            AssertionError: the process exited, or `timeout_s` passed first (with its output).
        """
        deadline = time.monotonic() + timeout_s
        while needle not in self.output():
            if not self.alive:
                raise AssertionError(f"process exited before logging {needle!r}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} never logged in {timeout_s}s:\n{self.output()}")
            time.sleep(0.02)

    def wait_ready(self, path: str = "/health", timeout_s: float = START_TIMEOUT_S) -> None:
        """Wait until `GET path` answers 200.

        Raises:
            AssertionError: the process exited or did not answer in time (with its output).
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive:
                raise AssertionError(
                    f"server exited with {self.process.returncode}:\n{self.output()}"
                )
            with suppress(httpx.TransportError):
                if self.http.get(path, timeout=1.0).status_code == 200:
                    return
            time.sleep(0.05)
        raise AssertionError(f"server not ready in {timeout_s}s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL to its whole process group: nothing in it gets a chance to finish anything,
        and nothing it started (a `uv run`'s child, a server's workers) is left holding a port
        or a database file. Also once the process itself exited."""
        self._kill_group()
        self.process.wait(timeout=10)
        self._close_client()

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM to the process (as an orchestrator stops it), SIGKILL to the process after
        `timeout_s`; then SIGKILL to whatever of its group is left."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._kill_group()
        self._close_client()

    def _kill_group(self) -> None:
        # The group (led by our process: `start_new_session`) outlives its leader while anything
        # the leader started still runs; once all of it is gone, killpg finds nothing.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def _close_client(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


def start_process(
    command: Sequence[str],
    *,
    url: str,
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    ready_path: str | None = "/health",
    timeout_s: float = START_TIMEOUT_S,
) -> ServerProcess:
    """Run `command` with its output appended to `log`; wait for `GET ready_path` (None: don't).

    The process leads a session (and so a process group) of its own, which `ServerProcess.kill`
    and `ServerProcess.stop` end whole: what it started dies with it.

    Raises:
        AssertionError: the server exited or was not ready within `timeout_s`.
    """
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    server = ServerProcess(process, url, log)
    if ready_path is not None:
        try:
            server.wait_ready(ready_path, timeout_s)
        except BaseException:
            server.kill()
            raise
    return server


def start_data_plane(
    env: Mapping[str, str], *, log: Path, port: int | None = None, cwd: Path | None = None
) -> ServerProcess:
    """`botfleet serve data-plane` with exactly `env` (plus `isolated_env`'s system variables)."""
    port = port or free_port()
    command = [sys.executable, "-m", "botfleet.cli.main", "serve", "data-plane"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    return start_process(
        command, url=f"http://127.0.0.1:{port}", log=log, env=isolated_env(**env), cwd=cwd
    )


def start_control_plane(
    env: Mapping[str, str], *, log: Path, port: int | None = None, cwd: Path | None = None
) -> ServerProcess:
    """`botfleet serve control-plane` with exactly `env` (CP_* settings) on a free port."""
    port = port or free_port()
    command = [sys.executable, "-m", "botfleet.cli.main", "serve", "control-plane"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    return start_process(
        command, url=f"http://127.0.0.1:{port}", log=log, env=isolated_env(**env), cwd=cwd
    )


# ---------------------------------------------------------------- logs


@dataclass
class CapturedLogs:
    """Rendered log lines from structlog and stdlib logging, tracebacks included."""

    lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.lines)


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        # Rendered like a real handler would, arguments and traceback included.
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        if record.stack_info:
            text += "\n" + record.stack_info
        self.sink.append(f"{record.name} {record.levelname} {text}")


class _ListLogger:
    """structlog's final logger: keeps each rendered line."""

    def __init__(self, sink: list[str]) -> None:
        self.sink = sink

    def msg(self, message: str) -> None:
        self.sink.append(message)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


@contextmanager
def capture_all_logs() -> Iterator[CapturedLogs]:
    """Capture every log line of this process at every level while the block runs.

    structlog is configured like production (exception formatting, JSON rendering; values
    that are not JSON are rendered with `repr`) into the capture, and a DEBUG handler on the
    root logger gets the stdlib records (the control plane logs through stdlib). The previous
    configuration and levels are restored afterwards.
    """
    captured = CapturedLogs()
    old_config = structlog.get_config()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(default=repr),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        logger_factory=lambda *args: _ListLogger(captured.lines),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    handler = _ListHandler(captured.lines)
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # Loggers with their own level (the control plane's) would drop DEBUG records.
    lowered = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.startswith("botfleet")
    }
    for name in lowered:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name, level in lowered.items():
            logging.getLogger(name).setLevel(level)
        structlog.configure(**old_config)


# ---------------------------------------------------------------- secrets


def _forms(secret: str) -> set[str]:
    """The ways a secret can be written: as is, JSON-escaped, URL-encoded."""
    return {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote(secret)}


def find_secrets(text: str, secrets: Mapping[str, str]) -> list[str]:
    """Names of the `secrets` (name -> value) whose value appears in `text`, in any `_forms`."""
    return [
        name
        for name, value in secrets.items()
        if value and any(form in text for form in _forms(value))
    ]


def assert_no_secrets(places: Mapping[str, str], secrets: Mapping[str, str]) -> None:
    """Fail naming each (place, secret) where a secret value was found, with some context.

    Args:
        places: where the text came from (e.g. "logs", "POST /inbound body") -> the text.
        secrets: secret name -> value.
    """
    found: list[str] = []
    for where, text in places.items():
        for name in find_secrets(text, secrets):
            value = secrets[name]
            form = next(f for f in _forms(value) if f in text)
            at = text.index(form)
            context = text[max(at - 80, 0) : at + len(form) + 40].replace(form, f"<{name}>")
            found.append(f"{name} in {where}: ...{context}...")
    if found:
        raise AssertionError("secrets leaked:\n" + "\n".join(found))


def read_text(paths: Sequence[Path]) -> dict[str, str]:
    """path -> its text (missing files are empty), for `assert_no_secrets`."""
    return {
        str(path): path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        for path in paths
    }


# ---------------------------------------------------------------- connectors


class HangingConnector:
    """Wraps a connector. While it hangs (from the start, or after `hang()`), every call waits
    until `release()` or until the caller's timeout cancels it; `entered` is set when a call
    starts waiting. `calls` counts the calls that reached it, `hung` those that waited."""

    def __init__(self, inner: Connector) -> None:
        self.inner = inner
        self.category = inner.category
        self.calls = 0
        self.hung = 0
        self.entered = asyncio.Event()
        self._released = asyncio.Event()

    @property
    def hanging(self) -> bool:
        return not self._released.is_set()

    def hang(self) -> None:
        """Calls from now on wait again."""
        self._released = asyncio.Event()
        self.entered = asyncio.Event()

    def release(self) -> None:
        """Let waiting and later calls through to the wrapped connector."""
        self._released.set()

    def operations(self) -> frozenset[str]:
        return self.inner.operations()

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        self.calls += 1
        released = self._released
        if not released.is_set():
            self.hung += 1
            self.entered.set()
            await released.wait()
        return await self.inner.call(operation, params, idempotency_key=idempotency_key)


# ---------------------------------------------------------------- channel payloads


def whatsapp_text_delivery(
    *,
    phone_number_id: str,
    sender: str,
    message_id: str,
    text: str,
    name: str = "",
    sent_at: float | None = None,
) -> bytes:
    """The body Meta posts for one text message (the fields the parser reads), sent at
    `sent_at` (Unix seconds; now by default: the adapter ignores messages over a week old)."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": name}, "wa_id": sender}],
        "messages": [
            {
                "from": sender,
                "id": message_id,
                "timestamp": str(int(time.time() if sent_at is None else sent_at)),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def whatsapp_signed(body: bytes, app_secret: str) -> dict[str, str]:
    """Headers of a delivery signed like Meta signs it (`X-Hub-Signature-256`)."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


# ---------------------------------------------------------------- network


class TcpProxy:
    """A TCP forwarder on 127.0.0.1 that a test can take down and bring back, e.g. in front of
    a database server that others share: `stop()` looks like the server restarting (every
    connection cut, new ones refused) without touching the server. Runs on the current loop.

        proxy = TcpProxy(5432); await proxy.start()    # connect to 127.0.0.1:proxy.port
        await proxy.stop(); await proxy.start()         # same port again
    """

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones (abruptly, as a crash would)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.ensure_future(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(65536):
                sink.write(chunk)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            sink.transport.abort()
            self._links.discard(sink)
