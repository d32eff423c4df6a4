"""A turn of an acknowledged message, or a due task, whose commit meets an unavailable store (a
locked file, a full disk) is tried again in the background, in the contact's order: nobody will
deliver that message again (the provider got its 200), so waiting for the next start would leave
the contact unanswered for as long as the process runs. A shutdown stops the retries; the entry
stays pending for the next start's recovery."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.domain.errors import ConcurrentUpdate, StoreUnavailable
from botfleet.domain.outputs import Output, Text
from botfleet.flows.effects import ScheduleTask
from botfleet.flows.state import ConversationState
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime, text_message
from botfleet.testing.scheduling import ManualScheduler
from botfleet.testing.stores import InMemoryTenantStore

#: Pauses between two tries of a turn, shortened for the tests.
QUICK = (0.01, 0.02)


class CommitFails(InMemoryTenantStore):
    """In-memory stores whose next `failures` turn commits find the store unavailable (or, with
    `error`, raise that), after the message was journaled: a lock taken, a disk filling up."""

    def __init__(self, failures: int = 1, error: Exception | None = None) -> None:
        super().__init__()
        self.failures = failures
        self.error = error
        self.attempts = 0
        self.tried = asyncio.Event()

    async def commit_turn(self, state: ConversationState, **fields: Any) -> ConversationState:
        self.attempts += 1
        self.tried.set()
        if self.failures:
            self.failures -= 1
            raise self.error or StoreUnavailable("state.db: cannot commit: database is locked")
        return await super().commit_turn(state, **fields)


def texts(outputs: Sequence[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Text)]


class SignallingSender(RecordingSender):
    """Records, and wakes whoever waits for a number of replies (`answered`)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_more = asyncio.Event()

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> None:
        await super().send(contact_id, outputs)
        self.sent_more.set()


async def answered(sender: SignallingSender, contact_id: str, count: int) -> list[str]:
    """The contact's replies once there are `count` of them (without anyone redelivering)."""

    async def wait() -> list[str]:
        while len(sender.to(contact_id)) < count:
            sender.sent_more.clear()
            await sender.sent_more.wait()
        return texts(sender.to(contact_id))

    return await asyncio.wait_for(wait(), timeout=2)


@pytest.mark.parametrize(
    "error",
    [
        StoreUnavailable("state.db: cannot commit: database or disk is full"),
        ConcurrentUpdate("test/c1", 1, 2),  # a writer that kept winning, three times
    ],
)
async def test_an_acknowledged_message_whose_commit_failed_is_answered_without_redelivery(
    error: Exception,
) -> None:
    failures = 1 if isinstance(error, StoreUnavailable) else 3
    store, sender = CommitFails(failures, error), SignallingSender()
    async with bootstrap_test_runtime(stores=store, sender=sender) as runtime:
        runtime.store_retry_pauses = QUICK
        assert await runtime.accept(text_message("c1", "hello", message_id="w-1")) is True
        # no redelivery: the provider was answered 200
        assert await answered(sender, "c1", 1) == ["You said: hello"]
        entry = await store.journal.get("w-1")
        assert entry is not None and entry.status == "done"
        assert runtime._in_flight == {}
        assert runtime.metrics.registry.get_sample_value("botfleet_turn_errors_total") == 1


async def test_a_webhook_message_whose_commit_met_a_held_lock_is_answered_once_it_is_free(
    tmp_path: Path,
) -> None:
    """Real SQLite: another process holds the file's write lock past the busy timeout while the
    turn commits (a backup tool, an operator's `sqlite3` shell)."""
    sender = SignallingSender()
    path = tmp_path / "state.db"
    async with (
        SqliteTenantStore.open(path, busy_timeout=0.05) as store,
        bootstrap_test_runtime(stores=store, sender=sender) as runtime,
    ):
        runtime.store_retry_pauses = QUICK
        other = sqlite3.connect(path, isolation_level=None)
        try:
            assert await runtime.accept(text_message("c1", "hello", message_id="w-1"))
            other.execute("BEGIN EXCLUSIVE")  # before the turn, queued, reaches its commit
            await asyncio.sleep(0.3)
            assert sender.sent == []
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert await answered(sender, "c1", 1) == ["You said: hello"]
        entry = await store.journal.get("w-1")
        assert entry is not None and entry.status == "done"


