"""A flow's own list without `button_label` (`send_interactive_list`, `send_dynamic_options`)
gets the word degradation gives the contact's lists: `settings.menu_texts.list_button`, else
the contact's language, else the tenant's, else English (docs/flow-dsl.md, "Actions")."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from botfleet.domain.degrade import BUILT_IN_MENU_TEXTS, LIST_LABEL
from botfleet.domain.outputs import ListMenu
from botfleet.flows.effects import CallConnector
from botfleet.flows.engine import TenantInfo
from botfleet.flows.events import ConnectorReplied
from botfleet.flows.schema import FlowSpec
from botfleet.testing.engine import Conversation, Exchange, button, flow_from_yaml

ROWS = [{"id": "r1", "title": "One"}, {"id": "r2", "title": "Two"}]
# Four items: more than three choices are sent as a list, never as buttons.
ITEMS = [{"id": f"i{n}", "title": f"Item {n}"} for n in range(4)]


def flow(*, label: str | None = None, settings: dict[str, Any] | None = None) -> FlowSpec:
    """`list` shows LIST (a written list), `dynamic` DYNAMIC (dynamic options from a connector
    result); the task `remind` shows the written list too. `label`: both actions' label."""
    written: dict[str, Any] = {
        "action": "send_interactive_list",
        "body": "Pick",
        "sections": [{"rows": ROWS}],
    }
    dynamic: dict[str, Any] = {
        "action": "send_dynamic_options",
        "source_key": "items",
        "text": "Pick",
    }
    if label is not None:
        written["button_label"] = dynamic["button_label"] = label
    spec = {
        "id": "labels_v1",
        "initial_state": "MENU",
        "settings": settings or {},
        "tasks": {"remind": [written]},
        "global_transitions": [
            {"on_payload": "list", "target": "LIST"},
            {"on_payload": "dynamic", "target": "DYNAMIC"},
        ],
        "states": {
            "MENU": {"fallback": "MENU"},
            "LIST": {"on_enter": [written], "fallback": "LIST"},
            "DYNAMIC": {
                "on_enter": [
                    {
                        "action": "invoke_connector",
                        "connector": "mock",
                        "operation": "items",
                        "result_key": "items",
                    },
                    dynamic,
                ],
                "fallback": "DYNAMIC",
            },
        },
    }
    return flow_from_yaml(yaml.safe_dump(spec, allow_unicode=True))


def chat(spec: FlowSpec, tenant_language: str) -> Conversation:
    return Conversation(
        spec,
        tenant=TenantInfo(id="t", language=tenant_language),
        answer=lambda call: ConnectorReplied(call.request_id, ITEMS),
    )


def label_of(exchange: Exchange) -> str:
    (menu,) = exchange.outputs
    assert isinstance(menu, ListMenu)
    return menu.button_label


def labels(
    spec: FlowSpec, *, tenant_language: str = "en", contact_language: str = ""
) -> tuple[str, str]:
    """The labels of the written list and of the dynamic options, for one contact."""
    talk = chat(spec, tenant_language)
    written = label_of(talk.send(button("list", language=contact_language)))
    dynamic = label_of(talk.send(button("dynamic", language=contact_language)))
    return written, dynamic


def test_a_spanish_tenants_lists_without_a_label_get_opciones() -> None:
    assert labels(flow(), tenant_language="es") == ("Opciones", "Opciones")


@pytest.mark.parametrize("language", sorted(BUILT_IN_MENU_TEXTS))
def test_each_built_in_language_gives_its_own_word(language: str) -> None:
    word = BUILT_IN_MENU_TEXTS[language].list_button
    assert labels(flow(), tenant_language=language) == (word, word)


def test_the_contacts_language_wins_over_the_tenants() -> None:
    assert labels(flow(), tenant_language="es", contact_language="pt-BR") == ("Opções", "Opções")


def test_a_language_without_built_in_words_gets_english() -> None:
    assert labels(flow(), tenant_language="nl") == (LIST_LABEL, LIST_LABEL)


def test_the_flows_menu_texts_win_over_any_language() -> None:
    spec = flow(settings={"menu_texts": {"list_button": "Ver opciones"}})
    assert labels(spec, tenant_language="de", contact_language="pt") == (
        "Ver opciones",
        "Ver opciones",
    )


@pytest.mark.parametrize("label", ["Tratamientos", "Options", "{{ 'Horas' }}"])
def test_a_written_label_is_kept_whatever_the_language(label: str) -> None:
    expected = "Horas" if label.startswith("{{") else label
    spec = flow(label=label, settings={"menu_texts": {"list_button": "Ver"}})
    assert labels(spec, tenant_language="es", contact_language="pt") == (expected, expected)


@pytest.mark.parametrize("label", ["", "  ", "{{ data.nothing | default('') }}"])
def test_a_label_that_renders_blank_gets_the_word_too(label: str) -> None:
    # Channels would put their own English "Options" behind a blank label.
    assert labels(flow(label=label), tenant_language="es") == ("Opciones", "Opciones")


def test_a_tasks_list_follows_the_tenants_language() -> None:
    # A task's turn has no message, so no contact language: as the data plane degrades it.
    exchange = chat(flow(), "ca").fire_task("remind")
    assert label_of(exchange) == "Opcions"


def test_a_list_sent_after_a_connector_reply_keeps_the_contacts_language() -> None:
    talk = Conversation(flow(), tenant=TenantInfo(id="t", language="es"))
    waiting = talk.send(button("dynamic", language="de"))
    (call,) = [e for e in waiting.effects if isinstance(e, CallConnector)]
    exchange = talk.resume(ConnectorReplied(call.request_id, ITEMS))
    assert label_of(exchange) == "Optionen"
