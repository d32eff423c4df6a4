"""`botfleet cp keys create --role` and what the keys of each role may do through the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from botfleet.cli.main import app


@pytest.fixture
def cli(control_plane: Any) -> Any:
    runner = CliRunner()

    def invoke(*args: str, key: str = control_plane.admin_key, code: int = 0) -> Result:
        env = {"BOTFLEET_CP_URL": control_plane.url, "BOTFLEET_API_KEY": key}
        result = runner.invoke(app, ["cp", *args], env=env)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return result

    return invoke


def _out(result: Result) -> Any:
    return json.loads(result.stdout)


def test_an_agency_hands_a_business_a_viewer_and_an_editor_key(cli: Any) -> None:
    cli("tenants", "create", "salon3")
    agency = _out(cli("keys", "create", "salon3", "--name", "agency"))
    viewer = _out(cli("keys", "create", "salon3", "--name", "ro", "--role", "viewer",
                      key=agency["key"]))  # fmt: skip
    editor = _out(cli("keys", "create", "salon3", "--name", "staff", "--role", "editor",
                      "--expires-in-days", "30", key=agency["key"]))  # fmt: skip
    assert (agency["role"], viewer["role"], editor["role"]) == ("owner", "viewer", "editor")

    listed = _out(cli("keys", "list", "salon3"))
    assert [(k["name"], k["role"], k["created_by"]) for k in listed] == [
        ("agency", "owner", "admin"),
        ("ro", "viewer", f"apikey:{agency['id']}"),
        ("staff", "editor", f"apikey:{agency['id']}"),
    ]
    assert listed[2]["expires_at"] is not None and "key" not in listed[2]

    assert _out(cli("tenants", "show", "salon3", key=viewer["key"]))["id"] == "salon3"
    refused = cli("keys", "list", "salon3", key=viewer["key"], code=1)
    assert refused.stderr.startswith(
        "error: HTTP 403: listing API keys needs a tenant API key with the owner role; this "
        f"key ({viewer['id']}) has the viewer role"
    )
    assert viewer["key"] not in refused.stderr
    rotate = cli("boot-token", "rotate", "salon3", key=editor["key"], code=1)
    assert "rotating the boot token needs a tenant API key with the owner role" in rotate.stderr

    # The business's own owner key cannot revoke the agency's (made with the admin key).
    business = _out(cli("keys", "create", "salon3", "--name", "business", key=agency["key"]))
    kept = cli("keys", "revoke", "salon3", agency["id"], key=business["key"], code=1)
    assert "was made with the admin key: only the admin may revoke it" in kept.stderr
    cli("keys", "revoke", "salon3", editor["id"], key=business["key"])


def test_keys_create_refuses_an_unknown_role_before_any_request(cli: Any) -> None:
    cli("tenants", "create", "shop1")
    refused = cli("keys", "create", "shop1", "--name", "ro", "--role", "read", code=2)
    assert "role: Input should be 'viewer', 'editor' or 'owner'" in " ".join(refused.stderr.split())
    assert _out(cli("keys", "list", "shop1")) == []
