"""The words the data plane adds itself (a WhatsApp-degraded menu's hint and list label, the
LLM's built-in safe text, the apology of a strict template's failure) follow the flow's
`settings.language` as the engine chose it (`StepResult.language`), not the message's or the
tenant's: a Barcelona clinic's Catalan conversation on WhatsApp, on a Spanish tenant."""

from __future__ import annotations

from typing import Any

import yaml

from botfleet.domain.built_in_texts import BUILT_IN_TEXTS
from botfleet.domain.degrade import BUILT_IN_MENU_TEXTS
from botfleet.domain.outputs import ListMenu, Output, Text
from botfleet.testing.llm import ScriptedLLM, out_of_scope
from botfleet.testing.runtime import make_tenant_config
from botfleet.testing.sandbox import Contact, open_sandbox
from botfleet.testing.sandbox_channels import sandbox_channel

CATALAN = BUILT_IN_MENU_TEXTS["ca"]
SPANISH = BUILT_IN_MENU_TEXTS["es"]
DAYS = [{"id": f"day_{n}", "title": f"Dia {n}"} for n in range(1, 13)]  # over WhatsApp's 10 rows


def flow(*, language: str | None = "{{ data.lang }}") -> dict[str, Any]:
    settings: dict[str, Any] = {"strict_templates": True}
    if language is not None:
        settings["language"] = language
    return {
        "id": "clinic_langs_v1",
        "initial_state": "START",
        "settings": settings,
        "global_transitions": [
            {"on_payload": f"lang_{lang}", "set_data": {"lang": lang}, "target": "DAYS"}
            for lang in ("ca", "es", "en")
        ],
        "states": {
            "START": {
                "on_enter": [
                    {
                        "action": "send_interactive_buttons",
                        "body": "Idioma?",
                        "buttons": [
                            {"id": "lang_ca", "title": "Català"},
                            {"id": "lang_es", "title": "Español"},
                            {"id": "lang_en", "title": "English"},
                        ],
                    }
                ],
                "fallback": "START",
            },
            "DAYS": {
                "llm_fallback": True,
                "on_enter": [
                    {
                        "action": "send_interactive_list",
                        "body": "Quin dia?",
                        "button_label": "Dies",
                        "sections": [{"rows": DAYS}],
                    }
                ],
                "transitions": [
                    {"on_payload_prefix": "day_", "target": "TIMES"},
                    {"on_payload": "broken", "target": "BROKEN"},
                ],
                "fallback": "DAYS",
            },
            "TIMES": {
                "on_enter": [
                    {
                        "action": "send_interactive_buttons",
                        "body": "Quina hora?",
                        "buttons": [
                            {"id": f"t{n}", "title": f"{9 + n}:00"} for n in range(4)
                        ],  # over WhatsApp's 3 buttons: a list behind the list button's word
                    }
                ],
                "fallback": "TIMES",
            },
            "BROKEN": {"on_enter": [{"action": "send_text", "text": "{{ data.lang.nothing }}"}]},
        },
    }


def tenant(**flow_args: Any) -> Any:
    return make_tenant_config(
        yaml.safe_load(yaml.safe_dump(flow(**flow_args))),
        language="es",
        knowledge="# Clínica\n- Horari: de 9 a 14.\n",
        llm={"enabled": True, "provider": "mock_llm"},
    )


def only_text(outputs: list[Output]) -> str:
    (output,) = outputs
    assert isinstance(output, Text)
    return output.text


async def test_a_catalan_conversation_on_whatsapp_gets_catalan_menu_words() -> None:
    async with open_sandbox(tenant(), channel=sandbox_channel("whatsapp")) as bot:
        await bot.say("hola")
        days = only_text(await bot.press("lang_ca"))  # 12 rows: numbered text
        assert days.startswith("Quin dia?\n")
        assert days.endswith(CATALAN.number_hint)
        assert SPANISH.number_hint not in days
        (times,) = await bot.press("day_1")  # 4 buttons: a list
        assert isinstance(times, ListMenu)
        assert times.button_label == CATALAN.list_button


async def test_without_the_setting_the_tenants_words_stay() -> None:
    async with open_sandbox(tenant(language=None), channel=sandbox_channel("whatsapp")) as bot:
        await bot.say("hola")
        assert only_text(await bot.press("lang_ca")).endswith(SPANISH.number_hint)
        (times,) = await bot.press("day_1")
        assert isinstance(times, ListMenu)
        assert times.button_label == SPANISH.list_button


async def test_the_flows_choice_wins_over_a_telegram_contacts_language() -> None:
    # A contact whose Telegram is in Catalan picks English: English words, not Catalan.
    config, contact = tenant(), Contact(language="ca")
    async with open_sandbox(config, channel=sandbox_channel("telegram"), contact=contact) as bot:
        await bot.say("hola")
        await bot.press("lang_en")
        safe = await bot.say("Quin temps farà demà?")
        assert only_text(safe) == BUILT_IN_TEXTS["en"].llm_fallback


async def test_the_llms_safe_text_is_in_the_flows_language() -> None:
    llm = ScriptedLLM([out_of_scope()])
    async with open_sandbox(tenant(), channel=sandbox_channel("whatsapp"), llm=llm) as bot:
        await bot.say("hola")
        await bot.press("lang_ca")
        assert (
            only_text(await bot.say("Quin temps farà demà?")) == BUILT_IN_TEXTS["ca"].llm_fallback
        )


async def test_the_llm_answers_in_the_language_the_contact_chose() -> None:
    # A question as short as "parking?" is in no language: the one the contact chose (not
    # the tenant's, Spanish) is the answer's.
    llm = ScriptedLLM([out_of_scope(), out_of_scope()])
    async with open_sandbox(tenant(), channel=sandbox_channel("whatsapp"), llm=llm) as bot:
        await bot.say("hola")
        await bot.press("lang_en")
        await bot.say("parking?")
        await bot.press("lang_ca")
        await bot.say("parking?")
    assert [call.context.reply_language for call in llm.calls] == ["en", "ca"]
    assert [call.context.language for call in llm.calls] == ["es", "es"]  # the cached rules'


async def test_a_strict_templates_apology_is_in_the_flows_language() -> None:
    # The step that fails gives no result: the language comes from the state before it.
    async with open_sandbox(tenant(), channel=sandbox_channel("whatsapp")) as bot:
        await bot.say("hola")
        await bot.press("lang_ca")
        apology = await bot.send("button_reply", payload="broken", text="broken")
        assert only_text(apology) == BUILT_IN_TEXTS["ca"].error
