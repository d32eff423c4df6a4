"""`TurnResult.language`: the language the flow chose for the turn (`settings.language` as it
rendered, else the contact's when the channel gives one) reaches the channel with the replies,
so a channel with words of its own (the web chat page) can follow it. Nothing chosen, and a
duplicate (the journal keeps no language), give "": the tenant's language applies."""

from __future__ import annotations

import dataclasses
from typing import Any

from botfleet.testing.runtime import (
    bootstrap_test_runtime,
    choice_message,
    make_tenant_config,
    text_message,
)


def flow(language: str | None) -> dict[str, Any]:
    settings = {"language": language} if language is not None else {}
    return {
        "id": "turn_language_v1",
        "initial_state": "START",
        "settings": settings,
        "global_transitions": [
            {"on_payload": f"lang_{lang}", "set_data": {"lang": lang}, "target": "START"}
            for lang in ("ca", "en", "nl")
        ],
        "states": {
            "START": {
                "on_enter": [{"action": "send_text", "text": "Idioma? / Language?"}],
                "fallback": "START",
            }
        },
    }


async def test_the_turn_result_names_the_language_the_flow_chose() -> None:
    config = make_tenant_config(flow("{{ data.lang }}"), language="es")
    async with bootstrap_test_runtime(config) as runtime:
        first = await runtime.handle(text_message("ana", "hola"))
        assert first.language == ""  # not chosen yet: the tenant's
        chosen = await runtime.handle(choice_message("ana", "lang_ca", message_id="m-ca"))
        assert chosen.outputs and chosen.language == "ca"
        assert (await runtime.handle(text_message("ana", "bon dia"))).language == "ca"
        # a language the platform has no words in is no choice: the tenant's stays
        assert (await runtime.handle(choice_message("ana", "lang_nl"))).language == ""
        assert (await runtime.handle(choice_message("ana", "lang_en"))).language == "en"
        # a retry is answered from the journal, which keeps no language
        again = await runtime.handle(choice_message("ana", "lang_ca", message_id="m-ca"))
        assert again.duplicate and again.outputs == chosen.outputs
        assert again.language == ""


async def test_without_the_setting_the_contacts_language_is_the_turns() -> None:
    config = make_tenant_config(flow(None), language="es")
    async with bootstrap_test_runtime(config) as runtime:
        assert (await runtime.handle(text_message("ana", "hola"))).language == ""
        told = dataclasses.replace(text_message("bob", "hello"), language="en-GB")
        assert (await runtime.handle(told)).language == "en-GB"  # as Telegram gives it
