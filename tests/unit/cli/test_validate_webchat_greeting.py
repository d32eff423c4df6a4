"""`botfleet validate`: a web chat greeting given by language with none in the tenant's gets a
warning (the page shows the first one listed, in another language)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from botfleet.cli.validation import validate_files

FLOW = {
    "id": "f",
    "initial_state": "A",
    "states": {"A": {"on_enter": [{"action": "send_text", "text": "Olá"}], "fallback": "A"}},
}


def findings(tmp_path: Path, greeting: Any, language: str) -> list[tuple[str, str, str]]:
    (tmp_path / "flow.yaml").write_text(yaml.safe_dump(FLOW), encoding="utf-8")
    tenant = {
        "tenant_id": "barbearia",
        "language": language,
        "flow_path": "flow.yaml",
        "channel": {"type": "webchat", "greeting": greeting},
    }
    (tmp_path / "tenant.yaml").write_text(yaml.safe_dump(tenant), encoding="utf-8")
    reports = validate_files([tmp_path / "tenant.yaml"])
    return [(f.path, f.severity, f.message) for r in reports for f in r.findings]


def test_a_greeting_without_the_tenants_language_is_warned_about(tmp_path: Path) -> None:
    found = findings(tmp_path, {"en": "Hi!", "es": "¡Hola!"}, "pt-PT")
    assert ("channel.greeting", "warning") in [(path, level) for path, level, _ in found]
    (message,) = [m for path, _, m in found if path == "channel.greeting"]
    assert message.startswith("no greeting in the tenant's language 'pt-PT'")
    assert "the one in 'en'" in message


@pytest.mark.parametrize(
    "greeting", ["Olá!", {"pt-BR": "Oi!", "en": "Hi!"}, {"en": "Hi!", "pt": "Olá!"}]
)
def test_a_text_or_one_in_the_tenants_language_gets_no_warning(
    tmp_path: Path, greeting: Any
) -> None:
    found = findings(tmp_path, greeting, "pt-PT")
    assert [f for f in found if f[0] == "channel.greeting"] == []
