"""The local demo stack behind `botfleet demo`: control plane + the demo tenant's data plane.

    var/demo-secrets.json    admin key, Fernet key, cache key, internal token (0600, made once)
    var/control_plane.db     the control plane's SQLite database
    var/fleet/demo/...       the data plane's folder, pid file and log (local orchestrator)

The control plane runs in this process (uvicorn on a thread); the tenant's data plane is a
child process started by the local orchestrator, pulling its configuration from the control
plane like a production one.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

SECRETS_FILE = "demo-secrets.json"


class DemoError(Exception):
    """A step of the demo failed; the message says which and why."""


@dataclass(frozen=True)
class DevSecrets:
    """Keys of the local demo: generated on the first run, then read back (never rotated)."""

    admin_api_key: str
    fernet_key: str
    cache_key: str
    internal_token: str

    @classmethod
    def load_or_create(cls, var_dir: Path) -> DevSecrets:
        path = var_dir / SECRETS_FILE
        try:
            values: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{name: str(values[name]) for name in cls.__dataclass_fields__})
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError) as exc:
            raise DemoError(f"{path} is unreadable ({type(exc).__name__}); delete it") from None
        made = cls(
            admin_api_key=f"dev-admin-{secrets.token_urlsafe(24)}",
            fernet_key=Fernet.generate_key().decode(),
            cache_key=Fernet.generate_key().decode(),
            internal_token=secrets.token_urlsafe(24),
        )
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(made), handle, indent=1)
        return made


class BackgroundServer:
    """An ASGI app served by uvicorn on a daemon thread (this process keeps the foreground)."""

    def __init__(self, app: Any, *, host: str, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="control-plane", daemon=True)
        self.failure: BaseException | None = None

    def _run(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # uvicorn exits the thread with SystemExit on bind errors
            self.failure = exc

    def start(self, timeout_s: float = 60.0) -> None:
        """Return once it serves. Raises `DemoError` when it stopped or took too long."""
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive():
                reason = type(self.failure).__name__ if self.failure else "it exited"
                raise DemoError(f"did not start ({reason}; is the port already in use?)")
            if time.monotonic() > deadline:
                raise DemoError(f"did not start within {timeout_s:g}s")
            time.sleep(0.05)

    def stop(self, timeout_s: float = 15.0) -> None:
        """Raises `DemoError` if it still serves `timeout_s` later."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout_s)
        if self.thread.is_alive():
            raise DemoError(f"still serving {timeout_s:g}s after being told to stop")


@dataclass(frozen=True)
class DemoOptions:
    tenant_yaml: Path
    var_dir: Path = Path("var")
    host: str = "127.0.0.1"
    cp_port: int = 8001
    dp_port: int = 8002
    #: Skip the control plane: the data plane runs from the local YAML.
    local_only: bool = False
    #: The data plane's config poll (a publish shows up within this many seconds).
    poll_s: float = 5.0
    start_timeout_s: float = 90.0


@dataclass(frozen=True)
class DemoRunning:
    chat_url: str
    cp_url: str | None = None
    admin_key: str | None = None
    #: Why the control plane is not used (None when it is, or with `local_only`).
    fallback_reason: str | None = None


def _public(host: str, port: int) -> str:
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "localhost") else host
    return f"http://{shown}:{port}"


