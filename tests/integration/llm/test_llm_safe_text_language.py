"""The LLM fallback's built-in safe text follows the contact's language, else the tenant's; the
flow's `settings.llm_fallback_text` and the tenant's `llm.fallback_text` win over it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from llm_runtime_kit import FLOW, KNOWLEDGE, running_bot, texts

from botfleet.adapters.llm.quota import InMemoryUsageStore
from botfleet.data_plane.llm_fallback import build_llm_fallback
from botfleet.domain.built_in_texts import BUILT_IN_TEXTS
from botfleet.domain.tenant_config import TenantConfig
from botfleet.ports.connectors import LLMReply
from botfleet.testing.clock import FrozenClock
from botfleet.testing.llm import ScriptedLLM, context, out_of_scope
from botfleet.testing.runtime import make_tenant_config, text_message

OUT_OF_SCOPE = "What's the weather like tomorrow?"


def tenant(language: str, *, flow_text: str | None = None, **llm: Any) -> TenantConfig:
    settings = {} if flow_text is None else {"llm_fallback_text": flow_text}
    return make_tenant_config(
        {**FLOW, "settings": settings},
        name="Bella Hair Studio",
        language=language,
        knowledge=KNOWLEDGE,
        connectors={"calendar": {"type": "mock_calendar"}},
        llm={"enabled": True, "provider": "mock_llm", **llm},
    )


async def ask(config: TenantConfig, contact_language: str = "") -> list[str]:
    async with running_bot(config) as bot:
        message = replace(text_message(bot.contact, OUT_OF_SCOPE), language=contact_language)
        return texts(list((await bot.runtime.handle(message)).outputs))


async def test_a_spanish_tenant_without_texts_gets_the_spanish_safe_text() -> None:
    assert await ask(tenant("es")) == [BUILT_IN_TEXTS["es"].llm_fallback]


async def test_the_contacts_language_wins_over_the_tenants() -> None:
    assert await ask(tenant("es"), "it") == [BUILT_IN_TEXTS["it"].llm_fallback]


async def test_the_flows_safe_text_wins_over_the_built_in_one() -> None:
    assert await ask(tenant("es", flow_text="Llámanos."), "de") == ["Llámanos."]


async def test_the_tenants_safe_text_wins_over_the_flows() -> None:
    config = tenant("es", flow_text="Llámanos.", fallback_text="Escríbenos.")
    assert await ask(config) == ["Escríbenos."]


@dataclass
class Live:
    knowledge: str = KNOWLEDGE
    knowledge_version: str = "v1"

    def swap_knowledge(self, text: str, version: str) -> None:
        self.knowledge, self.knowledge_version = text, version


async def test_the_fallback_asked_without_a_text_uses_the_language_it_is_given() -> None:
    """Any caller of the fallback that passes no text (not only the runtime) gets the
    context's language (the tenant's), not English."""
    fallback = build_llm_fallback(
        tenant("pt"),
        live=Live(),
        usage=InMemoryUsageStore(),
        clock=FrozenClock(),
        max_text=4096,
        connector=ScriptedLLM([out_of_scope()]),
    )
    reply = await fallback.reply(OUT_OF_SCOPE, context(language="pt-PT"), "")
    assert reply == LLMReply(BUILT_IN_TEXTS["pt"].llm_fallback, "out_of_scope")


async def test_a_question_too_long_is_asked_shorter_in_the_contacts_language() -> None:
    """Through the runtime: the turn's language (the contact's here) reaches the fallback."""
    config = tenant("es", flow_text="Llámanos.", max_question_chars=20)
    async with running_bot(config) as bot:
        message = replace(text_message(bot.contact, "x " * 40), language="it")
        answered = texts(list((await bot.runtime.handle(message)).outputs))
    assert answered == [BUILT_IN_TEXTS["it"].llm_too_long]
