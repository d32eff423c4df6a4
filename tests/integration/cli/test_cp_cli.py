"""`botfleet cp ...` against a running control plane: every operation, errors, no secret shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from botfleet.cli.demo_stack import provision_only
from botfleet.cli.main import app
from botfleet.control_plane.client import ControlPlaneAPIError, ControlPlaneClient

REPO = Path(__file__).resolve().parents[3]
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
SECRET = "sk-cli-secret-value-98765"


@pytest.fixture
def cli(control_plane: Any) -> Any:
    runner = CliRunner()

    def invoke(*args: str, key: str | None = control_plane.admin_key, code: int = 0) -> Result:
        env = {"BOTFLEET_CP_URL": control_plane.url, "BOTFLEET_API_KEY": key or ""}
        result = runner.invoke(app, ["cp", *args], env=env)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return result

    return invoke


def out(result: Result) -> Any:
    return json.loads(result.stdout)


def test_tenants_keys_and_boot_tokens(cli: Any, tmp_path: Path) -> None:
    assert out(cli("health"))["status"] == "ok"
    created = out(cli("tenants", "create", "acme", "--name", "Acme", "--timezone", "Europe/Madrid",
                      "--channel", '{"type": "webchat"}'))  # fmt: skip
    assert created["tenant"]["id"] == "acme"
    assert created["boot_token"].startswith("bfb_")
    assert [t["id"] for t in out(cli("tenants", "list"))] == ["acme"]
    updated = out(cli("tenants", "update", "acme", "--language", "es"))
    assert (updated["language"], updated["timezone"]) == ("es", "Europe/Madrid")
    assert out(cli("tenants", "disable", "acme"))["status"] == "disabled"
    assert out(cli("tenants", "enable", "acme"))["status"] == "active"

    key = out(cli("keys", "create", "acme", "--name", "ci"))
    assert key["key"].startswith("bfk_")
    [listed] = out(cli("keys", "list", "acme"))
    assert listed["id"] == key["id"] and "key" not in listed
    # A tenant key sees its own tenant only, and no admin operation.
    assert [t["id"] for t in out(cli("tenants", "list", key=key["key"]))] == ["acme"]
    refused = cli("fleet", key=key["key"], code=1)
    assert "HTTP 403" in refused.stderr
    cli("keys", "revoke", "acme", key["id"])
    assert "HTTP 401" in cli("tenants", "list", key=key["key"], code=1).stderr

    rotated = out(cli("boot-token", "rotate", "acme"))
    assert rotated["boot_token"] not in (created["boot_token"], "")

    exported = tmp_path / "acme.json"
    cli("tenants", "export", "acme", "-o", str(exported))
    assert json.loads(exported.read_text())["tenant"]["id"] == "acme"
    assert "--yes" in cli("tenants", "delete", "acme", code=2).stderr
    cli("tenants", "delete", "acme", "--yes")
    assert "HTTP 404" in cli("tenants", "show", "acme", code=1).stderr


def test_flows_and_knowledge_versions(cli: Any, tmp_path: Path) -> None:
    cli("tenants", "create", "shop")
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(FLOW.format(v="one"))
    two.write_text(FLOW.format(v="two"))
    assert out(cli("flows", "upload", "shop", str(one), "--publish"))["version"] == 1
    assert out(cli("flows", "upload", "shop", str(two)))["published"] is False
    cli("flows", "publish", "shop", "2")
    listing = out(cli("flows", "list", "shop"))
    assert listing["published_version"] == 2
    assert '-        text: "Hello one"' in cli("flows", "diff", "shop", "1", "2").stdout
    assert out(cli("flows", "rollback", "shop"))["version"] == 1
    assert cli("flows", "show", "shop", "2", "--raw").stdout == FLOW.format(v="two")

    broken = tmp_path / "broken.yaml"
    broken.write_text(FLOW.format(v="x").replace("fallback: MENU", "fallback: NOWHERE"))
    error = cli("flows", "upload", "shop", str(broken), code=1).stderr
    assert "HTTP 422" in error
    assert "line 8: states.MENU.fallback" in error

    # A publish the control plane refuses stores nothing, and the CLI says so.
    calls = tmp_path / "calls.yaml"
    calls.write_text(
        FLOW.format(v="x").replace(
            '- action: send_text\n        text: "Hello x"',
            "- action: invoke_connector\n        connector: calendar\n"
            "        operation: get_available_days\n        result_key: days",
        )
    )
    refused = cli("flows", "upload", "shop", str(calls), "--publish", code=1).stderr
    assert refused.startswith("error: HTTP 409: the flow was not stored:")
    assert "states.MENU.on_enter[0] calls 'calendar'" in refused
    assert [v["version"] for v in out(cli("flows", "list", "shop"))["versions"]] == [1, 2]

    notes = tmp_path / "notes.md"
    notes.write_text("# v1")
    cli("knowledge", "upload", "shop", str(notes), "--publish")
    notes.write_text("# v2")
    cli("knowledge", "upload", "shop", str(notes), "--publish")
    assert out(cli("knowledge", "list", "shop"))["published_version"] == 2
    assert out(cli("knowledge", "rollback", "shop", "--to", "1"))["version"] == 1
    assert out(cli("knowledge", "show", "shop", "2"))["text"] == "# v2"
    assert "+# v2" in cli("knowledge", "diff", "shop", "1", "2").stdout


def test_credentials_audit_status_and_key_rotation(cli: Any, tmp_path: Path) -> None:
    cli("tenants", "create", "vault", "--llm", '{"enabled": false, "provider": "anthropic"}')
    stored = cli("credentials", "set", "vault", "llm", f"api_key={SECRET}")
    assert out(stored)["key_names"] == ["api_key"]
    secrets_file = tmp_path / "channel.json"
    secrets_file.write_text(json.dumps({"internal_token": "dp-token-1"}))
    cli("credentials", "set", "vault", "data_plane", "--file", str(secrets_file))
    listing = cli("credentials", "list", "vault")
    assert [c["scope"] for c in out(listing)] == ["data_plane", "llm"]
    assert "bad" in cli("credentials", "set", "vault", "llm", "bad", code=2).stderr

    entries = out(cli("audit", "--tenant", "vault"))
    assert {e["action"] for e in entries} >= {"tenant.create", "credentials.put"}
    status = out(cli("status", "vault"))
    assert status["status"] == "unconfigured"
    assert out(cli("rotate-keys"))["rotated"] >= 2
    cli("credentials", "delete", "vault", "llm")
    assert "llm" in cli("binding-schemas").stdout
    everything = " ".join([stored.stdout, listing.stdout, json.dumps(entries)])
    assert SECRET not in everything and "dp-token-1" not in everything


def test_apply_registers_a_tenant_from_its_files_idempotently(cli: Any, control_plane: Any) -> None:
    demo = str(REPO / "examples" / "tenants" / "demo.yaml")
    first = out(cli("tenants", "apply", demo))
    assert first["tenant_id"] == "demo"
    assert (first["created"], first["flow_uploaded"], first["knowledge_uploaded"]) == (
        True, True, True
    )  # fmt: skip
    again = out(cli("tenants", "apply", demo))
    assert (again["created"], again["flow_uploaded"], again["knowledge_uploaded"]) == (
        False, False, False
    )  # fmt: skip
    assert (again["flow_version"], again["knowledge_version"]) == (1, 1)
    assert again["boot_token"] is None  # kept: the running data plane is not cut off
    with ControlPlaneClient(control_plane.url) as anonymous:
        assert anonymous.boot("demo", first["boot_token"]).tenant.id == "demo"
        rotated = out(cli("tenants", "apply", demo, "--new-boot-token"))
        assert rotated["boot_token"].startswith("bfb_")
        assert anonymous.boot("demo", rotated["boot_token"]).tenant.id == "demo"
        with pytest.raises(ControlPlaneAPIError) as refused:
            anonymous.boot("demo", first["boot_token"])
        assert refused.value.status == 401
    tenant = out(cli("tenants", "show", "demo"))
    assert tenant["connectors"]["calendar"]["type"] == "mock_calendar"
    assert tenant["published_flow_version"] == 1


def test_apply_says_when_it_unpublishes_a_newer_version(
    cli: Any, control_plane: Any, tmp_path: Path
) -> None:
    demo = REPO / "examples" / "tenants" / "demo.yaml"
    first = cli("tenants", "apply", str(demo))
    assert out(first)["flow_replaced"] is None and "warning" not in first.stderr
    newer = tmp_path / "newer.yaml"
    flow_file = demo.parent / yaml.safe_load(demo.read_text())["flow_path"]
    newer.write_text(flow_file.read_text() + "\n# edited in the control plane\n")
    assert out(cli("flows", "upload", "demo", str(newer), "--publish"))["version"] == 2
    again = cli("tenants", "apply", str(demo))
    answer = out(again)
    assert (answer["flow_version"], answer["flow_replaced"]) == (1, 2)
    assert answer["knowledge_replaced"] is None
    assert "warning: flow version 2" in again.stderr
    assert "botfleet cp flows show demo 2 --raw" in again.stderr
    quiet = cli("tenants", "apply", str(demo))  # nothing replaced this time
    assert out(quiet)["flow_replaced"] is None and "warning" not in quiet.stderr


def test_connection_and_argument_errors(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    down = runner.invoke(app, ["cp", "--url", "http://127.0.0.1:9", "tenants", "list"])
    assert down.exit_code == 2
    assert "cannot reach the control plane at http://127.0.0.1:9" in down.stderr
    assert "--channel" in cli("tenants", "create", "x", "--channel", "{not json", code=2).stderr

    # A file that cannot be read is a usage error naming it, not a traceback.
    def usage_error(*args: str) -> str:
        boxed = cli("tenants", "create", "x", *args, code=2).stderr
        return " ".join(boxed.replace("│", " ").split())  # the error box wraps long lines

    monkeypatch.chdir(tmp_path)  # short relative names, which the box does not break
    error = usage_error("--channel", "@missing.json")
    assert "Invalid value for --channel: cannot read missing.json: No such file" in error
    Path("binary.json").write_bytes(b"\xff\xfe{}")
    error = usage_error("--connectors", "@binary.json")
    assert "Invalid value for --connectors: binary.json is not UTF-8 text" in error
    uploaded = cli("flows", "upload", "x", "binary.json", code=2).stderr
    assert "binary.json is not UTF-8 text" in " ".join(uploaded.replace("│", " ").split())


def test_provision_only_writes_a_fresh_boot_token_and_stores_the_internal_token(
    control_plane: Any, tmp_path: Path
) -> None:
    """Compose's demo-setup: the data plane started after it boots with the token file, and
    the fleet view can reach its /usage and /tasks with the stored internal token."""
    demo = REPO / "examples" / "tenants" / "demo.yaml"
    token_file = tmp_path / "shared" / "demo-boot-token"

    def register() -> str:
        tenant = provision_only(
            control_plane.url,
            control_plane.admin_key,
            demo,
            token_file=token_file,
            data_plane_url="http://data-plane:8002",
            internal_token="internal-token-0123456789",
        )
        assert tenant == "demo"
        assert token_file.stat().st_mode & 0o777 == 0o600
        return token_file.read_text()

    first = register()
    with ControlPlaneClient(control_plane.url, control_plane.admin_key) as admin:
        scopes = {view.scope: view.key_names for view in admin.list_credentials("demo")}
    assert scopes["data_plane"] == ["internal_token"]
    second = register()  # a restarted stack: a fresh token for the data plane about to start
    assert second != first
    with ControlPlaneClient(control_plane.url) as anonymous:
        assert anonymous.boot("demo", second).tenant.id == "demo"
