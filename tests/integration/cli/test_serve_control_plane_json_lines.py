"""`botfleet serve control-plane` writes every line as one JSON object, on stdout and stderr
alike: its own, uvicorn's (start, stop, errors), Alembic's, and Python's warnings; and no
line holds a secret it was given or that was used on it. Real processes, started as the CLI
starts them."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from botfleet.testing.faults import assert_no_secrets, free_port
from serve_process import run_to_exit, serve_command, started

ADMIN_KEY = "admin-key-of-the-json-lines-test-0123"
WRONG_KEY = "bfk_0123456789_a-key-nobody-issued-4567"
FERNET_KEY = Fernet.generate_key().decode()
LLM_API_KEY = "sk-llm-secret-of-the-json-lines-test"
ROUTE_SECRET = "secret-in-an-exception-message-8910"
FLOW = """\
id: tiny_flow
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: "Hello"
    fallback: MENU
"""

#: `botfleet serve control-plane` as the CLI runs it, with one more route that fails with a
#: secret in its messages after a Python warning (what a library might print).
WITH_A_FAILING_ROUTE = f"""
import sys, warnings
from botfleet.control_plane import app as control_plane_app

make_app = control_plane_app.create_app

def create_app(settings, **options):
    app = make_app(settings, **options)

    async def boom():
        warnings.warn("a library's warning", UserWarning, stacklevel=1)
        raise RuntimeError({ROUTE_SECRET!r})

    app.add_api_route("/v1/boom", boom, methods=["GET"])
    return app

control_plane_app.create_app = create_app
from botfleet.cli.main import main
main(sys.argv[1:])
"""


def _settings(tmp_path: Path, **more: str) -> dict[str, str]:
    return {
        "CP_ENVIRONMENT": "test",
        "CP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cp.db'}",
        "CP_ADMIN_API_KEY": ADMIN_KEY,
        "CP_FERNET_KEYS": FERNET_KEY,
        **more,
    }


def json_lines(text: str) -> list[dict[str, Any]]:
    """Each line of `text` as a JSON object (fails naming the first line that is not one)."""
    parsed = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}\nin:\n{text}") from None
        assert isinstance(value, dict), line
        parsed.append(value)
    return parsed


def test_every_line_of_a_running_control_plane_is_json_without_secrets(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", WITH_A_FAILING_ROUTE, "serve", "control-plane"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with (
        started(command, cwd=tmp_path, env=_settings(tmp_path)) as server,
        httpx.Client(base_url=url, timeout=30.0) as http,
    ):
        server.wait_until_answering(f"{url}/health")
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        created = http.post(
            "/v1/tenants",
            json={"id": "acme", "name": "Acme", "llm": {"enabled": True, "provider": "anthropic"}},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        boot_token = created.json()["boot_token"]
        key = http.post("/v1/tenants/acme/api-keys", json={"name": "ci"}, headers=admin)
        tenant_key = key.json()["key"]
        put = http.put(
            "/v1/tenants/acme/credentials/llm",
            json={"api_key": LLM_API_KEY},
            headers={"Authorization": f"Bearer {tenant_key}"},
        )
        assert put.status_code == 200, put.text
        flow = http.post("/v1/tenants/acme/flows?publish=true", json={"yaml": FLOW}, headers=admin)
        assert flow.status_code == 201, flow.text
        boot = http.get("/v1/boot/acme", headers={"Authorization": f"Bearer {boot_token}"})
        assert boot.json()["llm"]["api_key"] == LLM_API_KEY
        refused = http.get("/v1/tenants", headers={"Authorization": f"Bearer {WRONG_KEY}"})
        assert refused.status_code == 401
        assert http.get("/v1/boom").status_code == 500
        stopped = server.stop()  # SIGTERM: uvicorn stops, then ends by the signal again (-15)
    assert stopped.returncode == -15, stopped.stdout + stopped.stderr
    output = stopped.stdout + stopped.stderr
    lines = json_lines(stopped.stdout) + json_lines(stopped.stderr)
    assert_no_secrets(
        {"the control plane's output": output},
        {
            "admin key": ADMIN_KEY,
            "unknown key": WRONG_KEY,
            "Fernet key": FERNET_KEY,
            "boot token": boot_token,
            "tenant key": tenant_key,
            "LLM api_key": LLM_API_KEY,
            "exception message": ROUTE_SECRET,
        },
    )
    uvicorn = [line["event"] for line in lines if line.get("logger") == "uvicorn.error"]
    assert f"Uvicorn running on http://127.0.0.1:{port} (Press CTRL+C to quit)" in uvicorn
    assert "Application startup complete." in uvicorn
    assert any(event.startswith("Finished server process") for event in uvicorn)
    assert any(line.get("logger") == "alembic.runtime.migration" for line in lines)
    [error] = [line for line in lines if line["event"] == "unhandled error"]
    assert error["level"] == "error"
    assert error["route"] == "/v1/boom"
    assert [place["type"] for place in error["chain"]] == ["builtins.RuntimeError"]
    [warning] = [line for line in lines if line.get("logger") == "py.warnings"]
    assert "a library's warning" in warning["event"]
    events = [line["event"] for line in lines]
    assert events.index("control plane started") < events.index("control plane stopped")


def test_a_start_that_fails_with_a_traceback_writes_it_as_one_json_line(tmp_path: Path) -> None:
    # A revision table of a shape no botfleet writes: nothing explains it in one line.
    with sqlite3.connect(tmp_path / "cp.db") as database:
        database.execute("CREATE TABLE alembic_version_cp (other VARCHAR(32))")
    result = run_to_exit(
        serve_command("control-plane", "--host", "127.0.0.1", "--port", str(free_port())),
        cwd=tmp_path,
        env=_settings(tmp_path),
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr == ""
    lines = json_lines(result.stdout)
    [traceback] = [line for line in lines if line["event"].startswith("Traceback")]
    assert traceback["level"] == "error"
    assert traceback["logger"] == "uvicorn.error"
    assert "no such column" in traceback["event"]
    assert "alembic_version_cp.version_num" in traceback["event"]
    assert lines[-1]["event"] == "Application startup failed. Exiting."
    assert ADMIN_KEY not in result.stdout