async def test_a_retried_turn_keeps_the_contacts_order() -> None:
    store, sender = CommitFails(failures=2), SignallingSender()
    async with bootstrap_test_runtime(stores=store, sender=sender) as runtime:
        runtime.store_retry_pauses = QUICK
        for i in range(1, 4):
            assert await runtime.accept(text_message("c1", f"m{i}", message_id=f"w-{i}"))
        assert await answered(sender, "c1", 3) == ["You said: m1", "You said: m2", "You said: m3"]
    assert store.attempts == 5


async def test_a_synchronous_turn_is_not_retried_its_client_is() -> None:
    """`handle` acknowledges with the answer: the client gets the 503 at once and retries."""
    store, sender = CommitFails(failures=1), SignallingSender()
    async with bootstrap_test_runtime(stores=store, sender=sender) as runtime:
        runtime.store_retry_pauses = QUICK
        with pytest.raises(StoreUnavailable):
            await runtime.handle(text_message("c1", "hello", message_id="s-1"))
        assert await store.journal.get("s-1") is None
        assert store.attempts == 1
        retried = await runtime.handle(text_message("c1", "hello", message_id="s-1"))
    assert texts(retried.outputs) == ["You said: hello"]


async def test_a_shutdown_stops_the_retries_and_the_next_start_answers_once() -> None:
    store, sender = CommitFails(failures=1_000), SignallingSender()
    async with bootstrap_test_runtime(stores=store, sender=sender) as runtime:
        runtime.store_retry_pauses = (60.0, 60.0)
        assert await runtime.accept(text_message("c1", "hello", message_id="w-1"))
        await store.tried.wait()
        # the lifespan's drain: it must not wait out the pause
        await asyncio.wait_for(runtime.sequencer.drain(), timeout=1)
    entry = await store.journal.get("w-1")
    assert entry is not None and entry.status == "pending"
    assert sender.sent == []

    store.failures = 0
    restarted_sender = SignallingSender()
    async with bootstrap_test_runtime(stores=store, sender=restarted_sender) as restarted:
        assert await restarted.recover() == 1
        await restarted.sequencer.drain()
    assert texts(restarted_sender.to("c1")) == ["You said: hello"]


REMINDER_FLOW: dict[str, Any] = {
    "id": "remind_v1",
    "initial_state": "START",
    "tasks": {"remind": [{"action": "send_text", "text": "Reminder: {{ data.what }}"}]},
    "states": {
        "START": {
            "on_enter": [{"action": "send_text", "text": "booked"}],
            "fallback": "START",
        }
    },
}


async def test_a_due_task_whose_commit_failed_is_run_again_not_dropped() -> None:
    store, sender = CommitFails(failures=1), SignallingSender()
    async with bootstrap_test_runtime(flow=REMINDER_FLOW, stores=store, sender=sender) as runtime:
        runtime.store_retry_pauses = QUICK
        await runtime.run_task("c1", "remind", {"what": "haircut"}, "once:r1@20240506T090000Z")
    assert texts(sender.to("c1")) == ["Reminder: haircut"]
    assert store.attempts == 2


