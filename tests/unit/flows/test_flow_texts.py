"""`texts:`, a flow's texts by language, read as `{{ texts.<key> }}` in the conversation's
language (docs/flow-dsl.md, "Several languages"): `settings.language` as it renders, else the
contact's, else the tenant's, else the first language written; a key the language lacks is
the first language's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from botfleet.domain.errors import TemplateError
from botfleet.domain.outputs import Buttons, Output, Text
from botfleet.flows.effects import Diagnostic
from botfleet.flows.engine import TenantInfo
from botfleet.flows.render import Renderer
from botfleet.flows.schema import FlowSpec
from botfleet.flows.state import ConversationState
from botfleet.flows.texts import TextTable
from botfleet.flows.turn import StepContext, TurnBuilder
from botfleet.flows.turn_texts import TextsView, TurnTexts
from botfleet.testing.engine import Conversation, button, flow_from_yaml, text

#: The Barcelona clinic's menu: Catalan first (the default), Spanish lacks `address`.
CLINIC = """\
id: clinic_v1
initial_state: START
settings:
  language: "{{ data.lang }}"
texts:
  ca:
    welcome: "Hola {{ contact.name }}! Què vols fer?"
    menu: {book: Demanar hora, cancel: Anul·lar}
    address: "Carrer de Mallorca 1"
  es:
    welcome: "¡Hola {{ contact.name }}! ¿Qué quieres hacer?"
    menu: {book: Pedir cita, cancel: Anular}
  en:
    welcome: "Hi {{ contact.name }}! What would you like to do?"
    menu: {book: Book, cancel: Cancel}
    address: "1 Mallorca Street"
global_transitions:
  - {on_payload: lang_ca, set_data: {lang: ca}, target: MENU}
  - {on_payload: lang_es, set_data: {lang: es}, target: MENU}
  - {on_payload: lang_en, set_data: {lang: en}, target: MENU}
states:
  START:
    transitions:
      - target: MENU
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "{{ texts.welcome }}"
        buttons:
          - {id: menu_book, title: "{{ texts.menu.book }}"}
          - {id: menu_cancel, title: "{{ texts.menu.cancel }}"}
      - action: send_text
        text: "{{ texts.address }}"
    fallback: MENU
