"""A small tenant for LLM tests through the real runtime: a menu with an LLM fallback, a booking
state that calls the calendar, a recording calendar, and shortcuts to talk and inspect state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from botfleet.adapters.connectors.scripted import OperationScript, ScriptedConnector
from botfleet.adapters.llm.quota import InMemoryUsageStore
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.domain.outputs import Output, Text
from botfleet.domain.tenant_config import TenantConfig
from botfleet.flows.state import ConversationState
from botfleet.testing.runtime import (
    bootstrap_test_runtime,
    choice_message,
    make_tenant_config,
    text_message,
)

KNOWLEDGE = """# Bella Hair Studio
- Opening hours: Monday to Friday 10:00-14:00; Saturday 10:00-14:00.
- Prices: haircut 18 €, colour 45 €.
- Parking: public car park on Calle Mayor 20.
"""
KNOWLEDGE_LINES = [line.lstrip("-# ").strip() for line in KNOWLEDGE.splitlines() if line.strip()]
SAFE = "I don't have that information. Call us on +34 600 000 000."
MENU = "What would you like to do?"

FLOW: dict[str, Any] = {
    "id": "llm_matrix_v1",
    "initial_state": "MENU",
    "settings": {"llm_fallback_text": SAFE},
    "states": {
        "MENU": {
            "llm_fallback": True,
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": MENU,
                    "buttons": [
                        {"id": "menu_book", "title": "Book"},
                        {"id": "menu_hours", "title": "Opening hours"},
                    ],
                }
            ],
            "transitions": [
                {"on_payload": "menu_book", "target": "BOOK"},
                {"on_payload": "menu_hours", "target": "HOURS"},
            ],
            "fallback": "MENU",
        },
        "BOOK": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "calendar",
                    "operation": "book_appointment",
                    "params": {"slot": "2024-05-06_1000"},
                    "result_key": "booking",
                },
                {"action": "send_text", "text": "Booked."},
            ],
            "next": "MENU",
        },
        "HOURS": {
            "on_enter": [{"action": "send_text", "text": "We open at 10."}],
            "next": "MENU",
        },
    },
}


def tenant(llm: dict[str, Any] | None = None, **raw: Any) -> TenantConfig:
    """The test tenant with the LLM enabled (mock provider) unless `llm` says otherwise."""
    settings: dict[str, Any] = {
        "enabled": True,
        "provider": "mock_llm",
        "resilience": {"backoff_initial_s": 0, "backoff_max_s": 0, "backoff_jitter_s": 0},
        **(llm or {}),
    }
    fields: dict[str, Any] = {
        "knowledge": KNOWLEDGE,
        "connectors": {"calendar": {"type": "mock_calendar"}},  # tests swap in a recorder
        **raw,
    }
    return make_tenant_config(FLOW, name="Bella Hair Studio", llm=settings, **fields)


def calendar() -> ScriptedConnector:
    script = OperationScript(result={"success": True, "event_id": "e1"})
    return ScriptedConnector({"book_appointment": script}, category="calendar")


@dataclass
class Bot:
    runtime: ConversationRuntime
    calendar: ScriptedConnector
    contact: str = "+34600000001"

    async def say(self, text: str) -> list[Output]:
        return list((await self.runtime.handle(text_message(self.contact, text))).outputs)

    async def press(self, payload: str) -> list[Output]:
        return list((await self.runtime.handle(choice_message(self.contact, payload))).outputs)

    async def state(self) -> ConversationState:
        state = await self.runtime.states.load(self.contact)
        assert state is not None
        return state


def texts(outputs: list[Output]) -> list[str]:
    return [o.text if isinstance(o, Text) else getattr(o, "body", "") for o in outputs]


def fingerprint(state: ConversationState) -> tuple[Any, ...]:
    """What an LLM answer must never change: the node, the data, the offered options."""
    return (state.node, dict(state.data), state.last_options, state.awaiting)


@asynccontextmanager
async def running_bot(
    config: TenantConfig | None = None, *, usage: InMemoryUsageStore | None = None, **fakes: Any
) -> AsyncIterator[Bot]:
    """The runtime for `config` (default `tenant()`), with a recording calendar.

    The contact starts by pressing "Opening hours", so it sits in MENU with the menu shown.
    """
    cal = calendar()
    async with bootstrap_test_runtime(
        config or tenant(),
        connectors={"calendar": cal},
        llm_usage=usage or InMemoryUsageStore(),
        **fakes,
    ) as runtime:
        bot = Bot(runtime, cal)
        await bot.press("menu_hours")
        yield bot
