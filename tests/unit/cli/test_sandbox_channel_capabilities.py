"""`open_sandbox(channel=...)`: the bot is opened on a channel's capabilities, as a served bot
is built with its channel's sender, so everything bootstrap reads from them applies."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES
from botfleet.adapters.channels.whatsapp import WHATSAPP_CAPABILITIES
from botfleet.domain.outputs import Buttons, Capabilities, ListMenu, Output, Text
from botfleet.domain.tenant_config import Binding
from botfleet.testing.llm import ScriptedLLM, in_scope
from botfleet.testing.runtime import make_tenant_config
from botfleet.testing.sandbox import open_sandbox, sandbox_config, tenant_flow
from botfleet.testing.sandbox_channels import SandboxChannel, sandbox_channel

FOUR_BUTTONS: dict[str, Any] = {
    "id": "four_v1",
    "initial_state": "HOME",
    "states": {
        "HOME": {
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": "Pick one",
                    "buttons": [{"id": i, "title": i.upper()} for i in ("a", "b", "c", "d")],
                }
            ],
            "fallback": "HOME",
        }
    },
}
ASKING: dict[str, Any] = {
    "id": "ask_v1",
    "initial_state": "HOME",
    "states": {
        "HOME": {
            "llm_fallback": True,
            "on_enter": [{"action": "send_text", "text": "Ask me"}],
            "fallback": "HOME",
        }
    },
}
ANSWER = "We open at ten in the morning, every single day of the week."


async def _first_turn(channel: SandboxChannel | None) -> tuple[Capabilities, list[Output]]:
    config = make_tenant_config(FOUR_BUTTONS)
    async with open_sandbox(config, channel=channel) as bot:
        return bot.sender.capabilities, await bot.say("hi")


async def test_the_outputs_are_degraded_to_the_capabilities_given_at_opening() -> None:
    capabilities, [menu] = await _first_turn(sandbox_channel("whatsapp"))
    assert capabilities is WHATSAPP_CAPABILITIES
    assert isinstance(menu, ListMenu)  # WhatsApp shows at most 3 buttons
    assert [o.id for o in menu.options] == ["a", "b", "c", "d"]


async def test_without_a_channel_the_bot_is_on_the_web_chat() -> None:
    capabilities, [menu] = await _first_turn(None)
    assert capabilities is WEBCHAT_CAPABILITIES
    assert isinstance(menu, Buttons)


async def test_the_llms_answer_is_fitted_to_the_channels_text_limit_as_served() -> None:
    # Bootstrap caps the LLM's answers at the sender's `max_text` when it builds the runtime: a
    # served bot's long answer is cut to one message, not split over two by degradation.
    config = make_tenant_config(ASKING)
    mocked = sandbox_config(
        config, tenant_flow(config).spec, llm_enabled=True, knowledge="Open at 10 daily."
    )
    narrow = Capabilities(max_text=30)
    llm = ScriptedLLM([in_scope(ANSWER)])
    channel = replace(sandbox_channel("webchat"), capabilities=narrow)
    async with open_sandbox(mocked, llm=llm, channel=channel) as bot:
        await bot.say("hi")
        [answer] = await bot.say("When do you open?")
    assert isinstance(answer, Text)
    assert len(answer.text) <= narrow.max_text
    assert answer.text.endswith("…")
    assert ANSWER.startswith(answer.text.removesuffix("…"))


async def test_the_flow_reads_the_played_channel_as_contact_channel() -> None:
    flow: dict[str, Any] = {
        "id": "which_v1",
        "initial_state": "HOME",
        "states": {
            "HOME": {
                "on_enter": [{"action": "send_text", "text": "on {{ contact.channel }}"}],
                "fallback": "HOME",
            }
        },
    }
    for name, kind in (("telegram", "telegram"), ("whatsapp", "whatsapp"), (None, "webchat")):
        channel = sandbox_channel(name) if name else None
        async with open_sandbox(make_tenant_config(flow), channel=channel) as bot:
            [said] = await bot.say("hi")
        assert said == Text(f"on {kind}")


async def test_on_one_of_the_tenants_more_channels_the_contact_is_named_as_served() -> None:
    flow: dict[str, Any] = {
        "id": "which_v1",
        "initial_state": "HOME",
        "states": {
            "HOME": {
                "on_enter": [
                    {"action": "send_text", "text": "{{ contact.id }} on {{ contact.channel }}"}
                ],
                "fallback": "HOME",
            }
        },
    }
    config = make_tenant_config(flow)
    config = config.model_copy(
        update={"more_channels": [Binding(type="telegram")], "channel": Binding(type="whatsapp")}
    )
    async with open_sandbox(config, channel=sandbox_channel("telegram")) as bot:
        assert await bot.say("hi") == [Text("telegram:contact-1 on telegram")]
    async with open_sandbox(config, channel=sandbox_channel("whatsapp")) as bot:
        assert await bot.say("hi") == [Text("contact-1 on whatsapp")]
    async with open_sandbox(config, channel=sandbox_channel("webchat")) as bot:  # not its own
        assert await bot.say("hi") == [Text("contact-1 on webchat")]
