"""A new contact's first message and bare numbers never go to the LLM: they reach the menu."""

from __future__ import annotations

from llm_runtime_kit import MENU, Bot, calendar, tenant, texts

from botfleet.adapters.llm.quota import InMemoryUsageStore
from botfleet.testing.llm import ScriptedLLM, in_scope
from botfleet.testing.runtime import bootstrap_test_runtime


async def test_a_new_contacts_first_free_text_shows_the_menu_not_an_llm_answer() -> None:
    llm = ScriptedLLM([in_scope("We open at 10.")])
    async with bootstrap_test_runtime(
        tenant(),
        connectors={"calendar": calendar()},
        llm_usage=InMemoryUsageStore(),
        llm_connector=llm,
    ) as runtime:
        bot = Bot(runtime, calendar())
        first = await bot.say("hola")
        assert MENU in texts(first)
        assert llm.calls == []
        second = await bot.say("When do you open?")
        assert texts(second) == ["We open at 10."]


async def test_a_number_that_is_no_option_is_not_a_question_for_the_llm() -> None:
    llm = ScriptedLLM([])
    async with bootstrap_test_runtime(
        tenant(),
        connectors={"calendar": calendar()},
        llm_usage=InMemoryUsageStore(),
        llm_connector=llm,
    ) as runtime:
        bot = Bot(runtime, calendar())
        await bot.say("hola")
        replies = await bot.say("7")
        assert MENU in texts(replies)
        assert llm.calls == []
