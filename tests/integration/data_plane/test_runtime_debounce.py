"""`settings.debounce_ms`: texts a contact sends in quick succession are answered as one turn."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from botfleet.data_plane.runtime.handle import MAX_DEBOUNCE_PERIODS, MAX_MERGED_TEXTS
from botfleet.domain.errors import ConcurrentUpdate, StoreError
from botfleet.domain.messages import OPTION_MENU, InboundMessage, MessageType
from botfleet.domain.outputs import Output, Text
from botfleet.flows.state import ConversationState
from botfleet.ports.channels import TurnResult
from botfleet.testing.runtime import (
    bootstrap_test_runtime,
    choice_message,
    running_app,
    text_message,
)
from botfleet.testing.stores import GatedStore, InMemoryTenantStore


def echo_flow(debounce_ms: int) -> dict[str, Any]:
    return {
        "id": "echo_debounced",
        "initial_state": "ECHO",
        "settings": {"debounce_ms": debounce_ms},
        "states": {
            "ECHO": {
                "on_enter": [{"action": "send_text", "text": "you said: {{ message.text }}"}],
                "transitions": [{"on_payload": "ping", "target": "ECHO"}],
                "fallback": "ECHO",
            }
        },
    }


def texts(outputs: Sequence[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Text)]


async def outbox_texts(store: InMemoryTenantStore, contact_id: str = "c1") -> list[str]:
    return [r["output"]["text"] for r in await store.outbox.since(contact_id=contact_id)]


async def send_all(runtime: Any, messages: Sequence[Any], gap_s: float) -> list[TurnResult]:
    turns = []
    for message in messages:
        turns.append(asyncio.create_task(runtime.handle(message)))
        await asyncio.sleep(gap_s)
    return list(await asyncio.gather(*turns))


async def test_texts_sent_within_the_debounce_are_answered_once_by_the_last() -> None:
    store = InMemoryTenantStore()
    messages = [
        text_message("c1", t, message_id=f"m{i}") for i, t in enumerate(["hi", "I want", "a cut"])
    ]
    async with bootstrap_test_runtime(flow=echo_flow(300), stores=store) as runtime:
        results = await send_all(runtime, messages, 0.02)
    assert runtime.metrics.registry.get_sample_value("botfleet_merged_messages_total") == 2
    assert [texts(r.outputs) for r in results] == [[], [], ["you said: hi\nI want\na cut"]]
    assert await outbox_texts(store) == ["you said: hi\nI want\na cut"]
    entries = [await store.journal.get(f"m{i}") for i in range(3)]
    assert [(e.status, len(e.replies)) for e in entries if e] == [
        ("done", 0),
        ("done", 0),
        ("done", 1),
    ]
    state = await store.states.load("c1")
    assert state is not None
    assert state.version == 1  # one turn, one commit


async def test_texts_further_apart_than_the_debounce_are_answered_one_by_one() -> None:
    store = InMemoryTenantStore()
    async with bootstrap_test_runtime(flow=echo_flow(50), stores=store) as runtime:
        results = await send_all(
            runtime, [text_message("c1", "one"), text_message("c1", "two")], 0.3
        )
    assert [texts(r.outputs) for r in results] == [["you said: one"], ["you said: two"]]


async def test_a_button_press_ends_the_run_of_texts_and_is_not_delayed_into_it() -> None:
    store = InMemoryTenantStore()
    messages = [
        text_message("c1", "a"),
        text_message("c1", "b"),
        choice_message("c1", "ping", title="Ping"),
        text_message("c1", "c"),
    ]
    async with bootstrap_test_runtime(flow=echo_flow(200), stores=store) as runtime:
        await send_all(runtime, messages, 0.01)
    assert await outbox_texts(store) == ["you said: a\nb", "you said: Ping", "you said: c"]


async def test_other_contacts_are_neither_merged_nor_held_up() -> None:
    store = InMemoryTenantStore()
    async with bootstrap_test_runtime(flow=echo_flow(200), stores=store) as runtime:
        first = asyncio.create_task(runtime.handle(text_message("c1", "x")))
        await asyncio.sleep(0.01)
        other = await runtime.handle(choice_message("c2", "ping", title="Ping"))
        assert not first.done()  # c2 was answered while c1 still waited for its debounce
        await first
    assert texts(other.outputs) == ["you said: Ping"]
    assert await outbox_texts(store, "c1") == ["you said: x"]


async def test_a_contact_who_never_pauses_is_answered_after_the_longest_wait() -> None:
    store = InMemoryTenantStore()
    debounce_s = 0.06
    count = 2 * MAX_DEBOUNCE_PERIODS + 4  # sent every half period: never a pause
    messages = [text_message("c1", f"t{i}") for i in range(count)]
    async with bootstrap_test_runtime(
        flow=echo_flow(int(debounce_s * 1000)), stores=store
    ) as runtime:
        await send_all(runtime, messages, debounce_s / 2)
    answers = await outbox_texts(store)
    assert len(answers) >= 2  # the first answer did not wait for the last text
    said = [line for answer in answers for line in answer.removeprefix("you said: ").split("\n")]
    assert said == [f"t{i}" for i in range(count)]  # every text once, in order


async def test_merged_texts_cut_short_by_a_crash_are_answered_together_once() -> None:
    store = GatedStore(closed=True)
    flow = echo_flow(100)
    async with bootstrap_test_runtime(flow=flow, stores=store) as crashed:
        assert await crashed.accept(text_message("c1", "a", message_id="m-a"))
        assert await crashed.accept(text_message("c1", "b", message_id="m-b"))
        await store.waiting.wait()  # dies before the merged turn's commit

        async with bootstrap_test_runtime(flow=flow, stores=store) as restarted:
            stuck, store.gate = store.gate, asyncio.Event()
            store.gate.set()
            assert await restarted.recover() == 2
            await restarted.sequencer.drain()
        stuck.set()  # the first process's commit comes too late: nothing is written twice
        await crashed.sequencer.drain()
    assert await outbox_texts(store) == ["you said: a\nb"]
    assert await store.journal.pending() == []


class BrokenStore(InMemoryTenantStore):
    async def commit_turn(self, state: ConversationState, **fields: Any) -> ConversationState:
        raise StoreError("disk full")


async def test_a_merged_turn_that_fails_fails_every_message_it_took_in() -> None:
    store = BrokenStore()
    messages = [text_message("c1", t, message_id=f"m{i}") for i, t in enumerate("ab")]
    async with bootstrap_test_runtime(flow=echo_flow(200), stores=store) as runtime:
        turns = [asyncio.create_task(runtime.handle(m)) for m in messages]
        outcomes = await asyncio.gather(*turns, return_exceptions=True)
    assert all(isinstance(o, StoreError) for o in outcomes)
    entries = [await store.journal.get(f"m{i}") for i in range(2)]
    assert [e.status for e in entries if e] == ["failed", "failed"]


class RacedStore(InMemoryTenantStore):
    """The first commit meets a concurrent writer: the merged turn runs again, still merged."""

    def __init__(self) -> None:
        super().__init__()
        self.merged: list[Sequence[str]] = []

    async def commit_turn(self, state: ConversationState, **fields: Any) -> ConversationState:
        self.merged.append(tuple(fields["merged_ids"]))
        if len(self.merged) == 1:
            raise ConcurrentUpdate("test/c1", fields["expected_version"], 99)
        return await super().commit_turn(state, **fields)


async def test_a_merged_turn_run_again_after_a_race_stays_merged() -> None:
    store = RacedStore()
    messages = [text_message("c1", t, message_id=f"m{i}") for i, t in enumerate("ab")]
    async with bootstrap_test_runtime(flow=echo_flow(200), stores=store) as runtime:
        await send_all(runtime, messages, 0.01)
    assert store.merged == [("m0",), ("m0",)]
    assert await outbox_texts(store) == ["you said: a\nb"]


@pytest.mark.parametrize("debounce_ms", [0])
async def test_without_debounce_every_text_is_its_own_turn(debounce_ms: int) -> None:
    store = InMemoryTenantStore()
    messages = [text_message("c1", t) for t in ("a", "b", "c")]
    async with bootstrap_test_runtime(flow=echo_flow(debounce_ms), stores=store) as runtime:
        await send_all(runtime, messages, 0)
    assert await outbox_texts(store) == ["you said: a", "you said: b", "you said: c"]


async def test_the_web_chat_answers_quick_texts_once_on_sqlite(tmp_path: Path) -> None:
    async with running_app(flow=echo_flow(300), state_db=tmp_path / "tenant.db") as chat:
        first = asyncio.create_task(chat.say("c1", "hello"))
        await asyncio.sleep(0.05)
        second = await chat.say("c1", "are you open?")
        assert await first == []  # the answer comes with the last text
        assert [r["text"] for r in second] == ["you said: hello\nare you open?"]
        stored = await chat.messages("c1")
    assert [m["output"]["text"] for m in stored] == ["you said: hello\nare you open?"]


async def test_a_flood_of_texts_is_answered_in_bounded_turns() -> None:
    store = InMemoryTenantStore()
    count = MAX_MERGED_TEXTS + 5
    messages = [text_message("c1", f"t{i}") for i in range(count)]
    debounce_s = 2.0
    async with bootstrap_test_runtime(
        flow=echo_flow(int(debounce_s * 1000)), stores=store
    ) as runtime:
        loop = asyncio.get_running_loop()
        started = loop.time()
        turns = [asyncio.create_task(runtime.handle(m)) for m in messages]
        full = await turns[MAX_MERGED_TEXTS - 1]  # the last text of the first, full turn
        assert loop.time() - started < debounce_s  # it did not wait for the contact's pause
        assert len(full.outputs) == 1
        await asyncio.gather(*turns)
    lines = [answer.removeprefix("you said: ").split("\n") for answer in await outbox_texts(store)]
    assert [len(batch) for batch in lines] == [MAX_MERGED_TEXTS, 5]
    assert [line for batch in lines for line in batch] == [f"t{i}" for i in range(count)]


async def test_a_retried_text_neither_splits_the_run_nor_gets_a_second_answer() -> None:
    store = InMemoryTenantStore()
    first = text_message("c1", "hi", message_id="m-hi")
    messages = [first, first, text_message("c1", "a cut", message_id="m-cut")]
    async with bootstrap_test_runtime(flow=echo_flow(300), stores=store) as runtime:
        results = await send_all(runtime, messages, 0.02)
    assert [(r.duplicate, texts(r.outputs)) for r in results] == [
        (False, []),
        (True, []),
        (False, ["you said: hi\na cut"]),
    ]
    assert await outbox_texts(store) == ["you said: hi\na cut"]


async def answered_at(runtime: Any, message: Any, started: float) -> tuple[TurnResult, float]:
    result = await runtime.handle(message)
    return result, asyncio.get_running_loop().time() - started


@pytest.mark.parametrize(
    "closing",
    [
        choice_message("c1", "ping", title="Ping"),
        replace(text_message("c1", "2"), extra={OPTION_MENU: "0123456789"}),
        replace(text_message("c1", ""), type=MessageType.LOCATION),
    ],
    ids=["button", "by_position", "location"],
)
async def test_a_press_ends_the_texts_wait_at_once(closing: InboundMessage) -> None:
    # Texts behind a press can no longer join the waiting turn: waiting out the debounce
    # would only hold up both answers.
    store = InMemoryTenantStore()
    debounce_s = 2.0
    async with bootstrap_test_runtime(
        flow=echo_flow(int(debounce_s * 1000)), stores=store
    ) as runtime:
        started = asyncio.get_running_loop().time()
        first = asyncio.create_task(answered_at(runtime, text_message("c1", "a"), started))
        second = asyncio.create_task(answered_at(runtime, text_message("c1", "b"), started))
        await asyncio.sleep(0.05)
        assert not second.done()  # the texts wait for their debounce...
        (_, texts_s), (press, press_s) = await asyncio.gather(
            second, answered_at(runtime, closing, started)
        )
        await first
    assert texts_s < 1.0 and press_s < 1.0  # ...until the press comes, not a period more
    assert texts_s <= press_s
    said = await outbox_texts(store)
    assert said[0] == "you said: a\nb"  # the texts together, then the press on its own
    assert len(said) == 2 and texts(press.outputs) == said[1:]


async def test_a_due_task_ends_the_texts_wait_at_once() -> None:
    store = InMemoryTenantStore()
    flow = {**echo_flow(2000), "tasks": {"reminder": [{"action": "send_text", "text": "bye"}]}}
    async with bootstrap_test_runtime(flow=flow, stores=store) as runtime:
        loop = asyncio.get_running_loop()
        started = loop.time()
        text = asyncio.create_task(runtime.handle(text_message("c1", "a")))
        await asyncio.sleep(0.05)
        await runtime.run_task("c1", "reminder", {}, "job-1")
        result = await text
        assert loop.time() - started < 1.0
    assert texts(result.outputs) == ["you said: a"]
    assert await outbox_texts(store) == ["you said: a", "bye"]
