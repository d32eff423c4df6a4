"""A flow's `settings.llm_fallback_text` checked alone: one text or one per language code; a
wrong map is an error on the setting's line, `{{ }}` in one language a warning on its own."""

from __future__ import annotations

import pytest

from botfleet.domain.errors import FlowValidationError
from botfleet.flows.load import load_flow_text

FLOW = """\
id: t
initial_state: A
settings:
  llm_fallback_text:
{entries}
states:
  A: {{llm_fallback: true, fallback: A}}
"""


def load(*entries: str) -> list[tuple[int | None, str, str, str]]:
    text = FLOW.format(entries="\n".join(f"    {entry}" for entry in entries))
    try:
        flow = load_flow_text(text, "t.yaml")
    except FlowValidationError as exc:
        return [(i.line, i.path, i.severity, i.message) for i in exc.issues]
    return [(i.line, i.path, i.severity, i.message) for i in flow.warnings]


def test_a_map_by_language_loads_and_keeps_its_order() -> None:
    text = FLOW.format(entries='    es: "Llámenos."\n    en: "Call us."')
    settings = load_flow_text(text, "t.yaml").spec.settings
    assert settings.llm_fallback_text == {"es": "Llámenos.", "en": "Call us."}


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        (('spanish: "Llámenos."',), "'spanish' is not a language tag"),
        (('es: "Llámenos."', 'en: ""'), "the text in 'en' is empty"),
        (('es: "Llámenos."', "en: [a, b]"), "the value under 'en' is not a text"),
    ],
)
def test_a_wrong_map_is_an_error_on_the_settings_line(
    entries: tuple[str, ...], problem: str
) -> None:
    ((line, path, severity, message),) = load(*entries)
    assert (line, path, severity) == (4, "settings.llm_fallback_text", "error")
    assert message.startswith(problem)


def test_markup_in_one_language_is_warned_about_on_its_line() -> None:
    found = load('es: "Escríbenos."', 'en: "Write to {{ texts.mail }}."')
    assert [(line, path) for line, path, *_ in found] == [(6, "settings.llm_fallback_text.en")]
    assert "never rendered" in found[0][3]
