"""The engine's default apology (`TurnBuilder.error_text`) follows the contact's language, else
the tenant's, else English; the flow's `settings.error_text` always wins."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from botfleet.domain.built_in_texts import BUILT_IN_TEXTS
from botfleet.domain.outputs import Text
from botfleet.flows.engine import TenantInfo
from botfleet.flows.events import ConnectorFailed
from botfleet.flows.schema import FlowSpec
from botfleet.flows.turn import DEFAULT_ERROR_TEXT
from botfleet.testing.engine import Conversation, button, flow_from_yaml


def flow(settings: dict[str, Any] | None = None) -> FlowSpec:
    """`look` calls a connector with no `on_error`; `lost` enters a state that is not there
    (loaded unvalidated, as a flow written by hand could be)."""
    spec = {
        "id": "apology_v1",
        "initial_state": "MENU",
        "settings": settings or {},
        "states": {
            "MENU": {
                "transitions": [
                    {"on_payload": "look", "target": "LOOK"},
                    {"on_payload": "lost", "target": "NOWHERE"},
                ],
                "fallback": "MENU",
            },
            "LOOK": {
                "on_enter": [
                    {"action": "invoke_connector", "connector": "mock", "operation": "find"}
                ],
                "fallback": "MENU",
            },
        },
    }
    return flow_from_yaml(yaml.safe_dump(spec), validate=False)


def failed_call(spec: FlowSpec, tenant_language: str, contact_language: str = "") -> list[str]:
    chat = Conversation(
        spec,
        tenant=TenantInfo(id="t", language=tenant_language),
        answer=lambda call: ConnectorFailed(call.request_id, "timeout", "no answer"),
    )
    exchange = chat.send(button("look", language=contact_language))
    return exchange.texts


def test_a_spanish_tenants_contact_gets_the_apology_in_spanish() -> None:
    assert failed_call(flow(), "es") == [BUILT_IN_TEXTS["es"].error]
    assert BUILT_IN_TEXTS["es"].error != DEFAULT_ERROR_TEXT


@pytest.mark.parametrize(("contact", "expected"), [("it", "it"), ("pt-BR", "pt"), ("nl", "es")])
def test_the_contacts_language_wins_when_the_channel_gives_one(contact: str, expected: str) -> None:
    assert failed_call(flow(), "es", contact) == [BUILT_IN_TEXTS[expected].error]


def test_a_tenant_language_without_built_in_words_gets_english() -> None:
    assert failed_call(flow(), "ja") == [DEFAULT_ERROR_TEXT]


def test_the_flows_own_error_text_wins_in_any_language() -> None:
    own = flow({"error_text": "Ups, vuelve a intentarlo."})
    assert failed_call(own, "fr", "de") == ["Ups, vuelve a intentarlo."]


def test_an_unknown_state_gets_the_apology_of_the_tenants_language() -> None:
    chat = Conversation(flow(), tenant=TenantInfo(id="t", language="ca"))
    exchange = chat.send(button("lost"))
    assert exchange.outputs == (Text(BUILT_IN_TEXTS["ca"].error),)
