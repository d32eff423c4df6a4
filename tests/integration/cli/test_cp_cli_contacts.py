"""`botfleet cp contacts export|erase` against a running control plane whose tenant's data plane
is faked at the HTTP boundary: the export printed or written owner-only, the erasure asked
for first unless --yes, a contact id starting with `-` after `--`."""

from __future__ import annotations

import json
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from typer.testing import CliRunner, Result

from botfleet.cli.demo_stack import BackgroundServer
from botfleet.cli.main import app
from botfleet.control_plane.app import create_app
from botfleet.control_plane.client import ControlPlaneClient
from botfleet.control_plane.models import TenantCreate
from botfleet.control_plane.settings import ControlPlaneSettings

ADMIN_KEY = "cli-contacts-admin-key-0123456789abcdef"
FERNET_KEY = "oGdyiHTb0dTrMvp7ltlP6nrvKoBtJ3pjxVGW4Cl8C3s="
TOKEN = "cli-contacts-internal-token-0123456789"


class FakeDataPlane:
    """acme's data plane: /health names it; /contacts/{id} exports or erases `id`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "ok", "tenant_id": "acme"})
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        contact = unquote(request.url.raw_path.decode().removeprefix("/contacts/"))
        self.requests.append((request.method, contact))
        if request.method == "DELETE":
            return httpx.Response(200, json=erased(contact))
        return httpx.Response(200, json=exported(contact))


def exported(contact: str) -> dict[str, Any]:
    return {
        "contact_id": contact,
        "contact_hash": "0a1b2c3d4e5f",
        "conversation": {"node": "KNOWN", "data": {"name": "Ana García"}},
        "messages_received": [{"message_id": "m1", "message": {"text": "Ana García"}}],
        "messages_sent": [{"seq": 1, "output": {"text": "Hello Ana García"}}],
        "scheduled_tasks": [],
        "truncated": False,
    }


def erased(contact: str) -> dict[str, Any]:
    return {
        "contact_id": contact,
        "contact_hash": "0a1b2c3d4e5f",
        "conversation": True,
        "messages_received": 1,
        "messages_sent": 1,
        "scheduled_tasks": 0,
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeDataPlane]]:
    """A control plane on a free port; acme reaches the fake data plane, bare has none."""
    database = tmp_path_factory.mktemp("cp") / "cp.db"
    settings = ControlPlaneSettings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{database}",
        admin_api_key=ADMIN_KEY,
        fernet_keys=FERNET_KEY,
        log_level="WARNING",
        log_json=False,
        startup_db_attempts=1,
    )
    data_plane = FakeDataPlane()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    cp = create_app(settings, data_plane_transport=httpx.MockTransport(data_plane))
    server = BackgroundServer(cp, host="127.0.0.1", port=port)
    server.start(timeout_s=30)
    url = f"http://127.0.0.1:{port}"
    try:
        with ControlPlaneClient(url, ADMIN_KEY) as client:
            client.create_tenant(
                TenantCreate(id="acme", name="Acme", data_plane_url="http://dp:8002")
            )
            client.set_credentials("acme", "data_plane", {"internal_token": TOKEN})
            client.create_tenant(TenantCreate(id="bare", name="Bare"))
        yield url, data_plane
    finally:
        server.stop()


def cli(stack: tuple[str, FakeDataPlane], *args: str, code: int = 0, stdin: str = "") -> Result:
    env = {"BOTFLEET_CP_URL": stack[0], "BOTFLEET_API_KEY": ADMIN_KEY}
    result = CliRunner().invoke(app, ["cp", "contacts", *args], env=env, input=stdin)
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    return result


def test_export_prints_the_contacts_data(stack: tuple[str, FakeDataPlane]) -> None:
    result = cli(stack, "export", "acme", "34600111222")
    assert json.loads(result.stdout) == exported("34600111222")


def test_export_writes_an_owner_only_file(stack: tuple[str, FakeDataPlane], tmp_path: Path) -> None:
    target = tmp_path / "requests" / "ana.json"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o644)

    result = cli(stack, "export", "acme", "34600111222", "--output", str(target))

    assert result.stdout == f"exported to {target}\n"
    assert json.loads(target.read_text(encoding="utf-8")) == exported("34600111222")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_erase_asks_first_and_a_no_erases_nothing(stack: tuple[str, FakeDataPlane]) -> None:
    before = list(stack[1].requests)

    refused = cli(stack, "erase", "acme", "34600111222", stdin="n\n", code=1)

    assert "Erase everything tenant 'acme'" in refused.stderr
    assert "{" not in refused.stdout  # (the test runner echoes the typed answer there)
    assert stack[1].requests == before, "the data plane was asked anyway"

    confirmed = cli(stack, "erase", "acme", "34600111222", stdin="y\n")
    answer = confirmed.stdout[confirmed.stdout.index("{") :]  # after the echoed "y"
    assert json.loads(answer) == erased("34600111222")
    assert stack[1].requests[-1] == ("DELETE", "34600111222")


def test_erase_with_yes_and_a_dash_contact_id(stack: tuple[str, FakeDataPlane]) -> None:
    result = cli(stack, "erase", "acme", "--yes", "--", "-100123:topic:7")

    assert json.loads(result.stdout) == erased("-100123:topic:7")
    assert stack[1].requests[-1] == ("DELETE", "-100123:topic:7")
    assert "Erase everything" not in result.stderr


def test_a_tenant_without_a_data_plane_exits_1_saying_what_to_set(
    stack: tuple[str, FakeDataPlane],
) -> None:
    result = cli(stack, "export", "bare", "34600111222", code=1)

    assert result.stderr.startswith("error: HTTP 409: tenant 'bare' has no data_plane_url")
    assert result.stdout == ""
