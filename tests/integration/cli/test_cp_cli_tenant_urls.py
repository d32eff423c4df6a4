"""`botfleet cp tenant-urls`: the stored URLs `CP_TENANT_URL_POLICY=public` refuses, printed
as JSON with a summary on stderr and exit status 1 (0 when there are none), never a URL. Only
IP addresses and internal names here: this control plane uses the system's resolver."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner, Result

from botfleet.cli.main import app

SIG = "sig-cli-review-S3cr3t"


def _cli(control_plane: Any, *args: str, code: int, key: str | None = None) -> Result:
    env = {"BOTFLEET_CP_URL": control_plane.url, "BOTFLEET_API_KEY": key or control_plane.admin_key}
    result = CliRunner().invoke(app, ["cp", *args], env=env)
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    return result


def _mine(result: Result) -> list[dict[str, Any]]:
    report = json.loads(result.stdout)
    return [item for item in report["refused"] if item["tenant_id"].startswith("urls-cli")]


def test_tenant_urls_lists_stored_urls_the_policy_refuses(control_plane: Any) -> None:
    fine = {"llm": {"type": "openai_compatible", "base_url": "https://93.184.215.14/v1"}}
    _cli(control_plane, "tenants", "create", "urls-cli-fine", "--connectors", json.dumps(fine),
         code=0)  # fmt: skip
    assert _mine(_cli(control_plane, "tenant-urls", code=0)) == []

    hook = {"notification": {"type": "webhook"}}
    _cli(control_plane, "tenants", "create", "urls-cli-old", "--connectors", json.dumps(hook),
         "--llm", '{"base_url": "http://169.254.169.254/v1"}', code=0)  # fmt: skip
    _cli(control_plane, "credentials", "set", "urls-cli-old", "connector:notification",
         f"url=http://10.0.0.7/hook?sig={SIG}", code=0)  # fmt: skip

    found = _cli(control_plane, "tenant-urls", code=1)
    assert _mine(found) == [
        {"tenant_id": "urls-cli-old", "place": "llm.base_url",
         "problem": "the URL's host is a link-local address (where cloud metadata services "
                    "answer)"},
        {"tenant_id": "urls-cli-old", "place": "credentials.connector:notification.url",
         "problem": "the URL's host is a private-network address"},
    ]  # fmt: skip
    assert found.stderr.startswith("error: ")
    assert "urls-cli-old" in found.stderr and "CP_TENANT_URL_POLICY=public" in found.stderr
    for text in (found.stdout, found.stderr):
        assert SIG not in text and "169.254" not in text and "10.0.0.7" not in text

    key = json.loads(
        _cli(control_plane, "keys", "create", "urls-cli-old", "--name", "ci", code=0).stdout
    )["key"]
    assert "HTTP 403" in _cli(control_plane, "tenant-urls", code=1, key=key).stderr
    for tenant in ("urls-cli-old", "urls-cli-fine"):
        _cli(control_plane, "tenants", "delete", tenant, "--yes", code=0)
