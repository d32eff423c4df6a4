"""`settings.language`: the language a flow chose for the conversation (`"{{ data.lang }}"`)
chooses the platform's own words (a list's default label, the menu words, the built-in
apology) before the contact's and the tenant's; the engine carries it out in
`StepResult.language` for the shell's words. Blank, missing or unknown: as without it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from botfleet.domain.built_in_texts import BUILT_IN_TEXTS
from botfleet.domain.outputs import ListMenu
from botfleet.flows.engine import TenantInfo
from botfleet.flows.events import ConnectorFailed
from botfleet.flows.schema import FlowSpec
from botfleet.flows.turn import turn_language
from botfleet.testing.engine import Conversation, Exchange, button, flow_from_yaml

ROWS = [{"id": f"r{n}", "title": f"Row {n}"} for n in range(4)]


def flow(language: str | None = "{{ data.lang }}", **settings: Any) -> FlowSpec:
    """`ca`/`en`/`nl` set `data.lang` and show LIST (a list without `button_label`); `book`
    calls a connector with no `on_error` (a failure gets the apology); the task `remind`
    shows the list."""
    written = {"action": "send_interactive_list", "body": "Tria", "sections": [{"rows": ROWS}]}
    if language is not None:
        settings["language"] = language
    spec = {
        "id": "langs_v1",
        "initial_state": "MENU",
        "settings": settings,
        "tasks": {"remind": [written]},
        "global_transitions": [
            *(
                {"on_payload": lang, "set_data": {"lang": lang}, "target": "LIST"}
                for lang in ("ca", "en", "nl")
            ),
            {"on_payload": "list", "target": "LIST"},
            {"on_payload": "book", "target": "BOOK"},
        ],
        "states": {
            "MENU": {"fallback": "MENU"},
            "LIST": {"on_enter": [written], "fallback": "LIST"},
            "BOOK": {
                "on_enter": [
                    {"action": "invoke_connector", "connector": "mock", "operation": "book"}
                ],
                "next": "MENU",
            },
        },
    }
    return flow_from_yaml(yaml.safe_dump(spec, allow_unicode=True))


def chat(spec: FlowSpec, *, strict: bool = False) -> Conversation:
    """A Spanish tenant's contact."""
    return Conversation(spec, tenant=TenantInfo(id="t", language="es"), strict=strict)


def label_of(exchange: Exchange) -> str:
    (menu,) = exchange.outputs
    assert isinstance(menu, ListMenu)
    return menu.button_label


def test_the_flows_language_chosen_in_the_turn_gives_the_list_label() -> None:
    # A Telegram contact whose app is in English presses "Català": the list that follows, in
    # the same turn, opens under the Catalan word, not the English one.
    exchange = chat(flow()).send(button("ca", language="en"))
    assert label_of(exchange) == "Opcions"
    assert exchange.steps[-1].language == "ca"
    assert exchange.diagnostics == ()


def test_it_wins_over_the_contacts_language_on_later_turns() -> None:
    talk = chat(flow())
    talk.send(button("en"))
    exchange = talk.send(button("list", language="ca"))  # Telegram in Catalan, English chosen
    assert label_of(exchange) == "Options"
    assert exchange.steps[-1].language == "en"


def test_the_apology_follows_it() -> None:
    talk = chat(flow()).with_data(lang="ca")
    waiting = talk.send(button("book", language="en"))
    (call,) = waiting.calls
    exchange = talk.resume(ConnectorFailed(call.request_id, "unavailable", "down"))
    assert exchange.texts == [BUILT_IN_TEXTS["ca"].error]
    assert exchange.steps[-1].language == "ca"


def test_a_region_is_a_language_the_platform_has() -> None:
    talk = chat(flow("{{ data.lang }}-ES"))
    exchange = talk.send(button("ca", language="en"))
    assert label_of(exchange) == "Opcions"
    assert exchange.steps[-1].language == "ca-ES"


def test_a_written_language_applies_to_every_turn() -> None:
    exchange = chat(flow("de")).send(button("list", language="en"))
    assert label_of(exchange) == "Optionen"


@pytest.mark.parametrize("strict", [False, True])
def test_before_the_contact_chooses_it_is_as_without_it_and_says_nothing(strict: bool) -> None:
    # An undefined `data.lang` is the common case of a new contact, not a mistake: no warning
    # each turn, and no strict-mode failure either.
    exchange = chat(flow(), strict=strict).send(button("list", language="pt"))
    assert label_of(exchange) == "Opções"  # the contact's, as before
    assert exchange.steps[-1].language == "pt"
    assert exchange.diagnostics == ()


def test_a_language_without_built_in_words_leaves_the_choice_to_the_contacts() -> None:
    exchange = chat(flow()).send(button("nl", language="it"))
    assert label_of(exchange) == "Opzioni"
    assert exchange.steps[-1].language == "it"
    assert exchange.diagnostics == ()


def test_without_the_setting_nothing_changes() -> None:
    exchange = chat(flow(None)).send(button("ca", language="en"))
    assert label_of(exchange) == "Options"  # the contact's, whatever `data.lang` says
    assert exchange.steps[-1].language == "en"


def test_without_a_contact_language_the_tenants_is_left() -> None:
    exchange = chat(flow(None)).send(button("list"))
    assert label_of(exchange) == "Opciones"
    assert exchange.steps[-1].language == ""


def test_a_tasks_turn_follows_the_contacts_chosen_language() -> None:
    # A task's turn has no message: before, only the tenant's language was left.
    exchange = chat(flow()).with_data(lang="ca").fire_task("remind")
    assert label_of(exchange) == "Opcions"


def test_the_flows_own_menu_texts_still_win() -> None:
    spec = flow(menu_texts={"list_button": "Veure"})
    assert label_of(chat(spec).send(button("ca", language="en"))) == "Veure"


def test_turn_language_gives_the_shell_the_same_choice_for_a_state() -> None:
    # For a turn whose first step failed before giving a result (a strict template's error).
    talk = chat(flow()).with_data(lang="ca")
    message = button("list", language="en")
    assert turn_language(talk.flow, talk.state, talk.clock.now(), talk.ctx, message) == "ca"
    plain = chat(flow(None)).with_data(lang="ca")
    assert turn_language(plain.flow, plain.state, plain.clock.now(), plain.ctx, message) == "en"


@pytest.mark.parametrize(
    ("tenant", "chosen", "language"),
    [
        ("pt-PT", "pt", "pt-PT"),  # a Lisbon tenant's flow choosing `pt`: Portugal's words
        ("pt-BR", "pt", "pt-BR"),
        ("pt", "pt", "pt"),
        ("es", "pt", "pt"),  # another language's region says nothing about Portuguese
        ("pt-PT", "pt-BR", "pt-BR"),  # a region chosen is kept
        ("en-GB", "EN", "en-GB"),
    ],
)
def test_a_language_without_its_region_takes_the_tenants_region(
    tenant: str, chosen: str, language: str
) -> None:
    spec = flow(language=chosen)
    talk = Conversation(spec, tenant=TenantInfo(id="t", language=tenant))
    assert talk.press("list").steps[-1].language == language
