"""`botfleet cp tenants apply` says on stderr what it changed in the stored settings, and
`--dry-run` says it first, changing nothing.

A bike shop's owner set a model and quotas with `tenants update bicis --llm ...`; applying the
shop's tenant file afterwards (safe to run again, the docs said) put the file's old model back
and dropped the quotas, and the only warnings were about flow and knowledge versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from botfleet.cli.main import app

FLOW = """\
id: bicis_flow
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: "Hola"
    fallback: MENU
"""
TENANT = """\
tenant_id: {tenant}
name: Bicis
flow_path: flow.yaml
channel:
  type: webchat
llm:
  enabled: true
  provider: openai_compatible
  base_url: http://127.0.0.1:18403/v1
  model: llama3.1:8b
"""
OWNERS_LLM = {
    "enabled": True,
    "provider": "openai_compatible",
    "base_url": "http://127.0.0.1:18403/v1",
    "model": "qwen2.5:7b",
    "quota_monthly_tokens": 100000,
    "quota_daily_questions_per_contact": 5,
}
CHANGED = (
    "llm: model 'qwen2.5:7b' -> 'llama3.1:8b'; removed quota_monthly_tokens, "
    "quota_daily_questions_per_contact"
)


@pytest.fixture
def cli(control_plane: Any) -> Any:
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> Result:
        env = {"BOTFLEET_CP_URL": control_plane.url, "BOTFLEET_API_KEY": control_plane.admin_key}
        result = runner.invoke(app, ["cp", *args], env=env)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return result

    return invoke


def _shop(tmp_path: Path, tenant: str) -> str:
    (tmp_path / "flow.yaml").write_text(FLOW)
    path = tmp_path / "tenant.yaml"
    path.write_text(TENANT.format(tenant=tenant))
    return str(path)


def _warnings(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


def test_apply_warns_naming_what_it_changed_in_the_owners_llm_settings(
    cli: Any, tmp_path: Path
) -> None:
    shop = _shop(tmp_path, "bicis")
    created = cli("tenants", "apply", shop)
    assert _warnings(created) == []
    cli("tenants", "update", "bicis", "--llm", json.dumps(OWNERS_LLM))

    applied = cli("tenants", "apply", shop)

    assert _warnings(applied) == [f"warning: apply changed {CHANGED}"]
    assert json.loads(applied.stdout)["settings_changed"] == [CHANGED]
    shown = json.loads(cli("tenants", "show", "bicis").stdout)
    assert shown["llm"]["model"] == "llama3.1:8b" and "quota_monthly_tokens" not in shown["llm"]
    again = cli("tenants", "apply", shop)  # the stored tenant is the file's now
    assert _warnings(again) == [] and json.loads(again.stdout)["settings_changed"] == []


def test_dry_run_says_the_same_and_changes_nothing(cli: Any, tmp_path: Path) -> None:
    shop = _shop(tmp_path, "bicis-dry")
    new = cli("tenants", "apply", shop, "--dry-run")
    assert json.loads(new.stdout) == {
        "tenant_id": "bicis-dry", "dry_run": True, "exists": False, "settings_changed": [],
        "published_changed": [],
    }  # fmt: skip
    assert "HTTP 404" in cli("tenants", "show", "bicis-dry", code=1).stderr
    cli("tenants", "apply", shop)
    cli("tenants", "update", "bicis-dry", "--llm", json.dumps(OWNERS_LLM))
    audited = len(json.loads(cli("audit", "--tenant", "bicis-dry").stdout))

    planned = cli("tenants", "apply", shop, "--dry-run")

    assert _warnings(planned) == [f"warning: apply would change {CHANGED}"]
    assert json.loads(planned.stdout)["settings_changed"] == [CHANGED]
    assert json.loads(cli("tenants", "show", "bicis-dry").stdout)["llm"] == OWNERS_LLM
    assert len(json.loads(cli("audit", "--tenant", "bicis-dry").stdout)) == audited
    assert _warnings(cli("tenants", "apply", shop)) == [f"warning: apply changed {CHANGED}"]
    assert _warnings(cli("tenants", "apply", shop, "--dry-run")) == []


def test_dry_run_says_which_published_flow_apply_would_replace(cli: Any, tmp_path: Path) -> None:
    """Two walk-throughs published a flow by hand, dry-ran apply (nothing said), then applied:
    only then were they told their version was no longer published."""
    shop = _shop(tmp_path, "bicis-pub")
    cli("tenants", "apply", shop)
    by_hand = tmp_path / "by_hand.yaml"
    by_hand.write_text(FLOW.replace('"Hola"', '"Hola de nuevo"'))
    cli("flows", "upload", "bicis-pub", str(by_hand), "--publish")

    planned = cli("tenants", "apply", shop, "--dry-run")

    line = (
        "flow: version 2 would no longer be published; version 1, which holds the file's text, "
        "would be published again"
    )
    assert _warnings(planned) == [f"warning: apply: {line}"]
    assert json.loads(planned.stdout)["published_changed"] == [line]
    assert json.loads(cli("flows", "list", "bicis-pub").stdout)["published_version"] == 2

    (tmp_path / "flow.yaml").write_text(FLOW.replace('"Hola"', '"Buenas"'))
    edited = cli("tenants", "apply", shop, "--dry-run")
    assert _warnings(edited) == [
        "warning: apply: flow: version 2 would no longer be published; the file's text would "
        "be uploaded as a new version and published"
    ]
    cli("tenants", "apply", shop)
    assert _warnings(cli("tenants", "apply", shop, "--dry-run")) == []
