"""The runtime's turn guarantees: commit then send, recovery, retries, failures, tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from botfleet.adapters.connectors.scripted import OperationScript, ScriptedConnector
from botfleet.data_plane.runtime.step_loop import MAX_CALLS_PER_TURN
from botfleet.domain.errors import ConcurrentUpdate, MessageIdConflict, StoreError
from botfleet.domain.messages import InboundMessage
from botfleet.domain.outputs import Output, Text
from botfleet.flows.state import ConversationState
from botfleet.testing.runtime import (
    RecordingSender,
    bootstrap_test_runtime,
    text_message,
)
from botfleet.testing.stores import SAMPLE_TIME, GatedStore, InMemoryTenantStore

LOOKUP_FLOW = {
    "id": "lookup_v1",
    "initial_state": "ASK",
    "tasks": {"remind": [{"action": "send_text", "text": "Reminder: {{ data.what }}"}]},
    "states": {
        "ASK": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "mock",
                    "operation": "lookup",
                    "params": {"q": "{{ message.text }}"},
                    "result_key": "answer",
                },
                {"action": "send_text", "text": "answer: {{ data.answer }}"},
            ],
            "fallback": "ASK",
        }
    },
}


def crm() -> ScriptedConnector:
    return ScriptedConnector({"lookup": OperationScript(result="42")}, category="mock")


def texts(outputs: Sequence[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Text)]


class FlakyStore(InMemoryTenantStore):
    """The first `fail` commits hit a concurrent writer."""

    def __init__(self, fail: int) -> None:
        super().__init__()
        self.fail = fail

    async def commit_turn(self, state: ConversationState, **fields: Any) -> ConversationState:
        if self.fail:
            self.fail -= 1
            raise ConcurrentUpdate("test/c1", fields["expected_version"], 99)
        return await super().commit_turn(state, **fields)


class BrokenStore(InMemoryTenantStore):
    async def commit_turn(self, state: ConversationState, **fields: Any) -> ConversationState:
        raise StoreError("disk full")


class RefusingSender(RecordingSender):
    async def send(self, contact_id: str, outputs: Sequence[Output]) -> None:
        raise ConnectionError("provider down")


async def test_replies_are_sent_only_after_the_turn_is_committed() -> None:
    store, sender = GatedStore(), RecordingSender()
    store.gate.clear()
    async with bootstrap_test_runtime(
        flow=LOOKUP_FLOW, stores=store, sender=sender, connectors={"mock": crm()}
    ) as runtime:
        turn = asyncio.create_task(runtime.handle(text_message("c1", "q")))
        await store.waiting.wait()
        assert sender.sent == []
        assert await store.outbox.since(contact_id="c1") == []
        store.gate.set()
        result = await turn
    assert texts(result.outputs) == ["answer: 42"]
    assert texts(sender.to("c1")) == ["answer: 42"]


class CountingJournalStore(GatedStore):
    """Counts the journal's own writes (those before a turn, not the turn's commit)."""

    def __init__(self) -> None:
        super().__init__()
        self.recorded: list[str] = []
        record = self.journal.record

        async def counting(message: InboundMessage, received_at: Any) -> bool:
            self.recorded.append(message.message_id)
            return await record(message, received_at)

        self.journal.record = counting  # type: ignore[method-assign]


async def test_a_synchronous_turn_journals_its_message_in_its_own_commit() -> None:
    store = CountingJournalStore()
    store.gate.clear()
    async with bootstrap_test_runtime(
        flow=LOOKUP_FLOW, stores=store, connectors={"mock": crm()}
    ) as runtime:
        turn = asyncio.create_task(runtime.handle(text_message("c1", "q", message_id="m-1")))
        await store.waiting.wait()
        # Not acknowledged yet (no answer): nothing is written, nothing for recovery to redo.
        assert await store.journal.get("m-1") is None
        assert await store.journal.pending() == []
        store.gate.set()
        result = await turn
    assert texts(result.outputs) == ["answer: 42"]
    assert store.recorded == []
    entry = await store.journal.get("m-1")
    assert entry is not None
    assert (entry.status, [r["text"] for r in entry.replies]) == ("done", ["answer: 42"])


async def test_a_copy_sent_while_the_first_runs_waits_for_its_answer() -> None:
    store, calls = GatedStore(), crm()
    store.gate.clear()
    message = text_message("c1", "q", message_id="m-1")
    async with bootstrap_test_runtime(
        flow=LOOKUP_FLOW, stores=store, connectors={"mock": calls}
    ) as runtime:
        first = asyncio.create_task(runtime.handle(message))
        await store.waiting.wait()
        copy = asyncio.create_task(runtime.handle(message))
        with pytest.raises(MessageIdConflict, match="already used by another contact"):
            await runtime.handle(text_message("c2", "x", message_id="m-1"))
        await asyncio.sleep(0.01)
        assert not copy.done()
        store.gate.set()
        answered, again = await first, await copy
        duplicates = runtime.metrics.registry.get_sample_value("botfleet_duplicate_messages_total")
    assert texts(answered.outputs) == texts(again.outputs) == ["answer: 42"]
    assert (answered.duplicate, again.duplicate) == (False, True)
    assert len(calls.calls) == 1
    assert duplicates == 2
    assert len(await store.outbox.since(contact_id="c1")) == 1


async def test_a_copy_accepted_while_a_synchronous_turn_runs_is_a_duplicate() -> None:
    store = GatedStore()
    store.gate.clear()
    message = text_message("c1", "q", message_id="m-1")
    async with (
        asyncio.timeout(10),  # the double turn this prevents never finished
        bootstrap_test_runtime(
            flow=LOOKUP_FLOW, stores=store, connectors={"mock": crm()}
        ) as runtime,
    ):
        first = asyncio.create_task(runtime.handle(message))
        await store.waiting.wait()  # not journaled yet: its commit will record it
        assert await runtime.accept(message) is False
        store.gate.set()
        answered = await first
    assert texts(answered.outputs) == ["answer: 42"]
    entry = await store.journal.get("m-1")
    assert entry is not None
    assert entry.status == "done"


async def test_a_turn_cut_short_is_recovered_once_and_a_zombie_cannot_commit_it_again() -> None:
    store, calls = GatedStore(), crm()
    store.gate.clear()
    message = text_message("c1", "q", message_id="m-1")
    async with bootstrap_test_runtime(
        flow=LOOKUP_FLOW, stores=store, connectors={"mock": calls}
    ) as crashed:
        assert await crashed.accept(message)
        await store.waiting.wait()  # the first process "dies" here, before its commit

        async with bootstrap_test_runtime(
            flow=LOOKUP_FLOW, stores=store, connectors={"mock": calls}
        ) as restarted:
            stuck, store.gate = store.gate, asyncio.Event()
            store.gate.set()
            assert await restarted.recover() == 1
            await restarted.sequencer.drain()
        # ...and the first process's turn resumes after all: it must not commit a second time
        stuck.set()
        await crashed.sequencer.drain()

    rows = await store.outbox.since(contact_id="c1")
    assert [r["output"]["text"] for r in rows] == ["answer: 42"]
    entry = await store.journal.get("m-1")
    assert entry is not None
    assert entry.status == "done"
    state = await store.states.load("c1")
    assert state is not None
    assert state.version == 1


async def test_recovering_twice_queues_each_message_once() -> None:
    store, sender = InMemoryTenantStore(), RecordingSender()
    await store.journal.record(text_message("c1", "q", message_id="m-1"), SAMPLE_TIME)
    async with bootstrap_test_runtime(
        flow=LOOKUP_FLOW, stores=store, sender=sender, connectors={"mock": crm()}
    ) as runtime:
        assert await runtime.recover() == 1
        assert await runtime.recover() == 0
        await runtime.sequencer.drain()
        assert await runtime.recover() == 0
    assert texts(sender.to("c1")) == ["answer: 42"]


async def test_a_concurrent_writer_makes_the_turn_run_again_with_the_same_keys() -> None:
    store, calls = FlakyStore(fail=1), crm()
    async with bootstrap_test_runtime(
        flow=LOOKUP_FLOW, stores=store, connectors={"mock": calls}
    ) as runtime:
        result = await runtime.handle(text_message("c1", "q"))
    assert texts(result.outputs) == ["answer: 42"]
    assert len(calls.calls) == 2
    assert calls.calls[0].idempotency_key == calls.calls[1].idempotency_key


async def test_a_turn_that_keeps_losing_the_race_fails() -> None:
    async with bootstrap_test_runtime(
        flow=LOOKUP_FLOW, stores=FlakyStore(fail=10), connectors={"mock": crm()}
    ) as runtime:
        with pytest.raises(ConcurrentUpdate):
            await runtime.handle(text_message("c1", "q"))


async def test_a_failed_turn_is_marked_failed_and_the_next_message_still_runs() -> None:
    store = BrokenStore()
    async with bootstrap_test_runtime(stores=store) as runtime:
        with pytest.raises(StoreError):
            await runtime.handle(text_message("c1", "one", message_id="m-1"))
        with pytest.raises(StoreError):
            await runtime.handle(text_message("c1", "two", message_id="m-2"))
        assert runtime.metrics.registry.get_sample_value("botfleet_turn_errors_total") == 2
    entry = await store.journal.get("m-1")
    assert entry is not None
    assert entry.status == "failed"
    assert await store.journal.pending() == []  # a poison message is not retried at every boot


async def test_a_channel_that_refuses_the_replies_does_not_undo_the_turn() -> None:
    store = InMemoryTenantStore()
    async with bootstrap_test_runtime(stores=store, sender=RefusingSender()) as runtime:
        result = await runtime.handle(text_message("c1", "hi"))
        errors = runtime.metrics.registry.get_sample_value(
            "botfleet_send_errors_total", {"channel": "webchat"}
        )
        assert errors == 1
    assert texts(result.outputs) == ["You said: hi"]
    assert [r["output"]["text"] for r in await store.outbox.since(contact_id="c1")] == [
        "You said: hi"
    ]
    state = await store.states.load("c1")
    assert state is not None
    assert state.version == 1


async def test_accept_acknowledges_then_processes_in_the_background() -> None:
    sender = RecordingSender()
    async with bootstrap_test_runtime(sender=sender) as runtime:
        message = text_message("c1", "hi")
        assert await runtime.accept(message) is True
        assert await runtime.accept(message) is False  # a redelivery
        await runtime.sequencer.drain()
    assert texts(sender.to("c1")) == ["You said: hi"]


async def test_a_due_task_runs_in_the_conversation_and_lands_in_the_outbox() -> None:
    store, sender = InMemoryTenantStore(), RecordingSender()
    async with bootstrap_test_runtime(
        flow=LOOKUP_FLOW, stores=store, sender=sender, connectors={"mock": crm()}
    ) as runtime:
        await runtime.handle(text_message("c1", "q"))
        await runtime.run_task("c1", "remind", {"what": "haircut"}, "job-1")
        await runtime.run_task(None, "remind", {}, "job-2")  # no contact: nothing to run
    assert texts(sender.to("c1")) == ["answer: 42", "Reminder: haircut"]
    rows = await store.outbox.since(contact_id="c1")
    assert [r["output"]["text"] for r in rows] == ["answer: 42", "Reminder: haircut"]
    state = await store.states.load("c1")
    assert state is not None
    assert state.version == 2
    assert "what" not in state.data  # a task's data is visible to it, not stored


class CountingStore(InMemoryTenantStore):
    """Counts state reads."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0
        original = self.states.load

        async def load(contact_id: str) -> ConversationState | None:
            self.loads += 1
            return await original(contact_id)

        self.states.load = load  # type: ignore[method-assign]


