"""`botfleet validate` of a safe text given per language (the flow's
`settings.llm_fallback_text`, the tenant's `llm.fallback_text`): a key that is no language code,
a language given twice or an empty text are errors naming the file and key; a map with none in
the tenant's language is warned about (a turn in another language gets the first listed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from botfleet.cli.validation import validate_files

TEXTS = {"es": "No tengo esa información.", "en": "I don't have that information."}


def flow(llm_fallback_text: Any = None) -> dict[str, Any]:
    settings = {} if llm_fallback_text is None else {"llm_fallback_text": llm_fallback_text}
    return {
        "id": "school",
        "initial_state": "MENU",
        "settings": settings,
        "states": {"MENU": {"llm_fallback": True, "fallback": "MENU"}},
    }


def findings(
    tmp_path: Path, *, flow_text: Any = None, tenant_text: Any = None, language: str = "es"
) -> list[tuple[str, str, str, str]]:
    """(file name, path, severity, message) of each finding of the tenant and its flow file."""
    written = yaml.safe_dump(flow(flow_text), sort_keys=False)
    (tmp_path / "flow.yaml").write_text(written, encoding="utf-8")
    llm: dict[str, Any] = {"enabled": True, "provider": "mock_llm"}
    if tenant_text is not None:
        llm["fallback_text"] = tenant_text
    tenant = {
        "tenant_id": "school",
        "language": language,
        "flow_path": "flow.yaml",
        "knowledge": "# School\n- Open 9-14.\n",
        "llm": llm,
    }
    (tmp_path / "tenant.yaml").write_text(yaml.safe_dump(tenant, sort_keys=False), encoding="utf-8")
    reports = validate_files([tmp_path / "tenant.yaml"])
    return [(Path(f.file).name, f.path, f.severity, f.message) for r in reports for f in r.findings]


@pytest.mark.parametrize("language", ["es", "en-GB"])
def test_a_map_with_the_tenants_language_is_fine(tmp_path: Path, language: str) -> None:
    assert findings(tmp_path, flow_text=TEXTS, language=language) == []
    assert findings(tmp_path, tenant_text=TEXTS, language=language) == []


def test_a_plain_text_is_fine_as_before(tmp_path: Path) -> None:
    assert findings(tmp_path, flow_text="Call us.", language="pt") == []
    assert findings(tmp_path, tenant_text="Call us.", language="pt") == []


def test_a_flow_map_without_the_tenants_language_is_warned_about_in_the_flow_file(
    tmp_path: Path,
) -> None:
    (found,) = findings(tmp_path, flow_text=TEXTS, language="pt-PT")
    file, path, severity, message = found
    assert (file, path, severity) == ("flow.yaml", "settings.llm_fallback_text", "warning")
    assert message.startswith("no safe text in the tenant's language 'pt-PT'")
    assert "gets the one in 'es', the first listed; add one under 'pt-PT'" in message


def test_a_tenant_map_without_the_tenants_language_is_warned_about(tmp_path: Path) -> None:
    (found,) = findings(tmp_path, tenant_text={"en": "Call us.", "de": "Anrufen."})
    assert found[:3] == ("tenant.yaml", "llm.fallback_text", "warning")
    assert "no safe text in the tenant's language 'es'" in found[3]
    assert "the one in 'en'" in found[3]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ({"spanish": "Llámenos.", "en": "Call us."}, "'spanish' is not a language tag"),
        ({"es": "Llámenos.", "en": "  "}, "the text in 'en' is empty"),
        ({"es": "Llámenos.", "ES": "Llámenos."}, "'es' and 'ES' are the same language"),
    ],
)
def test_a_wrong_map_is_an_error_naming_file_and_key(
    tmp_path: Path, text: dict[str, str], problem: str
) -> None:
    in_flow = [f for f in findings(tmp_path, flow_text=text) if f[2] == "error"]
    assert [f[:3] for f in in_flow] == [("flow.yaml", "settings.llm_fallback_text", "error")]
    assert problem in in_flow[0][3]
    in_tenant = [f for f in findings(tmp_path, tenant_text=text) if f[2] == "error"]
    assert [f[:3] for f in in_tenant] == [("tenant.yaml", "llm.fallback_text", "error")]
    assert problem in in_tenant[0][3]


def test_template_markup_in_an_entry_is_warned_about_on_its_own_key(tmp_path: Path) -> None:
    text = {"es": "Escríbenos.", "en": "Write to {{ texts.mail }}."}
    (found,) = findings(tmp_path, flow_text=text)
    assert found[:3] == ("flow.yaml", "settings.llm_fallback_text.en", "warning")
    assert "never rendered" in found[3]


def test_an_inline_flows_map_is_warned_about_in_the_tenant_file(tmp_path: Path) -> None:
    tenant = {
        "tenant_id": "school",
        "language": "ca",
        "flow": flow(TEXTS),
        "knowledge": "# School\n",
        "llm": {"enabled": True},
    }
    (tmp_path / "tenant.yaml").write_text(yaml.safe_dump(tenant, sort_keys=False), encoding="utf-8")
    (report,) = validate_files([tmp_path / "tenant.yaml"])
    (found,) = report.findings
    assert (found.path, found.severity, found.line) == (
        "flow.settings.llm_fallback_text",
        "warning",
        yaml.safe_dump(tenant, sort_keys=False).splitlines().index("    llm_fallback_text:") + 1,
    )
