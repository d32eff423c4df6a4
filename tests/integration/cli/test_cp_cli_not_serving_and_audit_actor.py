"""Against a running control plane whose tenants' data planes are faked at the HTTP boundary:
`botfleet cp fleet` and `cp status <tenant>` exit 1 when an active tenant's data plane is
unreachable or degraded (a `note:` naming each, the JSON on stdout as before; a disabled
tenant's noted, not counted), and `cp audit --actor apikey:<id>` lists what one key did.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cp_server import control_plane_on_a_port
from typer.testing import CliRunner, Result

from botfleet.cli.main import app
from botfleet.control_plane.client import ControlPlaneClient
from botfleet.control_plane.models import TenantCreate

ADMIN_KEY = "cli-not-serving-admin-key-0123456789ab"
FLOW = """\
id: cli_flow
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: "Hello {v}"
    fallback: MENU
"""


def data_plane(request: httpx.Request) -> httpx.Response:
    """bikes' data plane is well, salon's says it is degraded, the others answer nothing."""
    tenant = request.url.host.removesuffix(".dp.test")
    if tenant not in ("bikes", "salon"):
        raise httpx.ConnectError("Connection refused", request=request)
    if request.url.path != "/health":
        return httpx.Response(404, json={"detail": "not here"})
    health = {
        "status": "ok" if tenant == "bikes" else "degraded",
        "tenant_id": tenant,
        "flow_id": "cli_flow",
        "flow_version": "v1",
        "knowledge_version": "",
        "busy_contacts": 0,
        "connectors": {},
    }
    return httpx.Response(200, json=health)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("cp")
    with control_plane_on_a_port(folder, ADMIN_KEY, httpx.MockTransport(data_plane)) as url:
        with ControlPlaneClient(url, ADMIN_KEY) as client:
            for tenant in ("bikes", "clinic", "salon", "shop"):
                client.create_tenant(
                    TenantCreate(id=tenant, name=tenant, data_plane_url=f"http://{tenant}.dp.test")
                )
            client.disable_tenant("shop")  # its data plane stopped on purpose
        yield url


def cli(url: str, *args: str, key: str = ADMIN_KEY, code: int = 0) -> Result:
    env = {"BOTFLEET_CP_URL": url, "BOTFLEET_API_KEY": key}
    result = CliRunner().invoke(app, ["cp", *args], env=env)
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    return result


def test_fleet_exits_1_naming_each_active_tenant_whose_data_plane_does_not_serve(
    stack: str,
) -> None:
    result = cli(stack, "fleet", code=1)

    printed = json.loads(result.stdout)
    assert [(t["tenant_id"], t["status"]) for t in printed["tenants"]] == [
        ("bikes", "ok"),
        ("clinic", "unreachable"),
        ("salon", "degraded"),
        ("shop", "unreachable"),
    ]
    assert result.stderr.splitlines() == [
        "note: clinic: data plane unreachable: GET http://clinic.dp.test/health: ConnectError",
        "note: salon: data plane degraded: its /health says status degraded",
        "note: shop: data plane unreachable (the tenant is disabled: not counted in the exit "
        "status): GET http://shop.dp.test/health: ConnectError",
    ]


def test_status_exits_1_for_a_data_plane_down_and_0_for_one_that_serves(stack: str) -> None:
    down = cli(stack, "status", "clinic", code=1)
    assert json.loads(down.stdout)["status"] == "unreachable"
    assert down.stderr.startswith("note: clinic: data plane unreachable: GET http://clinic")

    well = cli(stack, "status", "bikes")
    assert (json.loads(well.stdout)["status"], well.stderr) == ("ok", "")
    # A disabled tenant's data plane, stopped on purpose: said, not failed.
    stopped = cli(stack, "status", "shop")
    assert "(the tenant is disabled: not counted in the exit status)" in stopped.stderr


def test_audit_lists_what_one_key_did(stack: str) -> None:
    with ControlPlaneClient(stack, ADMIN_KEY) as admin:
        leaked = admin.create_api_key("bikes", "leaked", role="editor")
        other = admin.create_api_key("bikes", "other", role="editor")
    with ControlPlaneClient(stack, leaked.key) as client:
        client.upload_flow("bikes", FLOW.format(v=1))
        client.upload_flow("bikes", FLOW.format(v=2))
    with ControlPlaneClient(stack, other.key) as client:
        client.upload_flow("bikes", FLOW.format(v=3))

    entries: list[dict[str, Any]] = json.loads(
        cli(stack, "audit", "--actor", f"apikey:{leaked.id}").stdout
    )
    assert [(e["actor"], e["action"], e["target"]) for e in entries] == [
        (f"apikey:{leaked.id}", "flow.upload", "2"),
        (f"apikey:{leaked.id}", "flow.upload", "1"),
    ]
    # The bare id of `keys list`, with the tenant key of another: its own tenant's entries.
    bare = json.loads(cli(stack, "audit", "--actor", leaked.id, key=other.key).stdout)
    assert [e["id"] for e in bare] == [e["id"] for e in entries]
    admins = json.loads(cli(stack, "audit", "--actor", "admin", "--tenant", "bikes").stdout)
    assert {e["actor"] for e in admins} == {"admin"}
    assert {"tenant.create", "api_key.create"} <= {e["action"] for e in admins}

    refused = cli(stack, "audit", "--actor", leaked.key, code=2)
    assert leaked.key not in refused.stderr and "--actor" in refused.stderr
