"""A stray `CancelledError` (not a cancellation of the turn: a library raised one, or the call
awaited a future another task cancelled) out of the LLM call, the scheduler or the channel's
send fails that one job like any other error of that call: the message is marked failed (the
send: counted as a failed send, the turn being committed), and the contact's next message is
still answered. It used to end the turn without a word, the message left pending, unanswered,
until the next start. A real cancellation of the turn (a shutdown that cannot wait) still ends
it, the message pending for the next start's recovery."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog

from botfleet.data_plane.runtime.cancellation import CallCancelled, stray_cancellation_as_error
from botfleet.domain.outputs import Output, Text
from botfleet.flows.effects import ScheduleTask
from botfleet.ports.connectors import LLMContext, LLMReply
from botfleet.testing.clock import FrozenClock
from botfleet.testing.llm import RecordingLLMFallback
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime, text_message
from botfleet.testing.scheduling import ManualScheduler


def texts(outputs: Sequence[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Text)]


def events(logs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [line for line in logs if line["event"] == event]


async def status(runtime: Any, message_id: str) -> str:
    entry = await runtime.journal.get(message_id)
    assert entry is not None
    return str(entry.status)


# ----------------------------------------------------------------- the LLM call

LLM_FLOW: dict[str, Any] = {
    "id": "llm_v1",
    "initial_state": "ASK",
    "states": {
        "ASK": {
            "llm_fallback": True,
            "on_enter": [{"action": "send_text", "text": "ask me"}],
            "fallback": "ASK",
        }
    },
}


class CancelledOnceLLM(RecordingLLMFallback):
    """Its first reply raises a `CancelledError` of its own; later ones answer."""

    def __init__(self) -> None:
        super().__init__(text="the answer")
        self.cancelled = False

    async def reply(
        self, question: str, context: LLMContext, fallback_text: str
    ) -> LLMReply | None:
        if not self.cancelled:
            self.cancelled = True
            raise asyncio.CancelledError
        return await super().reply(question, context, fallback_text)


class HangingLLM(RecordingLLMFallback):
    """Waits until the turn is cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = asyncio.Event()
        self.cancelled = False

    async def reply(
        self, question: str, context: LLMContext, fallback_text: str
    ) -> LLMReply | None:
        self.waiting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return None


async def test_a_stray_cancellation_of_the_llm_call_fails_that_message_only() -> None:
    sender = RecordingSender()
    async with bootstrap_test_runtime(flow=LLM_FLOW, sender=sender, llm=CancelledOnceLLM()) as rt:
        assert await rt.accept(text_message("c1", "hi", message_id="w-0"))  # a new contact
        await rt.sequencer.drain()
        with structlog.testing.capture_logs() as logs:
            assert await rt.accept(text_message("c1", "when do you open?", message_id="w-1"))
            assert await rt.accept(text_message("c1", "and on sundays?", message_id="w-2"))
            await asyncio.wait_for(rt.sequencer.drain(), timeout=2)
        assert texts(sender.to("c1")) == ["ask me", "the answer"]
        assert (await status(rt, "w-1"), await status(rt, "w-2")) == ("failed", "done")
        assert rt._in_flight == {}
        (failed,) = events(logs, "turn_failed")
        assert (failed["error"], failed["detail"]) == (
            "CallCancelled",
            "the LLM call was cancelled",
        )
        assert failed["message_id"] == "w-1"
        # answered (failed): a redelivery is a duplicate, not a second run
        assert await rt.accept(text_message("c1", "when do you open?", message_id="w-1")) is False


async def test_a_stray_cancellation_of_the_llm_call_fails_a_waiting_web_chat_caller() -> None:
    async with bootstrap_test_runtime(flow=LLM_FLOW, llm=CancelledOnceLLM()) as rt:
        await rt.handle(text_message("c1", "hi", message_id="m-0"))
        with pytest.raises(CallCancelled):  # an error (a 500), not a cancelled request
            await rt.handle(text_message("c1", "when do you open?", message_id="m-1"))
        assert await status(rt, "m-1") == "failed"
        answered = await rt.handle(text_message("c1", "when do you open?", message_id="m-2"))
        assert texts(answered.outputs) == ["the answer"]


async def test_cancelling_the_turn_during_the_llm_call_still_ends_it_pending() -> None:
    llm, sender = HangingLLM(), RecordingSender()
    async with bootstrap_test_runtime(flow=LLM_FLOW, sender=sender, llm=llm) as rt:
        assert await rt.accept(text_message("c1", "hi", message_id="w-0"))
        await rt.sequencer.drain()
        with structlog.testing.capture_logs() as logs:
            assert await rt.accept(text_message("c1", "when do you open?", message_id="w-1"))
            await asyncio.wait_for(llm.waiting.wait(), timeout=2)
            rt.sequencer.cancel()  # a shutdown that cannot wait any longer
            await asyncio.wait_for(rt.sequencer.drain(), timeout=2)
        assert llm.cancelled
        assert texts(sender.to("c1")) == ["ask me"]
        assert await status(rt, "w-1") == "pending"  # the next start runs it
        assert not events(logs, "turn_failed")


# ----------------------------------------------------------------- the scheduler's calls

SCHEDULING_FLOW: dict[str, Any] = {
    "id": "schedule_v1",
    "initial_state": "START",
    "tasks": {
        "remind": [
            {
                "action": "schedule_task",
                "task": "remind",
                "run_at": "2099-05-08T09:00:00+00:00",
                "idempotency_key": "again:{{ contact.id }}",
            },
            {"action": "send_text", "text": "see you soon"},
        ]
    },
    "states": {
        "START": {
            "transitions": [{"on_type": "text", "target": "BOOKED"}],
            "fallback": "START",
        },
        "BOOKED": {
            "on_enter": [
                {"action": "cancel_task", "idempotency_key": "old:{{ contact.id }}"},
                {
                    "action": "schedule_task",
                    "task": "remind",
                    "run_at": "2099-05-07T09:00:00+00:00",
                    "idempotency_key": "remind:{{ contact.id }}",
                },
                {"action": "send_text", "text": "booked"},
            ],
            "fallback": "BOOKED",
        },
    },
}


