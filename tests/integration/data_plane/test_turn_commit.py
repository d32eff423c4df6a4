"""`commit_turn`: a turn's state, outbox rows and journal completion, all or nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeAlias

import pytest

from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore
from botfleet.domain.errors import ConcurrentUpdate, StoreError
from botfleet.ports.stores import ReceivedMessage, TurnStore
from botfleet.testing.stores import SAMPLE_TIME, sample_message, sample_state

TenantStore: TypeAlias = InMemoryTenantStore | SqliteTenantStore

REPLIES = [{"type": "text", "text": "hi"}, {"type": "text", "text": "there"}]


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TenantStore]:
    if request.param == "memory":
        async with InMemoryTenantStore() as memory:
            yield memory
    else:
        async with SqliteTenantStore.open(tmp_path / "tenant.db") as sqlite:
            yield sqlite


def as_turn_store(store: TenantStore) -> TurnStore:
    return store  # mypy checks that both tenant stores satisfy the port


async def test_commit_saves_state_appends_outbox_and_completes_the_message(
    store: TenantStore,
) -> None:
    await store.journal.record(sample_message("m1"), SAMPLE_TIME)
    saved = await as_turn_store(store).commit_turn(
        sample_state(node="BOOK"),
        expected_version=0,
        message_id="m1",
        outputs=REPLIES,
        at=SAMPLE_TIME,
    )
    assert saved.version == 1
    loaded = await store.states.load("contact-1")
    assert loaded is not None
    assert (loaded.node, loaded.version) == ("BOOK", 1)
    rows = await store.outbox.since(contact_id="contact-1")
    assert [r["output"] for r in rows] == REPLIES
    entry = await store.journal.get("m1")
    assert entry is not None
    assert entry.status == "done"
    assert list(entry.replies) == REPLIES
    assert await store.journal.pending() == []


async def test_a_stale_version_writes_nothing(store: TenantStore) -> None:
    await store.states.save(sample_state(node="MENU"), expected_version=0)
    await store.journal.record(sample_message("m1"), SAMPLE_TIME)
    with pytest.raises(ConcurrentUpdate):
        await store.commit_turn(
            sample_state(node="BOOK"),
            expected_version=0,
            message_id="m1",
            outputs=REPLIES,
            at=SAMPLE_TIME,
        )
    loaded = await store.states.load("contact-1")
    assert loaded is not None
    assert loaded.node == "MENU"
    assert await store.outbox.since(contact_id="contact-1") == []
    assert [e.message.message_id for e in await store.journal.pending()] == ["m1"]


async def test_a_message_is_never_committed_twice(store: TenantStore) -> None:
    await store.journal.record(sample_message("m1"), SAMPLE_TIME)
    first = await store.commit_turn(
        sample_state(node="BOOK"),
        expected_version=0,
        message_id="m1",
        outputs=REPLIES,
        at=SAMPLE_TIME,
    )
    with pytest.raises(StoreError, match="already processed"):
        await store.commit_turn(
            sample_state(node="DAY"),
            expected_version=first.version,
            message_id="m1",
            outputs=[{"type": "text", "text": "again"}],
            at=SAMPLE_TIME,
        )
    loaded = await store.states.load("contact-1")
    assert loaded is not None
    assert (loaded.node, loaded.version) == ("BOOK", 1)
    assert len(await store.outbox.since(contact_id="contact-1")) == len(REPLIES)


async def test_an_unknown_message_writes_nothing(store: TenantStore) -> None:
    with pytest.raises(StoreError, match="no message 'ghost'"):
        await store.commit_turn(
            sample_state(), expected_version=0, message_id="ghost", outputs=REPLIES, at=SAMPLE_TIME
        )
    assert await store.states.load("contact-1") is None
    assert await store.outbox.since(contact_id="contact-1") == []


async def test_merged_messages_are_completed_with_the_turn_and_no_replies(
    store: TenantStore,
) -> None:
    for message_id in ("m1", "m2", "m3"):
        await store.journal.record(sample_message(message_id), SAMPLE_TIME)
    await store.commit_turn(
        sample_state(node="BOOK"),
        expected_version=0,
        message_id="m3",
        outputs=REPLIES,
        at=SAMPLE_TIME,
        merged_ids=["m1", "m2"],
    )
    assert await store.journal.pending() == []
    for merged in ("m1", "m2"):
        entry = await store.journal.get(merged)
        assert entry is not None
        assert (entry.status, list(entry.replies)) == ("done", [])
    last = await store.journal.get("m3")
    assert last is not None
    assert list(last.replies) == REPLIES
    assert len(await store.outbox.since(contact_id="contact-1")) == len(REPLIES)


@pytest.mark.parametrize(
    ("merged_ids", "error"),
    [
        (["m1", "ghost"], "no message 'ghost'"),
        (["m1", "done"], "already processed"),
        (["m1", "m2"], "'m2'"),  # m2 is the turn's own message: completed twice
    ],
)
async def test_a_merged_message_that_cannot_be_completed_writes_nothing(
    store: TenantStore, merged_ids: list[str], error: str
) -> None:
    for message_id in ("m1", "m2", "done"):
        await store.journal.record(sample_message(message_id), SAMPLE_TIME)
    await store.commit_turn(
        sample_state(contact_id="contact-2"),
        expected_version=0,
        message_id="done",
        outputs=[],
        at=SAMPLE_TIME,
    )
    with pytest.raises(StoreError, match=error):
        await store.commit_turn(
            sample_state(node="BOOK"),
            expected_version=0,
            message_id="m2",
            outputs=REPLIES,
            at=SAMPLE_TIME,
            merged_ids=merged_ids,
        )
    assert await store.states.load("contact-1") is None
    assert await store.outbox.since(contact_id="contact-1") == []
    assert [e.message.message_id for e in await store.journal.pending()] == ["m1", "m2"]


LATER = SAMPLE_TIME.replace(minute=45)


async def test_a_message_never_journaled_is_recorded_done_by_its_turn(store: TenantStore) -> None:
    """A synchronous channel's message: the turn's transaction is its only journal write."""
    message = sample_message("m1", text="quiero cita")
    await store.commit_turn(
        sample_state(node="BOOK"),
        expected_version=0,
        message_id="m1",
        outputs=REPLIES,
        at=SAMPLE_TIME,
        unrecorded=[ReceivedMessage(message, LATER)],
    )
    entry = await store.journal.get("m1")
    assert entry is not None
    assert (entry.status, list(entry.replies)) == ("done", REPLIES)
    assert (entry.message, entry.received_at) == (message, LATER)
    assert await store.journal.pending() == []
    assert await store.journal.record(message, LATER) is False  # a duplicate from now on
    loaded = await store.states.load("contact-1")
    assert loaded is not None
    assert loaded.node == "BOOK"


async def test_merged_messages_never_journaled_are_recorded_with_no_replies(
    store: TenantStore,
) -> None:
    await store.journal.record(sample_message("m2"), SAMPLE_TIME)  # journaled: completed
    await store.commit_turn(
        sample_state(node="BOOK"),
        expected_version=0,
        message_id="m3",
        outputs=REPLIES,
        at=SAMPLE_TIME,
        merged_ids=["m1", "m2"],
        unrecorded=[
            ReceivedMessage(sample_message("m1"), SAMPLE_TIME),
            ReceivedMessage(sample_message("m3"), LATER),
        ],
    )
    replies = {}
    for message_id in ("m1", "m2", "m3"):
        entry = await store.journal.get(message_id)
        assert entry is not None
        assert entry.status == "done"
        replies[message_id] = list(entry.replies)
    assert replies == {"m1": [], "m2": [], "m3": REPLIES}
    assert await store.journal.pending() == []


@pytest.mark.parametrize("status", ["pending", "done"])
async def test_a_message_to_record_that_is_in_the_journal_writes_nothing(
    store: TenantStore, status: str
) -> None:
    await store.journal.record(sample_message("m1"), SAMPLE_TIME)
    if status == "done":
        await store.journal.complete("m1", [{"type": "text", "text": "first"}])
    with pytest.raises(StoreError, match=f"'m1' is in the journal already \\(status '{status}'"):
        await store.commit_turn(
            sample_state(node="BOOK"),
            expected_version=0,
            message_id="m1",
            outputs=REPLIES,
            at=SAMPLE_TIME,
            unrecorded=[ReceivedMessage(sample_message("m1"), LATER)],
        )
    assert await store.states.load("contact-1") is None
    assert await store.outbox.since(contact_id="contact-1") == []
    entry = await store.journal.get("m1")
    assert entry is not None
    assert (entry.status, entry.received_at) == (status, SAMPLE_TIME)


async def test_a_task_turn_leaves_the_journal_alone(store: TenantStore) -> None:
    await store.journal.record(sample_message("m1"), SAMPLE_TIME)
    await store.commit_turn(
        sample_state(), expected_version=0, message_id=None, outputs=REPLIES[:1], at=SAMPLE_TIME
    )
    assert [e.message.message_id for e in await store.journal.pending()] == ["m1"]
    assert len(await store.outbox.since(contact_id="contact-1")) == 1


async def test_an_output_that_is_not_json_is_refused_before_writing(store: TenantStore) -> None:
    await store.journal.record(sample_message("m1"), SAMPLE_TIME)
    with pytest.raises(StoreError, match=r"outbox output for 'contact-1'\[0\]"):
        await store.commit_turn(
            sample_state(),
            expected_version=0,
            message_id="m1",
            outputs=[{"type": "text", "text": {1, 2}}],
            at=SAMPLE_TIME,
        )
    assert await store.states.load("contact-1") is None
    assert [e.message.message_id for e in await store.journal.pending()] == ["m1"]


async def test_the_history_is_bounded_and_the_version_counts_commits(store: TenantStore) -> None:
    state = sample_state()
    for i in range(3):
        await store.journal.record(sample_message(f"m{i}"), SAMPLE_TIME)
        state = await store.commit_turn(
            state, expected_version=state.version, message_id=f"m{i}", outputs=[], at=SAMPLE_TIME
        )
    assert state.version == 3
    loaded = await store.states.load("contact-1")
    assert loaded is not None
    assert loaded.version == 3


async def test_other_statements_never_join_a_failing_turn_transaction(tmp_path: Path) -> None:
    """The connection is shared: a rolled-back turn must not take other writes with it."""
    async with SqliteTenantStore.open(tmp_path / "tenant.db") as store:
        await store.states.save(sample_state(), expected_version=0)

        async def stale_commit() -> None:
            with pytest.raises(ConcurrentUpdate):
                await store.commit_turn(
                    sample_state(),
                    expected_version=0,
                    message_id=None,
                    outputs=REPLIES,
                    at=SAMPLE_TIME,
                )

        records = [
            store.journal.record(sample_message(f"m{i}", f"c{i}"), SAMPLE_TIME) for i in range(50)
        ]
        commits = [stale_commit() for _ in range(20)]
        await asyncio.gather(*records[:25], *commits, *records[25:])
        assert len(await store.journal.pending()) == 50
        assert await store.outbox.since(contact_id="contact-1") == []

    async with SqliteTenantStore.open(tmp_path / "tenant.db") as reopened:
        assert len(await reopened.journal.pending()) == 50


async def test_a_committed_turn_survives_reopening(tmp_path: Path) -> None:
    async with SqliteTenantStore.open(tmp_path / "tenant.db") as store:
        await store.journal.record(sample_message("m1"), SAMPLE_TIME)
        await store.commit_turn(
            sample_state(node="BOOK"),
            expected_version=0,
            message_id="m1",
            outputs=REPLIES,
            at=SAMPLE_TIME,
        )
    async with SqliteTenantStore.open(tmp_path / "tenant.db") as reopened:
        loaded = await reopened.states.load("contact-1")
        assert loaded is not None
        assert loaded.node == "BOOK"
        assert len(await reopened.outbox.since(contact_id="contact-1")) == 2
        entry = await reopened.journal.get("m1")
        assert entry is not None
        assert entry.status == "done"


async def test_a_closed_store_refuses_to_commit(tmp_path: Path) -> None:
    store = await SqliteTenantStore.open(tmp_path / "tenant.db")
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.commit_turn(
            sample_state(), expected_version=0, message_id=None, outputs=[], at=SAMPLE_TIME
        )


async def test_outputs_committed_undelivered_wait_for_confirmation(store: TenantStore) -> None:
    await store.commit_turn(
        sample_state("a"), expected_version=0, message_id=None, outputs=REPLIES, at=SAMPLE_TIME
    )
    assert await store.pending_deliveries() == []  # by default outputs count as delivered
    await store.commit_turn(
        sample_state("a"),
        expected_version=1,
        message_id=None,
        outputs=REPLIES,
        at=SAMPLE_TIME,
        undelivered=True,
    )
    await store.commit_turn(
        sample_state("b"),
        expected_version=0,
        message_id=None,
        outputs=REPLIES[:1],
        at=SAMPLE_TIME,
        undelivered=True,
    )
    pending = await store.pending_deliveries()
    assert [(r["seq"], r["contact_id"]) for r in pending] == [(3, "a"), (4, "a"), (5, "b")]
    assert [r["output"] for r in pending] == [*REPLIES, REPLIES[0]]

    assert await store.confirm_delivered("a", up_to=3) == 1
    assert [r["seq"] for r in await store.pending_deliveries()] == [4, 5]
    assert await store.confirm_delivered("a") == 1
    assert await store.confirm_delivered("a") == 0
    assert [r["seq"] for r in await store.pending_deliveries()] == [5]
    # the outbox itself is unchanged: delivery is bookkeeping only
    assert len(await store.outbox.since(contact_id="a")) == 4


async def test_undelivered_outputs_survive_a_restart(tmp_path: Path) -> None:
    async with SqliteTenantStore.open(tmp_path / "tenant.db") as store:
        await store.commit_turn(
            sample_state(),
            expected_version=0,
            message_id=None,
            outputs=REPLIES,
            at=SAMPLE_TIME,
            undelivered=True,
        )
    async with SqliteTenantStore.open(tmp_path / "tenant.db") as reopened:
        assert [r["output"] for r in await reopened.pending_deliveries()] == REPLIES


async def test_the_returned_state_is_what_load_now_returns(store: TenantStore) -> None:
    state = sample_state(data={"days": ("mon", "tue"), "nested": {"n": [1, (2, 3)]}})
    saved = await store.commit_turn(
        state, expected_version=0, message_id=None, outputs=[], at=SAMPLE_TIME
    )
    assert saved == await store.states.load("contact-1")
    assert saved.data == {"days": ["mon", "tue"], "nested": {"n": [1, [2, 3]]}}