async def test_a_contacts_next_turn_reads_no_state_from_the_store() -> None:
    store = CountingStore()
    async with bootstrap_test_runtime(stores=store) as runtime:
        for text in ("one", "two", "three"):
            await runtime.handle(text_message("c1", text))
    assert store.loads == 1  # only the first turn of a contact reads the store


async def test_a_state_changed_behind_the_runtimes_back_is_picked_up() -> None:
    store = CountingStore()
    async with bootstrap_test_runtime(
        flow=LOOKUP_FLOW, stores=store, connectors={"mock": crm()}
    ) as runtime:
        await runtime.handle(text_message("c1", "q"))
        stored = await store.states.load("c1")
        assert stored is not None
        # another writer (a second process on the file) moves the conversation on
        await store.states.save(stored.with_data(note="from elsewhere"), expected_version=1)
        await runtime.handle(text_message("c1", "q2"))
    state = await store.states.load("c1")
    assert state is not None
    assert state.version == 3
    assert state.data["note"] == "from elsewhere"  # the turn ran again from the stored state


async def test_a_failed_turn_drops_the_cached_state() -> None:
    store = BrokenStore()
    async with bootstrap_test_runtime(stores=store) as runtime:
        with pytest.raises(StoreError):
            await runtime.handle(text_message("c1", "one"))
        assert runtime.state_cache.get("c1") is None


