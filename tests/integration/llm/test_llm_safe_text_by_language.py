"""A safe text given per language, through the real runtime: a turn in English and one in
Spanish each get their own, whether the flow's `settings.llm_fallback_text` or the tenant's
`llm.fallback_text` gives them, and whether the model said "out of scope" or the provider has no
key (docs/llm.md, "Configuration")."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import respx
from respx_httpx2 import mock_sdk

from botfleet.domain.outputs import Text
from botfleet.domain.tenant_config import TenantConfig
from botfleet.testing.runtime import (
    bootstrap_test_runtime,
    choice_message,
    make_tenant_config,
    text_message,
)

BASE = "https://anthropic.llm.test"
CONTACT = "+34600000002"
FLOW_TEXTS = {
    "es": "No tengo esa información. Escríbenos a info@escuela.es.",
    "en": "I don't have that information. Write to info@escuela.es.",
}
TENANT_TEXTS = {"es": "Llámenos al 600 000 000.", "en": "Call us on 600 000 000."}
#: Every question is out of the document's scope.
OUT_OF_SCOPE = {"provider": "mock_llm", "answers": [{"pattern": ".", "in_scope": False}]}


def school(*, flow_text: Any = None, **llm: Any) -> TenantConfig:
    """A Spanish school whose menu lets the contact pick Spanish or English."""
    settings: dict[str, Any] = {"language": "{{ data.lang }}"}
    if flow_text is not None:
        settings["llm_fallback_text"] = flow_text
    flow = {
        "id": "school",
        "initial_state": "MENU",
        "settings": settings,
        "states": {
            "MENU": {
                "llm_fallback": True,
                "on_enter": [
                    {
                        "action": "send_interactive_buttons",
                        "body": "Hola / Hello",
                        "buttons": [
                            {"id": "lang_es", "title": "Español"},
                            {"id": "lang_en", "title": "English"},
                        ],
                    }
                ],
                "transitions": [
                    {"on_payload": "lang_es", "set_data": {"lang": "es"}, "target": "MENU"},
                    {"on_payload": "lang_en", "set_data": {"lang": "en"}, "target": "MENU"},
                ],
                "fallback": "MENU",
            }
        },
    }
    return make_tenant_config(
        flow,
        name="Escuela",
        language="es",
        knowledge="# Escuela\n- Horario: 9:00-14:00.\n",
        llm={"enabled": True, **llm},
    )


async def answers(config: TenantConfig, steps: list[tuple[str, str]]) -> list[list[str]]:
    """The texts answering each step: ("press", payload) or ("ask", question) or
    ("ask:<language>", question) for a channel that gives the contact's language. The contact
    has said hello first (a new contact's first message gets the menu, never the LLM)."""
    answered = []
    async with bootstrap_test_runtime(config) as runtime:
        await runtime.handle(text_message(CONTACT, "hello"))
        for kind, value in steps:
            if kind == "press":
                message = choice_message(CONTACT, value)
            else:
                language = kind.partition(":")[2]
                message = replace(text_message(CONTACT, value), language=language)
            outputs = (await runtime.handle(message)).outputs
            answered.append([o.text for o in outputs if isinstance(o, Text)])
    return answered


CHOOSING = [
    ("press", "lang_en"),
    ("ask", "Is there a cafeteria?"),
    ("press", "lang_es"),
    ("ask", "¿Hay cafetería?"),
]


async def test_the_flows_text_follows_the_language_the_contact_chose() -> None:
    found = await answers(school(flow_text=FLOW_TEXTS, **OUT_OF_SCOPE), CHOOSING)
    assert found[1] == [FLOW_TEXTS["en"]]
    assert found[3] == [FLOW_TEXTS["es"]]


async def test_the_tenants_text_follows_the_contacts_language() -> None:
    """No choice made: the contact's language when the channel gives it, else the tenant's."""
    config = school(fallback_text=TENANT_TEXTS, **OUT_OF_SCOPE)
    found = await answers(
        config,
        [
            ("ask:en-GB", "Is there a cafeteria?"),
            ("ask:es", "¿Hay cafetería?"),
            ("ask", "Cafeteria?"),
        ],
    )
    assert found == [[TENANT_TEXTS["en"]], [TENANT_TEXTS["es"]], [TENANT_TEXTS["es"]]]


async def test_the_tenants_text_wins_in_each_language() -> None:
    config = school(flow_text=FLOW_TEXTS, fallback_text=TENANT_TEXTS, **OUT_OF_SCOPE)
    found = await answers(config, CHOOSING)
    assert (found[1], found[3]) == ([TENANT_TEXTS["en"]], [TENANT_TEXTS["es"]])


async def test_a_language_the_map_lacks_gets_the_tenants() -> None:
    config = school(fallback_text=TENANT_TEXTS, **OUT_OF_SCOPE)
    found = await answers(config, [("ask:de", "Gibt es eine Cafeteria?")])
    assert found == [[TENANT_TEXTS["es"]]]


async def test_one_text_is_sent_in_every_language_as_before() -> None:
    found = await answers(school(flow_text="Call / Llame: 600 000 000.", **OUT_OF_SCOPE), CHOOSING)
    assert found[1] == found[3] == ["Call / Llame: 600 000 000."]


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    """An Anthropic provider with no key anywhere; a request to it would be recorded."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with mock_sdk(BASE) as router:
        yield router


async def test_without_a_key_each_language_gets_its_own_safe_text(
    no_key: respx.MockRouter,
) -> None:
    route = no_key.post("/v1/messages")
    config = school(flow_text=FLOW_TEXTS, provider="anthropic", base_url=BASE)
    found = await answers(config, CHOOSING)
    assert (found[1], found[3]) == ([FLOW_TEXTS["en"]], [FLOW_TEXTS["es"]])
    assert not route.called
