"""The spec's fallback matrix through the real runtime: who answers each kind of message.

| message                          | handler                                  |
|----------------------------------|------------------------------------------|
| button press                     | FSM transition                           |
| recognised text (number, title)  | FSM transition                           |
| free text, in knowledge scope    | LLM answer, state unchanged              |
| free text, out of scope          | safe fallback message, state unchanged   |
| free text, quota exceeded        | safe fallback message, LLM not asked     |
| LLM disabled                     | the state's FSM fallback                 |
| provider down                    | safe fallback message; the chat goes on  |
"""

from __future__ import annotations

from llm_runtime_kit import FLOW, MENU, SAFE, fingerprint, running_bot, tenant, texts

from botfleet.adapters.llm.mock import MockLLM
from botfleet.domain.errors import ConnectorUnavailable
from botfleet.testing.llm import ScriptedLLM, in_scope
from botfleet.testing.runtime import make_tenant_config


async def test_a_button_press_fires_its_transition_and_never_asks_the_llm() -> None:
    llm = MockLLM()
    async with running_bot(llm_connector=llm) as bot:
        replies = await bot.press("menu_book")
        assert texts(replies) == ["Booked.", MENU]
        assert [c.operation for c in bot.calendar.calls] == ["book_appointment"]
        assert llm.calls == []


async def test_recognised_text_fires_its_transition_and_never_asks_the_llm() -> None:
    llm = MockLLM()
    async with running_bot(llm_connector=llm) as bot:
        assert texts(await bot.say("2")) == ["We open at 10.", MENU]
        assert texts(await bot.say("opening HOURS")) == ["We open at 10.", MENU]
        assert texts(await bot.say("Book")) == ["Booked.", MENU]
        assert llm.calls == []


async def test_free_text_in_scope_gets_the_llm_answer_and_the_state_stays() -> None:
    llm = MockLLM()
    async with running_bot(llm_connector=llm) as bot:
        before = fingerprint(await bot.state())
        replies = await bot.say("Is there parking nearby?")
        assert texts(replies) == ["Parking: public car park on Calle Mayor 20."]
        assert fingerprint(await bot.state()) == before
        assert bot.calendar.calls == []
        assert [c.question for c in llm.calls] == ["Is there parking nearby?"]
        assert llm.calls[0].context.state == "MENU"
        assert llm.calls[0].context.tenant_name == "Bella Hair Studio"
        # the menu shown before the question still answers by number
        assert texts(await bot.say("1")) == ["Booked.", MENU]


async def test_free_text_out_of_scope_gets_the_safe_message_and_the_state_stays() -> None:
    async with running_bot() as bot:
        before = fingerprint(await bot.state())
        assert texts(await bot.say("What's the weather like tomorrow?")) == [SAFE]
        assert fingerprint(await bot.state()) == before


async def test_the_tenant_fallback_text_wins_over_the_flow_text() -> None:
    config = tenant({"fallback_text": "Ask us at the desk."})
    async with running_bot(config) as bot:
        assert texts(await bot.say("Can I bring my dog?")) == ["Ask us at the desk."]


async def test_over_quota_gets_the_safe_message_without_asking_the_llm() -> None:
    llm = ScriptedLLM([in_scope("We open at 10.", input_tokens=900, output_tokens=100)])
    async with running_bot(tenant({"quota_monthly_tokens": 1000}), llm_connector=llm) as bot:
        assert texts(await bot.say("When do you open?")) == ["We open at 10."]
        before = fingerprint(await bot.state())
        assert texts(await bot.say("And on Saturdays?")) == [SAFE]
        assert llm.questions == ["When do you open?"]  # the second question never left
        assert fingerprint(await bot.state()) == before
        used = await bot.runtime.llm.quota.usage()  # type: ignore[union-attr]
        assert (used.total_tokens, used.over_quota) == (1000, 1)


async def test_with_the_llm_disabled_the_state_fallback_shows_the_menu() -> None:
    llm = MockLLM()
    async with running_bot(tenant({"enabled": False}), llm_connector=llm) as bot:
        assert not bot.runtime.ctx.llm_available
        assert texts(await bot.say("Is there parking nearby?")) == [MENU]
        assert llm.calls == []


async def test_without_an_llm_section_the_llm_is_off() -> None:
    config = make_tenant_config(FLOW, connectors={"calendar": {"type": "mock_calendar"}})
    async with running_bot(config) as bot:
        assert not bot.runtime.ctx.llm_available
        assert texts(await bot.say("Is there parking nearby?")) == [MENU]


async def test_a_provider_that_is_down_gets_the_safe_message_and_the_chat_goes_on() -> None:
    llm = ScriptedLLM([ConnectorUnavailable("503"), ConnectorUnavailable("503")])
    async with running_bot(llm_connector=llm) as bot:
        before = fingerprint(await bot.state())
        assert texts(await bot.say("Is there parking nearby?")) == [SAFE]
        assert fingerprint(await bot.state()) == before
        assert texts(await bot.press("menu_book")) == ["Booked.", MENU]


async def test_a_scripted_mock_provider_from_the_tenant_file_answers() -> None:
    config = tenant({"answers": [{"pattern": "(?i)dog", "text": "Dogs are welcome."}]})
    async with running_bot(config) as bot:
        assert texts(await bot.say("Can I bring my DOG?")) == ["Dogs are welcome."]