PING = {"action": "invoke_connector", "connector": "mock", "operation": "ping", "result_key": "r"}
LOOPING_FLOW = {
    "id": "loop_v1",
    "initial_state": "A",
    "settings": {"error_text": "Sorry, something went wrong."},
    "states": {
        "A": {
            "on_enter": [PING],
            "next": [{"condition": "data.r == 'pong'", "target": "B"}],
            "fallback": "A",
        },
        "B": {"on_enter": [PING], "next": [{"condition": "data.r == 'pong'", "target": "A"}]},
    },
}


async def test_a_flow_that_keeps_calling_connectors_is_stopped_and_the_turn_committed() -> None:
    calls = ScriptedConnector({"ping": OperationScript(result="pong")}, category="mock")
    async with bootstrap_test_runtime(flow=LOOPING_FLOW, connectors={"mock": calls}) as runtime:
        result = await runtime.handle(text_message("c1", "hi"))
        state = await runtime.states.load("c1")
    assert texts(result.outputs)[-1] == "Sorry, something went wrong."
    assert 0 < len(calls.calls) <= MAX_CALLS_PER_TURN
    assert state is not None
    assert state.awaiting is None
    assert state.version == 1


async def test_a_turn_stops_after_the_call_limit_without_a_dangling_call() -> None:
    many = {
        "id": "many_v1",
        "initial_state": "A",
        "settings": {"error_text": "Too much."},
        "states": {"A": {"on_enter": [PING] * (MAX_CALLS_PER_TURN + 5), "fallback": "A"}},
    }
    calls = ScriptedConnector({"ping": OperationScript(result="pong")}, category="mock")
    async with bootstrap_test_runtime(flow=many, connectors={"mock": calls}) as runtime:
        result = await runtime.handle(text_message("c1", "hi"))
        state = await runtime.states.load("c1")
    assert len(calls.calls) == MAX_CALLS_PER_TURN
    assert texts(result.outputs) == ["Too much."]
    assert state is not None
    assert state.awaiting is None


async def test_a_message_journaled_by_a_cancelled_request_runs_when_redelivered() -> None:
    """The request was cancelled after the journal write, before it queued the turn."""
    store, sender = InMemoryTenantStore(), RecordingSender()
    orphan = text_message("c1", "hi", message_id="m-1")
    orphan_too = text_message("c2", "hey", message_id="m-2")
    await store.journal.record(orphan, SAMPLE_TIME)
    await store.journal.record(orphan_too, SAMPLE_TIME)
    async with bootstrap_test_runtime(stores=store, sender=sender) as runtime:
        again = await runtime.handle(orphan)
        assert again.duplicate is True
        assert texts(again.outputs) == ["You said: hi"]
        assert await runtime.accept(orphan_too) is False  # a webhook's redelivery
        await runtime.sequencer.drain()
    assert texts(sender.to("c2")) == ["You said: hey"]
    assert await store.journal.pending() == []