SCHEDULING_FLOW: dict[str, Any] = {
    "id": "schedule_v1",
    "initial_state": "START",
    "tasks": {"remind": [{"action": "send_text", "text": "see you soon"}]},
    "states": {
        "START": {
            "transitions": [{"on_type": "text", "target": "BOOKED"}],
            "fallback": "START",
        },
        "BOOKED": {
            "on_enter": [
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


#: What the APScheduler adapter tells a turn whose reminder met a full disk under the job file.
FULL_JOB_FILE = "the scheduler cannot schedule task 'remind:c1': database or disk is full"


def full_disk() -> StoreUnavailable:
    """What a scheduler raises when its job file cannot be written now (the port's error, as
    the APScheduler adapter raises it on SQLITE_FULL)."""
    return StoreUnavailable(FULL_JOB_FILE, cause="database or disk is full")


class FullJobFile(ManualScheduler):
    """The job file cannot be written `failures` times (the disk is full)."""

    def __init__(self, clock: FrozenClock, failures: int) -> None:
        super().__init__(clock, tenant_id="test")
        self.failures = failures

    async def schedule(self, request: ScheduleTask) -> None:
        if self.failures:
            self.failures -= 1
            raise full_disk()
        await super().schedule(request)


async def test_a_job_file_that_cannot_be_written_does_not_fail_the_message_for_good() -> None:
    """A full disk under the job file is as transient as one under the state file: the turn runs
    again (the same keys) instead of the acknowledged message being marked failed, unanswered."""
    clock = FrozenClock(datetime(2024, 5, 6, 9, 0, tzinfo=UTC))
    scheduler = FullJobFile(clock, failures=1)
    store, sender = InMemoryTenantStore(), SignallingSender()
    async with bootstrap_test_runtime(
        flow=SCHEDULING_FLOW, stores=store, sender=sender, clock=clock, scheduler=scheduler
    ) as runtime:
        runtime.store_retry_pauses = QUICK
        with structlog.testing.capture_logs() as logs:
            assert await runtime.accept(text_message("c1", "book me", message_id="w-1"))
            assert await answered(sender, "c1", 1) == ["booked"]
        assert [job.key for job in await scheduler.jobs()] == ["remind:c1"]
    entry = await store.journal.get("w-1")
    assert entry is not None and entry.status == "done"
    (retry,) = [line for line in logs if line["event"] == "turn_retry_later"]
    assert (retry["error"], retry["detail"]) == ("StoreUnavailable", FULL_JOB_FILE)
    assert not [line for line in logs if line["event"] == "turn_failed"]


def _fill(conn: sqlite3.Connection) -> None:
    """The file cannot grow by a page (as on a full disk; `max_page_count` is per connection)."""
    conn.execute("CREATE TABLE filler (x BLOB)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    for size in (2000, 500, 50):
        with pytest.raises(sqlite3.OperationalError, match="full"):
            while True:
                conn.execute("INSERT INTO filler VALUES (zeroblob(?))", (size,))


def _make_room(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA max_page_count = 1073741823")
    conn.execute("DROP TABLE filler")


# The job's row needs a page of its own, which a full file cannot give.
BIG_JOB_FLOW: dict[str, Any] = {
    **SCHEDULING_FLOW,
    "states": {
        **SCHEDULING_FLOW["states"],
        "BOOKED": {
            **SCHEDULING_FLOW["states"]["BOOKED"],
            "on_enter": [
                {**SCHEDULING_FLOW["states"]["BOOKED"]["on_enter"][0], "data": {"n": "x" * 4090}},
                {"action": "send_text", "text": "booked"},
            ],
        },
    },
}


async def test_the_real_job_file_on_a_full_disk_makes_the_turn_wait_then_run(
    tmp_path: Path,
) -> None:
    """The APScheduler job store's own ROLLBACK after SQLITE_FULL fails ("cannot rollback - no
    transaction is active") and hides the full disk: the turn still waits for room."""
    clock = FrozenClock(datetime(2024, 5, 6, 9, 0, tzinfo=UTC))
    scheduler = APSchedulerTaskScheduler(
        tenant_id="test", jobs_db=tmp_path / "state.jobs.db", clock=clock
    )
    store, sender = InMemoryTenantStore(), SignallingSender()
    async with bootstrap_test_runtime(
        flow=BIG_JOB_FLOW, stores=store, sender=sender, clock=clock, scheduler=scheduler
    ) as runtime:
        runtime.store_retry_pauses = QUICK
        conn = scheduler._store._conn  # type: ignore[union-attr]  # the fault, on its connection
        _fill(conn)
        with structlog.testing.capture_logs() as logs:
            assert await runtime.accept(text_message("c1", "book me", message_id="w-1"))
            await asyncio.sleep(0.1)
        assert sender.sent == []
        entry = await store.journal.get("w-1")
        assert entry is not None and entry.status == "pending"  # not "failed": not lost
        retries = [line for line in logs if line["event"] == "turn_retry_later"]
        assert retries and {(line["error"], line["detail"]) for line in retries} == {
            ("StoreUnavailable", FULL_JOB_FILE)  # the full disk, not the failed rollback
        }
        _make_room(conn)
        assert await answered(sender, "c1", 1) == ["booked"]
        assert [job.key for job in await scheduler.jobs()] == ["remind:c1"]


async def test_a_scheduler_bug_still_fails_the_turn_once() -> None:
    """Only a store that cannot be written now is waited for; an adapter's bug is not retried."""

    class Broken(ManualScheduler):
        async def schedule(self, request: ScheduleTask) -> None:
            raise KeyError("bug")

    clock = FrozenClock(datetime(2024, 5, 6, 9, 0, tzinfo=UTC))
    store = InMemoryTenantStore()
    async with bootstrap_test_runtime(
        flow=SCHEDULING_FLOW, stores=store, clock=clock, scheduler=Broken(clock, tenant_id="test")
    ) as runtime:
        runtime.store_retry_pauses = QUICK
        assert await runtime.accept(text_message("c1", "book me", message_id="w-1"))
        await runtime.sequencer.drain()
    entry = await store.journal.get("w-1")
    assert entry is not None and entry.status == "failed"
