"""`ConversationRuntime.run_task`: the task's turn, and what the sender's send of
that turn returned (`POST /run-task`'s `sent` and `failed`); None when the sender cannot tell."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES
from botfleet.data_plane.runtime.task_outcome import TaskOutcome
from botfleet.domain.outputs import Output
from botfleet.flows.state import ConversationState
from botfleet.ports.channels import NOTHING_SENT, SendOutcome
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime, text_message
from botfleet.testing.stores import InMemoryTenantStore

FLOW = {
    "id": "remind_v1",
    "initial_state": "ECHO",
    "tasks": {
        "remind": [
            {"action": "send_text", "text": "Reminder"},
            {"action": "send_text", "text": "Reply to change it"},
        ],
        "quiet": [{"action": "set_data", "values": {"reminded": True}}],
    },
    "states": {
        "ECHO": {
            "on_enter": [{"action": "send_text", "text": "You said: {{ message.text }}"}],
            "fallback": "ECHO",
        }
    },
}


class SilentSender:
    """A sender that cannot tell what became of its outputs (an `OutboundSender` all the same)."""

    capabilities = WEBCHAT_CAPABILITIES

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> None:
        return None


class RaisingSender(RecordingSender):
    async def send(self, contact_id: str, outputs: Sequence[Output]) -> SendOutcome:
        raise ConnectionError("provider down")


@dataclass
class HeldSender(RecordingSender):
    """Holds its first send until `gate` opens; refuses every output of the later ones."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    held: asyncio.Event = field(default_factory=asyncio.Event)
    calls: int = 0

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> SendOutcome:
        self.calls += 1
        await super().send(contact_id, outputs)
        if self.calls > 1:
            return SendOutcome(sent=0, failed=len(outputs))
        self.held.set()
        await self.gate.wait()
        return SendOutcome(sent=len(outputs), failed=0)


async def test_the_task_reports_what_its_send_returned() -> None:
    async with bootstrap_test_runtime(flow=FLOW) as runtime:
        sends = await runtime.run_task("c1", "remind", {}, "job-1")
        quiet = await runtime.run_task("c1", "quiet", {}, "job-2")
        nobody = await runtime.run_task(None, "remind", {}, "job-3")
    assert sends == TaskOutcome("done", SendOutcome(sent=2, failed=0))
    assert quiet == TaskOutcome("done", NOTHING_SENT)  # no messages: none sent, none failed
    assert nobody == TaskOutcome("skipped", NOTHING_SENT)


async def test_a_sender_that_cannot_tell_reports_none() -> None:
    async with bootstrap_test_runtime(flow=FLOW, sender=SilentSender()) as runtime:
        assert await runtime.run_task("c1", "remind", {}, "job-1") == TaskOutcome("done", None)


async def test_a_send_that_raised_reports_none_and_the_task_stays_committed() -> None:
    store = InMemoryTenantStore()
    async with bootstrap_test_runtime(flow=FLOW, stores=store, sender=RaisingSender()) as runtime:
        assert await runtime.run_task("c1", "remind", {}, "job-1") == TaskOutcome("done", None)
    rows = await store.outbox.since(contact_id="c1")
    assert [r["output"]["text"] for r in rows] == ["Reminder", "Reply to change it"]


async def test_a_turn_queued_right_after_the_task_is_not_counted_in() -> None:
    sender = HeldSender()
    async with bootstrap_test_runtime(flow=FLOW, sender=sender) as runtime:
        task = asyncio.create_task(runtime.run_task("c1", "remind", {}, "job-1"))
        await sender.held.wait()  # the task's send is on its way
        assert await runtime.accept(text_message("c1", "hello"))  # queued behind the task
        sender.gate.set()
        await runtime.sequencer.drain()  # the message's turn has sent (and been refused)
        sends = await task
    assert sender.calls == 2
    assert sends == TaskOutcome("done", SendOutcome(sent=2, failed=0))


class BrokenCommitStore(InMemoryTenantStore):
    """A store whose turn commits raise an error the runtime does not retry."""

    async def commit_turn(self, state: ConversationState, **fields: Any) -> ConversationState:
        raise RuntimeError("disk on fire")


async def test_a_task_whose_turn_raised_is_failed_and_sends_nothing() -> None:
    sender = RecordingSender()
    async with bootstrap_test_runtime(
        flow=FLOW, stores=BrokenCommitStore(), sender=sender
    ) as runtime:
        outcome = await runtime.run_task("c1", "remind", {}, "job-1")
    assert outcome.status == "failed"
    assert sender.sent == []  # nothing committed, nothing sent
