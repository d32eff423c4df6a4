"""A web chat data plane started by `botfleet serve data-plane` leaves out what it never uses:
FastAPI (its routes are on Starlette alone, `botfleet.web`), rich (with pygments and attrs) and
greenlet, which structlog and httpx pick up only because they are installed, the optional
imports of uvicorn (watchfiles) and PyYAML (libyaml), httpx itself (no provider API to call),
pydantic-settings (the settings read the environment themselves), the Google Calendar and
CalDAV adapters (the demo binds the in-memory calendar), and typer (`python -m
botfleet.cli.main` and the `botfleet` script both run `main`). A WhatsApp tenant's data plane
imports no third-party HTTP client (aiohttp, httpx) and none of the web chat's modules.
See `botfleet.observability`, `botfleet.cli.data_plane_server` and docs/benchmarks.md ("Where
the memory goes")."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from serve_process import run_to_exit

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "examples" / "tenants" / "demo.yaml"

#: Runs the real CLI command with uvicorn.run replaced by a minimal ASGI driver (lifespan
#: start-up, GET /health, shut-down): a real server would need a port, and an HTTP client
#: (httpx, the TestClient's) would import what this test checks is left out. uvicorn.run is
#: replaced as the server imports uvicorn (an import hook), not before: importing it here
#: would load uvicorn's optional imports outside the server's block.
SERVE = textwrap.dedent(
    """
    import asyncio, importlib.abc, importlib.util, json, socket, sys

    report = {}
    watched = sys.argv[3].split(",")

    async def drive(app):
        lifespan, started = asyncio.Queue(), asyncio.Event()
        await lifespan.put({"type": "lifespan.startup"})

        async def lifespan_send(message):
            report.setdefault("lifespan", []).append(message["type"])
            started.set()

        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        task = asyncio.ensure_future(app(scope, lifespan.get, lifespan_send))
        await started.wait()
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await app(
            {
                "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                "method": "GET", "scheme": "http", "path": "/health", "raw_path": b"/health",
                "query_string": b"", "root_path": "", "headers": [], "state": {},
                "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
            },
            receive,
            send,
        )
        report["health"] = sent[0]["status"]
        report["loaded"] = sorted(
            name for name in watched if sys.modules.get(name) is not None
        )
        await lifespan.put({"type": "lifespan.shutdown"})
        await task

    def run(app, **options):
        report["ws"] = options.get("ws")
        asyncio.run(drive(app))

    class PatchUvicornRun(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "uvicorn":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            exec_module = spec.loader.exec_module

            def exec_and_patch(module):
                exec_module(module)
                module.run = run

                def server_run(self, sockets=None):  # the served path: Server(config).run
                    for sock in sockets or ():
                        sock.close()
                    self.started = True
                    run(self.config.app, ws=self.config.ws)

                module.Server.run = server_run

            spec.loader.exec_module = exec_and_patch
            return spec

    sys.meta_path.insert(0, PatchUvicornRun())
    entry = sys.argv[2]
    with socket.socket() as probe:  # a port free now: the server binds it before it starts
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    sys.argv = [
        "botfleet", "serve", "data-plane", "--tenant-config", sys.argv[1],
        "--host", "127.0.0.1", "--port", port,
    ]
    try:
        if entry == "main":  # python -m botfleet.cli.main, the `botfleet` script
            from botfleet.cli.main import main
            main()
        else:  # the typer app (command lines main() does not parse itself)
            from botfleet.cli.main import app
            app()
    except SystemExit as stop:
        report["exit"] = stop.code
    import rich.console  # the CLI's own output still has rich once the server stopped
    report["rich_after"] = rich.console.__name__
    print(json.dumps(report))
    """
)

LEFT_OUT = (
    # the data plane's routes are on Starlette alone (botfleet.web)
    "fastapi",
    "rich",
    "pygments",
    "attr",
    "greenlet",
    "httpx",
    "httpcore",
    # optional imports of FastAPI, uvicorn and PyYAML (botfleet.observability.SERVER_HIDDEN)
    "pydantic.v1",
    "watchfiles",
    "python_multipart",
    "multipart",
    "yaml._yaml",
    # DataPlaneSettings reads the environment itself (tests/unit/data_plane/test_settings_env.py)
    "pydantic_settings",
    "dotenv",
    # calendar adapters the demo does not bind (built by type: adapters/connectors/catalog.py)
    "botfleet.adapters.connectors.calendar.google",
    "botfleet.adapters.connectors.calendar.caldav",
)


def run_python(script: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    # Only `env` and the system variables: a runner's proxy variables, say, would give
    # provider tenants httpx's client (adapters/provider_http.py).
    done = run_to_exit([sys.executable, "-c", script, *args], cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("entry", "typer_loaded"),
    [("main", False), ("app", True)],
    ids=["python -m botfleet.cli.main or botfleet script", "typer app"],
)
def test_web_chat_data_plane_leaves_out_rich_greenlet_and_httpx(
    tmp_path: Path, entry: str, typer_loaded: bool
) -> None:
    """`python -m botfleet.cli.main serve data-plane` (each tenant's process) does not import
    typer either, nor does the `botfleet` script (the same `main`); the typer app does."""
    watched = (*LEFT_OUT, "typer", "structlog", "starlette")  # the last two: the check sees them
    line = run_python(
        SERVE,
        str(DEMO),
        entry,
        ",".join(watched),
        cwd=tmp_path,
        env={"DP_STATE_DB_PATH": str(tmp_path / "state.db"), "DP_LOG_LEVEL": "warning"},
    )
    report = json.loads(line)
    assert report["health"] == 200
    assert report["lifespan"] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert report["loaded"] == ["starlette", "structlog"] + (["typer"] if typer_loaded else [])
    assert report.get("exit") in (0, None)
    assert report["ws"] == "none"  # no WebSocket route: uvicorn need not import websockets
    assert report["rich_after"] == "rich.console"


#: What a WhatsApp tenant's data plane leaves out besides `LEFT_OUT`: any third-party HTTP
#: client (the provider client is asyncio and httptools) and the web chat's modules.
LEFT_OUT_BY_PROVIDER_TENANTS = (
    "aiohttp",
    "yarl",
    "multidict",
    "frozenlist",
    "botfleet.adapters.channels.webchat",
    "botfleet.adapters.provider_httpx",
)


def test_whatsapp_data_plane_leaves_out_http_libraries_and_the_web_chat(tmp_path: Path) -> None:
    config = yaml.safe_load(DEMO.read_text())
    for key in ("flow_path", "knowledge_path"):
        if key in config:
            config[key] = str((DEMO.parent / config[key]).resolve())
    config["channel"] = {
        "type": "whatsapp",
        "phone_number_id": "106540352242922",
        "access_token": "token",
        "app_secret": "secret",
        "verify_token": "verify",
    }
    tenant = tmp_path / "whatsapp.yaml"
    tenant.write_text(yaml.safe_dump(config))
    watched = (*LEFT_OUT, *LEFT_OUT_BY_PROVIDER_TENANTS, "botfleet.adapters.provider_http")
    line = run_python(
        SERVE,
        str(tenant),
        "main",
        ",".join(watched),
        cwd=tmp_path,
        env={"DP_STATE_DB_PATH": str(tmp_path / "state.db"), "DP_LOG_LEVEL": "warning"},
    )
    report = json.loads(line)
    assert report["health"] == 200
    assert report["loaded"] == ["botfleet.adapters.provider_http"]  # the check sees it


HIDE = textwrap.dedent(
    """
    import sys
    from botfleet.observability import hidden_imports, server_imports

    results = []
    with server_imports():
        import structlog.dev
        import httpx
        results.append(f"structlog-rich={structlog.dev.rich}")
        hidden = ("rich", "pygments", "greenlet")
        results.append(f"loaded={[m for m in hidden if sys.modules.get(m)]}")
        try:
            import rich
            results.append("rich-imported")
        except ImportError:
            results.append("rich-hidden")
    import rich
    import greenlet
    results.append(f"after={rich.__name__},{greenlet.__name__}")
    with hidden_imports("rich"):  # already imported: nothing to hide
        import rich.console
        results.append("imported-twice")
    print(" ".join(results))
    """
)


def test_server_imports_hide_rich_only_inside(tmp_path: Path) -> None:
    """structlog and httpx imported inside keep their choice; rich and greenlet import
    normally again once the block ends (the CLI's tables)."""
    line = run_python(HIDE, cwd=tmp_path)
    assert line.split() == [
        "structlog-rich=None",
        "loaded=[]",
        "rich-hidden",
        "after=rich,greenlet",
        "imported-twice",
    ]