"""


def clinic() -> FlowSpec:
    return flow_from_yaml(CLINIC)


def chat(spec: FlowSpec, *, tenant_language: str = "es") -> Conversation:
    # Strict: a text read as a missing value would fail the test, not render empty.
    return Conversation(spec, tenant=TenantInfo(id="t", language=tenant_language), strict=True)


def shown(outputs: tuple[Output, ...]) -> list[Any]:
    seen: list[Any] = []
    for output in outputs:
        if isinstance(output, Buttons):
            seen.append((output.body, [option.title for option in output.buttons]))
        elif isinstance(output, Text):
            seen.append(output.text)
    return seen


# ---------------------------------------------------------------- the engine


def test_a_contact_who_chose_spanish_reads_spanish_and_one_who_chose_english_english() -> None:
    spec = clinic()
    spanish = chat(spec).send(button("lang_es", contact_name="Ana"))
    english = chat(spec).send(button("lang_en", contact_name="Joe"))
    assert shown(spanish.outputs) == [
        ("¡Hola Ana! ¿Qué quieres hacer?", ["Pedir cita", "Anular"]),
        "Carrer de Mallorca 1",  # `es` has no `address`: the default language's, not empty
    ]
    assert shown(english.outputs) == [
        ("Hi Joe! What would you like to do?", ["Book", "Cancel"]),
        "1 Mallorca Street",
    ]
    assert spanish.diagnostics == english.diagnostics == ()


def test_the_language_set_in_the_turn_is_read_in_that_turn_and_after() -> None:
    talk = chat(clinic(), tenant_language="ca")
    first = talk.send(text("hola"))  # nothing chosen yet: the tenant's language
    switched = talk.send(button("lang_en"))
    later = talk.send(text("?"))
    assert shown(first.outputs)[0][1] == ["Demanar hora", "Anul·lar"]
    assert shown(switched.outputs)[0][1] == ["Book", "Cancel"]
    assert shown(later.outputs)[0][1] == ["Book", "Cancel"]


def test_before_a_choice_the_contacts_language_then_the_tenants_then_the_default() -> None:
    spec = clinic()
    telegram = chat(spec).send(text("hola", language="en-GB"))
    tenant = chat(spec, tenant_language="es").send(text("hola"))
    neither = chat(spec, tenant_language="nl").send(text("hola", language="ar"))
    assert shown(telegram.outputs)[0][1] == ["Book", "Cancel"]
    assert shown(tenant.outputs)[0][1] == ["Pedir cita", "Anular"]
    assert shown(neither.outputs)[0][1] == ["Demanar hora", "Anul·lar"]


def test_a_language_the_table_lacks_falls_to_the_next_one_not_to_empty_texts() -> None:
    dutch = "  - {on_payload: lang_nl, set_data: {lang: nl}, target: MENU}\n"
    spec = flow_from_yaml(CLINIC.replace("states:\n", dutch + "states:\n", 1))
    exchange = chat(spec, tenant_language="en").send(button("lang_nl"))
    assert exchange.state.data["lang"] == "nl"
    assert shown(exchange.outputs)[0][1] == ["Book", "Cancel"]


def test_a_missing_value_inside_a_text_names_the_text_in_strict_mode() -> None:
    spec = flow_from_yaml(
        CLINIC.replace("Carrer de Mallorca 1", "{{ data.street }}").replace(
            "1 Mallorca Street", "{{ data.street }}"
        )
    )
    with pytest.raises(TemplateError) as raised:
        chat(spec).send(button("lang_es"))
    assert "texts.ca.address" in str(raised.value)
    assert "missing value 'street'" in str(raised.value)


# ---------------------------------------------------------------- the table and its reading


def table() -> TextTable:
    found = TextTable.of(
        {"pt_BR": {"hi": "Oi", "menu": {"book": "Marcar"}}, "ca": {"hi": "Hola {{ data.n }}"}}
    )
    assert found is not None
    return found


def test_languages_compare_by_tag_and_by_primary_language() -> None:
    texts = table()
    assert texts.default == "pt_BR"
    assert texts.language_of(["", "CA-es"]) == "ca"
    assert texts.language_of(["pt-br"]) == "pt_BR"
    assert texts.language_of(["nl", " "]) == "pt_BR"
    assert texts.keys == {"hi", "menu.book"} and texts.groups == {"menu"}


def reader(
    languages: list[str], chosen: list[int], *, strict: bool = False
) -> tuple[Renderer, list[Diagnostic]]:
    sink: list[Diagnostic] = []

    def candidates() -> list[str]:
        chosen.append(1)
        return languages

    namespaces = {"data": {"n": "Ana"}}
    turn = TurnTexts(table(), namespaces, candidates, strict=strict, sink=sink)
    return Renderer({**namespaces, "texts": TextsView(turn)}, strict=strict, sink=sink), sink


def test_a_read_renders_the_string_of_the_language_and_falls_back_by_key() -> None:
    chosen: list[int] = []
    renderer, sink = reader(["ca"], chosen)
    assert renderer.text("{{ texts.hi }}!", "t") == "Hola Ana!"
    assert renderer.text("{{ texts.menu.book }} / {{ texts['hi'] }}", "t") == "Marcar / Hola Ana"
    assert renderer.value("{{ texts.menu.book | upper }}", "t") == "MARCAR"
    assert chosen == [1]  # the language is chosen once, on the first read
    assert sink == []


def test_a_template_that_reads_no_text_chooses_no_language() -> None:
    chosen: list[int] = []
    renderer, _ = reader(["ca"], chosen)
    assert renderer.text("{{ data.n }}", "t") == "Ana"
    assert renderer.condition("data.n == 'Ana'", "t") is True
    assert chosen == []


def test_a_key_no_language_has_is_a_missing_value() -> None:
    renderer, sink = reader(["ca"], [])
    assert renderer.text("[{{ texts.nope }}]", "t") == "[]"
    assert [d.detail for d in sink] == ["missing value 'nope'"]
    strict, _ = reader(["ca"], [], strict=True)
    with pytest.raises(TemplateError):
        strict.text("{{ texts.menu.nope }}", "t")


def namespaces_of(spec: FlowSpec) -> dict[str, Any]:
    at = datetime(2024, 5, 6, 9, tzinfo=UTC)
    state = ConversationState("t", "ana", "MENU", at, at)
    return TurnBuilder(spec, state, at, StepContext()).variables()


def test_only_a_flow_with_texts_gives_templates_the_name() -> None:
    without = flow_from_yaml("id: t\ninitial_state: M\nstates: {M: {fallback: M}}\n")
    assert without.text_table is None
    assert "texts" not in namespaces_of(without)
    assert isinstance(namespaces_of(clinic())["texts"], TextsView)


def test_the_docs_example_is_the_flow_the_conversation_test_runs() -> None:
    root = Path(__file__).parents[3]
    docs = (root / "docs" / "flow-dsl.md").read_text(encoding="utf-8")
    section = docs[docs.index("### Several languages") :]
    example = section[section.index("```yaml\n") + 8 : section.index("```\n")]
    tested = root / "tests" / "conversations" / "flows" / "clinic_language_switch_flow.yaml"
    flow = yaml.safe_load(tested.read_text(encoding="utf-8"))
    del flow["id"]
    assert yaml.safe_load(example) == flow