class DemoStack:
    """Starts and stops the demo: `up()`, then `problem()` now and then, then `down()`."""

    def __init__(self, options: DemoOptions) -> None:
        from botfleet.adapters.orchestration import LocalOrchestrator

        self.options = options
        self.secrets = DevSecrets.load_or_create(options.var_dir)
        self.orchestrator = LocalOrchestrator(options.var_dir / "fleet", host=options.host)
        self.control_plane: BackgroundServer | None = None
        self.tenant_id = ""

    def up(self) -> DemoRunning:
        """Everything running, or a `DemoError` saying what failed (things started are stopped
        by `down`). A failure of the control-plane part falls back to the local YAML."""
        from botfleet.control_plane.provision import TenantFiles
        from botfleet.domain.errors import BotPlatformError

        files = TenantFiles.load(self.options.tenant_yaml)
        self.tenant_id = files.config.tenant_id
        chat_url = f"{_public(self.options.host, self.options.dp_port)}/"
        reason: str | None = None
        if not self.options.local_only:
            try:
                return self._up_with_control_plane(files, chat_url)
            except (DemoError, BotPlatformError, OSError) as exc:
                reason = str(exc)
                self._run(self.orchestrator.stop(self.tenant_id))
                if self.control_plane is not None:
                    self.control_plane.stop()
                    self.control_plane = None
        from botfleet.ports.orchestration import DataPlaneSpec

        local = DataPlaneSpec(
            self.tenant_id,
            tenant_config_path=str(self.options.tenant_yaml.resolve()),
            port=self.options.dp_port,
        )
        self._start_data_plane(local)
        return DemoRunning(chat_url, fallback_reason=reason)

    def _up_with_control_plane(self, files: Any, chat_url: str) -> DemoRunning:
        from botfleet.control_plane.app import create_app
        from botfleet.control_plane.client import ControlPlaneClient
        from botfleet.control_plane.provision import provision_tenant
        from botfleet.control_plane.settings import ControlPlaneSettings
        from botfleet.ports.orchestration import DataPlaneSpec

        options, keys = self.options, self.secrets
        database = (options.var_dir / "control_plane.db").resolve()
        settings = ControlPlaneSettings(
            environment="development",
            database_url=f"sqlite+aiosqlite:///{database}",
            admin_api_key=keys.admin_api_key,
            fernet_keys=keys.fernet_key,
            log_level="WARNING",
            log_json=False,
        )
        self.control_plane = BackgroundServer(
            create_app(settings), host=options.host, port=options.cp_port
        )
        try:
            self.control_plane.start(options.start_timeout_s)
        except DemoError as exc:
            raise DemoError(f"control plane on port {options.cp_port}: {exc}") from None
        local_cp = f"http://127.0.0.1:{options.cp_port}"
        dp_url = f"http://127.0.0.1:{options.dp_port}"
        with ControlPlaneClient(local_cp, keys.admin_api_key) as client:
            # A fresh boot token for the data plane about to start: the last run's is not kept.
            result = provision_tenant(
                client,
                files,
                data_plane_url=dp_url,
                internal_token=keys.internal_token,
                rotate_boot_token=True,
            )
        assert result.boot_token is not None  # rotated or new
        spec = DataPlaneSpec(
            self.tenant_id,
            control_plane_url=local_cp,
            boot_token=result.boot_token,
            cache_key=keys.cache_key,
            internal_token=keys.internal_token,
            port=options.dp_port,
            config_poll_s=options.poll_s,
        )
        self._start_data_plane(spec)
        cp_url = _public(options.host, options.cp_port)
        return DemoRunning(chat_url, cp_url, keys.admin_api_key)

    def _start_data_plane(self, spec: Any) -> None:
        from botfleet.adapters.orchestration import wait_until_healthy

        async def start() -> None:
            await self.orchestrator.start(spec)
            await wait_until_healthy(
                self.orchestrator, spec.tenant_id, timeout_s=self.options.start_timeout_s
            )

        self._run(start())

    def problem(self) -> str | None:
        """Why the data plane is no longer running (None while it is)."""
        if not self.tenant_id:
            return None
        status = self._run(self.orchestrator.status(self.tenant_id))
        return None if status.state == "running" else f"data plane {status.state}: {status.detail}"

    def down(self) -> list[str]:
        """Stop the data plane, then the control plane, whatever the first one did; one line
        per part that did not stop ([] when everything did). Never raises: a data plane that
        survives SIGKILL must not leave the control plane serving, nor end in a traceback."""
        failures: list[str] = []
        if self.tenant_id:
            try:
                self._run(self.orchestrator.stop(self.tenant_id))
            except Exception as exc:  # whatever it was, the control plane still has to stop
                failures.append(f"data plane of tenant {self.tenant_id!r}: {_reason(exc)}")
        if self.control_plane is not None:
            try:
                self.control_plane.stop()
                self.control_plane = None
            except Exception as exc:
                failures.append(f"control plane on port {self.options.cp_port}: {_reason(exc)}")
        return failures

    @staticmethod
    def _run(coroutine: Any) -> Any:
        import asyncio

        return asyncio.run(coroutine)


def _reason(exc: Exception) -> str:
    from botfleet.adapters.orchestration import OrchestrationError

    # An orchestrator's message starts with the tenant, which the caller names already.
    text = exc.detail if isinstance(exc, OrchestrationError) else str(exc) or type(exc).__name__
    return " ".join(text.split())  # one line, whatever the message


def provision_only(
    cp_url: str,
    api_key: str,
    tenant_yaml: Path,
    *,
    token_file: Path,
    data_plane_url: str | None,
    internal_token: str | None = None,
) -> str:
    """Register the tenant in a running control plane and write its boot token to
    `token_file` (0600), for a data plane started separately (docker compose). Returns the
    tenant id."""
    from botfleet.control_plane.client import ControlPlaneClient
    from botfleet.control_plane.provision import TenantFiles, provision_tenant

    files = TenantFiles.load(tenant_yaml)
    with ControlPlaneClient(cp_url, api_key) as client:
        result = provision_tenant(
            client,
            files,
            data_plane_url=data_plane_url,
            internal_token=internal_token,
            rotate_boot_token=True,
        )
    assert result.boot_token is not None  # rotated or new
    token_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = token_file.with_name(f".{token_file.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(result.boot_token)
    os.replace(temporary, token_file)
    return result.tenant_id
