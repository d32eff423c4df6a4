"""`PATCH /v1/tenants/{id}` replaces a binding section whole, and says so.

`botfleet cp tenants update acme --llm '{"quota_monthly_tokens": 1000}'` silently turned off
`enabled` and dropped `provider`, `base_url` and `fallback_text`. Merging only `llm` would make
the PATCH inconsistent: `connectors` replaces the whole map by design (a binding left out is
unbound), a channel is replaced to change its type (`{"type": "telegram"}` must not keep
WhatsApp's settings), and `tenants apply` relies on the replacement to remove a key the
tenant file no longer has. So the three sections stay replaced whole; the API's schema says
so, and the CLI warns on stderr naming the keys an update removed, with their old values.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cp_harness import ADMIN_KEY, FERNET_KEY, ControlPlane
from typer.testing import CliRunner, Result

from botfleet.cli.demo_stack import BackgroundServer
from botfleet.cli.main import app
from botfleet.control_plane.app import create_app
from botfleet.control_plane.settings import ControlPlaneSettings

LLM = {
    "enabled": True,
    "provider": "openai_compatible",
    "base_url": "https://llm.example/v1",
    "fallback_text": "Sorry, ask the front desk.",
    "quota_monthly_tokens": 50_000,
}


# ---------------------------------------------------------------- the API


async def test_a_patch_replaces_the_llm_section_as_it_does_the_other_bindings(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant(
        "acme",
        llm=LLM,
        channel={"type": "webchat", "title": "Acme", "allowed_origins": ["https://acme.example"]},
        connectors={"calendar": {"type": "mock_calendar"}},
    )
    patched = await cp.client.patch(
        "/v1/tenants/acme",
        json={"llm": {"quota_monthly_tokens": 1000}, "channel": {"type": "webchat"}},
        headers=cp.admin,
    )
    assert patched.status_code == 200, patched.text
    tenant = patched.json()
    assert tenant["llm"] == {"quota_monthly_tokens": 1000}
    assert tenant["channel"] == {"type": "webchat"}
    assert tenant["connectors"] == {"calendar": {"type": "mock_calendar"}}  # not sent: kept


async def test_the_openapi_schema_says_each_binding_section_is_replaced_whole(
    cp: ControlPlane,
) -> None:
    spec = (await cp.client.get("/openapi.json")).json()
    update = spec["components"]["schemas"]["TenantUpdate"]
    for field in ("channel", "connectors", "llm"):
        description = update["properties"][field]["description"]
        assert "replaces the whole" in description and "keys left out are removed" in description
    assert "a binding left out is unbound" in update["properties"]["connectors"]["description"]


# ---------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def cp_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = ControlPlaneSettings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('cp') / 'cp.db'}",
        admin_api_key=ADMIN_KEY,
        fernet_keys=FERNET_KEY,
        log_level="WARNING",
        log_json=False,
        startup_db_attempts=1,
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = BackgroundServer(create_app(settings), host="127.0.0.1", port=port)
    server.start(timeout_s=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def cli(cp_url: str) -> Any:
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> Result:
        env = {"BOTFLEET_CP_URL": cp_url, "BOTFLEET_API_KEY": ADMIN_KEY, "COLUMNS": "200"}
        result = runner.invoke(app, ["cp", *args], env=env)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return result

    return invoke


def _create(cli: Any, tenant: str, *options: str) -> None:
    cli("tenants", "create", tenant, "--llm", json.dumps(LLM), *options)


def test_update_llm_warns_naming_the_keys_it_removed_with_their_values(cli: Any) -> None:
    _create(cli, "warned")

    result = cli("tenants", "update", "warned", "--llm", '{"quota_monthly_tokens": 1000}')

    assert json.loads(result.stdout)["llm"] == {"quota_monthly_tokens": 1000}
    [warning] = result.stderr.splitlines()
    assert warning.startswith(
        "warning: --llm replaces the whole llm section: the update removed base_url, enabled, "
        "fallback_text, provider from it (before: "
    )
    assert '"enabled": true' in warning and '"base_url": "https://llm.example/v1"' in warning
    assert "quota_monthly_tokens" not in warning  # given: not removed
    assert warning.endswith("to keep them, give them in --llm too")


def test_update_with_every_key_or_other_fields_warns_about_nothing(
    cli: Any, tmp_path: Path
) -> None:
    _create(cli, "quiet")
    whole = tmp_path / "llm.json"
    whole.write_text(json.dumps({**LLM, "quota_monthly_tokens": 1000}))

    assert cli("tenants", "update", "quiet", "--llm", f"@{whole}").stderr == ""
    assert cli("tenants", "update", "quiet", "--language", "es").stderr == ""
    shown = json.loads(cli("tenants", "show", "quiet").stdout)
    assert shown["llm"] == {**LLM, "quota_monthly_tokens": 1000}


def test_update_warns_about_an_unbound_connector_and_channel_settings(cli: Any) -> None:
    _create(
        cli, "bindings",
        "--connectors", '{"calendar": {"type": "mock_calendar"}, "notification": {"type": "mock"}}',
        "--channel", '{"type": "webchat", "title": "Shop"}',
    )  # fmt: skip

    result = cli(
        "tenants", "update", "bindings",
        "--connectors", '{"calendar": {"type": "mock_calendar"}}',
        "--channel", '{"type": "webchat"}',
    )  # fmt: skip

    lines = result.stderr.splitlines()
    assert lines == [
        "warning: --channel replaces the whole channel section: the update removed title from "
        'it (before: {"title": "Shop"}); to keep it, give it in --channel too',
        "warning: --connectors replaces the whole map: the update unbound notification "
        '(before: {"notification": {"type": "mock"}}); to keep it, give it in --connectors '
        "too",
    ]


def test_a_failed_update_warns_about_nothing(cli: Any) -> None:
    _create(cli, "refused")
    result = cli("tenants", "update", "refused", "--llm", '{"provider": "nonsense"}', code=1)
    assert result.stderr.startswith("error: HTTP 422")
    assert "warning" not in result.stderr


def test_a_channel_changing_type_is_not_warned_about() -> None:
    from botfleet.cli.commands.cp_tenants import left_out

    before = {"channel": {"type": "whatsapp", "phone_number_id": "123"}}
    after = {"channel": {"type": "telegram"}}
    assert left_out(before, after, {"channel"}) == []
    assert left_out(before, {"channel": {"type": "whatsapp"}}, {"channel"}) != []
    assert left_out(before, {"channel": {"type": "whatsapp"}}, {"llm"}) == []


def test_the_update_help_says_the_sections_are_replaced_whole() -> None:
    result = CliRunner().invoke(app, ["cp", "tenants", "update", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "each replace their whole section" in text
    assert "replaces the whole llm section" in text