class CancelledOnceScheduler(ManualScheduler):
    """Its first `schedule` or `cancel` (as `failing` says) raises a `CancelledError` of its
    own, as a call awaiting a future another task cancelled does."""

    def __init__(self, failing: str) -> None:
        super().__init__(FrozenClock(datetime(2024, 5, 6, 9, 0, tzinfo=UTC)), tenant_id="test")
        self.failing = failing

    def _once(self, call: str) -> None:
        if self.failing == call:
            self.failing = ""
            raise asyncio.CancelledError

    async def schedule(self, request: ScheduleTask) -> None:
        self._once("schedule")
        await super().schedule(request)

    async def cancel(self, idempotency_key: str) -> bool:
        self._once("cancel")
        return await super().cancel(idempotency_key)


@pytest.mark.parametrize("call", ["schedule", "cancel"])
async def test_a_stray_cancellation_of_a_scheduler_call_fails_that_message_only(call: str) -> None:
    scheduler, sender = CancelledOnceScheduler(call), RecordingSender()
    async with bootstrap_test_runtime(
        flow=SCHEDULING_FLOW, sender=sender, clock=scheduler.clock, scheduler=scheduler
    ) as rt:
        with structlog.testing.capture_logs() as logs:
            assert await rt.accept(text_message("c1", "book me", message_id="w-1"))
            assert await rt.accept(text_message("c1", "book me", message_id="w-2"))
            await asyncio.wait_for(rt.sequencer.drain(), timeout=2)
        assert texts(sender.to("c1")) == ["booked"]
        assert (await status(rt, "w-1"), await status(rt, "w-2")) == ("failed", "done")
        assert [job.key for job in await scheduler.jobs()] == ["remind:c1"]
        assert rt._in_flight == {}
        (failed,) = events(logs, "turn_failed")
        assert failed["error"] == "CallCancelled"
        assert failed["detail"] == f"the scheduler's {call} call was cancelled"


async def test_a_stray_cancellation_in_a_due_tasks_turn_fails_that_task_only() -> None:
    scheduler, sender = CancelledOnceScheduler("schedule"), RecordingSender()
    async with bootstrap_test_runtime(
        flow=SCHEDULING_FLOW, sender=sender, clock=scheduler.clock, scheduler=scheduler
    ) as rt:
        with structlog.testing.capture_logs() as logs:
            # the task's turn ends (logged), it does not raise into the scheduler
            await rt.run_task("c1", "remind", {}, "once:remind:c1@20990507T090000Z")
        (failed,) = events(logs, "task_failed")
        assert (failed["error"], failed["task"]) == ("CallCancelled", "remind")
        assert await rt.accept(text_message("c1", "book me", message_id="w-1"))
        await asyncio.wait_for(rt.sequencer.drain(), timeout=2)
        assert texts(sender.to("c1")) == ["booked"]


# ----------------------------------------------------------------- the channel's send


class CancelledOnceSender(RecordingSender):
    """Its first send raises a `CancelledError` of its own (nothing sent); later ones send."""

    def __init__(self) -> None:
        super().__init__()
        self.cancelled = False

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> None:
        if not self.cancelled:
            self.cancelled = True
            raise asyncio.CancelledError
        await super().send(contact_id, outputs)


async def test_a_stray_cancellation_of_the_send_is_a_failed_send_of_a_committed_turn() -> None:
    sender = CancelledOnceSender()
    async with bootstrap_test_runtime(sender=sender) as rt:
        rt.confirm_delivery = True  # a provider's channel
        with structlog.testing.capture_logs() as logs:
            assert await rt.accept(text_message("c1", "one", message_id="w-1"))
            assert await rt.accept(text_message("c1", "two", message_id="w-2"))
            await asyncio.wait_for(rt.sequencer.drain(), timeout=2)
        assert texts(sender.to("c1")) == ["You said: two"]
        assert (await status(rt, "w-1"), await status(rt, "w-2")) == ("done", "done")
        (failed,) = events(logs, "send_failed")
        assert (failed["error"], failed["detail"]) == (
            "CallCancelled",
            "the channel's send was cancelled",
        )
        assert not events(logs, "turn_failed")
        # handed over, as a send the channel refused: not sent again at the next start
        assert await rt.turns.pending_deliveries() == []
        errors = rt.metrics.registry.get_sample_value(
            "botfleet_send_errors_total", {"channel": "webchat"}
        )
        assert errors == 1


async def test_a_stray_cancellation_of_the_send_still_answers_a_waiting_caller() -> None:
    async with bootstrap_test_runtime(sender=CancelledOnceSender()) as rt:
        result = await rt.handle(text_message("c1", "one", message_id="m-1"))
    assert texts(result.outputs) == ["You said: one"]


# ----------------------------------------------------------------- the rule itself


async def test_only_a_cancellation_of_the_task_itself_passes_as_one() -> None:
    with pytest.raises(CallCancelled, match="the call was cancelled") as raised:
        with stray_cancellation_as_error("the call"):
            raise asyncio.CancelledError
    assert isinstance(raised.value.__cause__, asyncio.CancelledError)

    started = asyncio.Event()

    async def cancelled_while_waiting() -> None:
        with stray_cancellation_as_error("the call"):
            started.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(cancelled_while_waiting())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
