""" "typing…" for a slow turn: shown once the turn has run `after_s` (again before it fades
while the turn still runs), never for a fast turn, never after the reply, and the reply waits
(briefly) for a showing still on its way."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
import structlog

from botfleet.data_plane.runtime import typing_shown
from botfleet.data_plane.runtime.contact_log import ContactLog
from botfleet.domain.outputs import Output, Text
from botfleet.ports.channels import SendOutcome, TypingIndicator, TypingRule
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime, text_message
from botfleet.testing.slow_connector import SLOW_LOOKUP_FLOW as FLOW
from botfleet.testing.slow_connector import GatedConnector

PHONE = "34600111222"
#: Shown after 0.05 s, again every 0.1 s (half of `lasts_s`) while the turn runs.
QUICK = TypingRule(after_s=0.05, lasts_s=0.2)


@dataclass
class TypingSender(RecordingSender):
    """Records sends and showings in one timeline; a showing waits on `typing_gate`."""

    rule: TypingRule | None = QUICK
    timeline: list[str] = field(default_factory=list)
    shown_for: list[tuple[str, str]] = field(default_factory=list)
    typing_gate: asyncio.Event | None = None
    #: Set at the third showing.
    shown_thrice: asyncio.Event = field(default_factory=asyncio.Event)

    def typing_rule(self, contact_id: str) -> TypingRule | None:
        return self.rule

    async def show_typing(self, contact_id: str, message_id: str) -> bool:
        self.shown_for.append((contact_id, message_id))
        if len(self.shown_for) == 3:
            self.shown_thrice.set()
        self.timeline.append("typing")
        if self.typing_gate is not None:
            await self.typing_gate.wait()
        self.timeline.append("typing shown")
        return True

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> SendOutcome:
        self.timeline.append("send")
        return await super().send(contact_id, outputs)


def texts(outputs: Sequence[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Text)]


def test_the_fake_is_a_typing_indicator() -> None:
    assert isinstance(TypingSender(), TypingIndicator)


async def test_a_slow_turn_shows_typing_until_its_reply_and_never_after() -> None:
    connector, sender = GatedConnector(open_=False), TypingSender()
    async with bootstrap_test_runtime(
        flow=FLOW, sender=sender, connectors={"mock": connector}
    ) as runtime:
        assert await runtime.accept(text_message("c1", "hi", message_id="w-1"))
        await asyncio.wait_for(connector.waiting.wait(), timeout=2)
        # After 0.05 s, then every 0.1 s (half of lasts_s): waited for, not slept for, so a
        # busy machine's slow loop fails nothing.
        await asyncio.wait_for(sender.shown_thrice.wait(), timeout=5)
        shown = len(sender.shown_for)
        assert set(sender.shown_for) == {("c1", "w-1")}  # in answer to the message
        connector.gate.set()
        await asyncio.wait_for(runtime.sequencer.drain(), timeout=2)
        assert texts(sender.to("c1")) == ["answer: 42"]
        await asyncio.sleep(0.3)
        assert len(sender.shown_for) == shown  # none after the reply
        assert sender.timeline[-1] == "send"
        assert runtime._typing == {}


async def test_a_fast_turn_shows_nothing() -> None:
    connector, sender = GatedConnector(), TypingSender()
    async with bootstrap_test_runtime(
        flow=FLOW, sender=sender, connectors={"mock": connector}
    ) as runtime:
        result = await runtime.handle(text_message("c1", "hi", message_id="m-1"))
        assert texts(result.outputs) == ["answer: 42"]
        await asyncio.sleep(0.15)
        assert sender.shown_for == []
        assert runtime._typing == {}


async def test_a_tenant_that_turned_it_off_shows_nothing() -> None:
    connector, sender = GatedConnector(open_=False), TypingSender(rule=None)
    async with bootstrap_test_runtime(
        flow=FLOW, sender=sender, connectors={"mock": connector}
    ) as runtime:
        assert await runtime.accept(text_message("c1", "hi", message_id="w-1"))
        await asyncio.wait_for(connector.waiting.wait(), timeout=2)
        await asyncio.sleep(0.15)
        connector.gate.set()
        await asyncio.wait_for(runtime.sequencer.drain(), timeout=2)
        assert texts(sender.to("c1")) == ["answer: 42"]
        assert sender.shown_for == []


async def test_the_reply_waits_for_a_showing_on_its_way() -> None:
    """A "typing…" reaching the provider after the reply would hang under it until it fades."""
    connector, sender = GatedConnector(open_=False), TypingSender(typing_gate=asyncio.Event())
    async with bootstrap_test_runtime(
        flow=FLOW, sender=sender, connectors={"mock": connector}
    ) as runtime:
        assert await runtime.accept(text_message("c1", "hi", message_id="w-1"))
        await asyncio.sleep(0.1)
        assert sender.timeline == ["typing"]  # on its way
        connector.gate.set()
        await asyncio.sleep(0.05)
        assert sender.timeline == ["typing"]  # the reply waits
        assert sender.typing_gate is not None
        sender.typing_gate.set()
        await asyncio.wait_for(runtime.sequencer.drain(), timeout=2)
        assert sender.timeline == ["typing", "typing shown", "send"]


async def test_a_showing_that_hangs_holds_the_reply_only_briefly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(typing_shown, "STOP_WAIT_S", 0.05)
    connector, sender = GatedConnector(open_=False), TypingSender(typing_gate=asyncio.Event())
    async with bootstrap_test_runtime(
        flow=FLOW, sender=sender, connectors={"mock": connector}
    ) as runtime:
        assert await runtime.accept(text_message("c1", "hi", message_id="w-1"))
        await asyncio.sleep(0.1)
        connector.gate.set()
        await asyncio.wait_for(runtime.sequencer.drain(), timeout=2)
        # Given up: the showing was cancelled, never finished, and nothing came after.
        assert sender.timeline == ["typing", "send"]
        assert texts(sender.to("c1")) == ["answer: 42"]


async def test_a_turn_ended_without_replies_stops_showing_typing() -> None:
    """A shutdown that cannot wait cancels the turn: no reply, and no more "typing…"."""
    connector, sender = GatedConnector(open_=False), TypingSender()
    async with bootstrap_test_runtime(
        flow=FLOW, sender=sender, connectors={"mock": connector}
    ) as runtime:
        assert await runtime.accept(text_message("c1", "hi", message_id="w-1"))
        await asyncio.sleep(0.1)
        assert sender.shown_for
        runtime.sequencer.cancel()
        await asyncio.wait_for(runtime.sequencer.drain(), timeout=2)
        assert sender.sent == []
        shown = len(sender.shown_for)
        await asyncio.sleep(0.3)
        assert len(sender.shown_for) == shown
        assert runtime._typing == {}


async def test_an_indicator_that_raises_is_logged_and_the_turn_goes_on() -> None:
    class Raising(TypingSender):
        async def show_typing(self, contact_id: str, message_id: str) -> bool:
            self.shown_for.append((contact_id, message_id))
            raise RuntimeError(f"adapter bug for {contact_id}")

    connector, sender = GatedConnector(open_=False), Raising()
    async with bootstrap_test_runtime(
        flow=FLOW, sender=sender, connectors={"mock": connector}
    ) as runtime:
        with structlog.testing.capture_logs() as logs:
            assert await runtime.accept(text_message(PHONE, "hi", message_id="w-1"))
            await asyncio.sleep(0.3)
            connector.gate.set()
            await asyncio.wait_for(runtime.sequencer.drain(), timeout=2)
        assert len(sender.shown_for) == 1  # not tried again
        assert texts(sender.to(PHONE)) == ["answer: 42"]
        failed = [line for line in logs if line["event"] == "typing_failed"]
        assert len(failed) == 1
        assert failed[0]["message_id"] == "w-1"
        assert PHONE not in failed[0]["detail"]  # the contact by its hash only
        assert failed[0]["contact"] != PHONE


async def test_a_refused_showing_is_not_asked_again_in_the_turn() -> None:
    """The channel logged and counted the refusal: every later showing would be refused too."""

    class Refusing(TypingSender):
        async def show_typing(self, contact_id: str, message_id: str) -> bool:
            self.shown_for.append((contact_id, message_id))
            return False

    connector, sender = GatedConnector(open_=False), Refusing()
    async with bootstrap_test_runtime(
        flow=FLOW, sender=sender, connectors={"mock": connector}
    ) as runtime:
        assert await runtime.accept(text_message("c1", "hi", message_id="w-1"))
        await asyncio.sleep(0.4)
        assert len(sender.shown_for) == 1
        connector.gate.set()
        await asyncio.wait_for(runtime.sequencer.drain(), timeout=2)


async def test_a_stop_cancelled_while_it_waits_still_ends_the_showings() -> None:
    sender = TypingSender(typing_gate=asyncio.Event())
    shown = typing_shown.ShownTyping(
        sender, QUICK, "w-1", ContactLog(structlog.get_logger(), "t", "c1")
    )
    await asyncio.sleep(0.1)  # a showing on its way, held at the gate
    stopping = asyncio.ensure_future(shown.stop())
    await asyncio.sleep(0.01)
    stopping.cancel()  # the turn is cancelled while the reply waits
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert sender.typing_gate is not None
    sender.typing_gate.set()
    await asyncio.sleep(0.3)
    assert len(sender.shown_for) == 1  # none after
