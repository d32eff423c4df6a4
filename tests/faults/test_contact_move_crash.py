"""A contact move (a Telegram group become a supergroup) cut short at each of its steps, then
the data plane started again on the same files (the real SQLite stores and APScheduler job file).

The conversation lives in `state.db`, its reminders in `state.jobs.db`: no transaction spans
both. The commit that moves the conversation records the move as unfinished; the jobs move in
one job file transaction; then the record goes. A crash (here: the step failing, then the
process gone) between two steps used to leave the reminder under the old id, firing into a
conversation that was gone, and the old id's pending messages starting a new one there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from reminder_harness import booking_flow, schedule_reminder

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.domain.errors import StoreUnavailable
from botfleet.domain.outputs import Text
from botfleet.ports.clock import SystemClock
from botfleet.ports.scheduling import one_off_run_id
from botfleet.ports.stores import MovesConversations
from botfleet.testing.runtime import (
    RecordingSender,
    bootstrap_test_runtime,
    make_settings,
    make_tenant_config,
    text_message,
)

OLD, NEW = "-4012345678", "-1001234567890"
REMINDER = "Reminder: your appointment"
FLOW: dict[str, Any] = booking_flow("move_crash", REMINDER, schedule_reminder(delay="1h"))


@asynccontextmanager
async def data_plane(
    db: Path, sender: RecordingSender | None = None
) -> AsyncIterator[tuple[ConversationRuntime, APSchedulerTaskScheduler, MovesConversations]]:
    async with bootstrap_test_runtime(
        make_tenant_config(FLOW),
        settings=make_settings(db),
        clock=SystemClock(),
        sender=sender or RecordingSender(),
    ) as runtime:
        scheduler, records = runtime.scheduler, runtime.records
        assert isinstance(scheduler, APSchedulerTaskScheduler)
        assert isinstance(records, MovesConversations)
        yield runtime, scheduler, records


async def booked_then_cut_short(db: Path, step: str) -> None:
    """OLD books (a reminder under `reminder:OLD`); its move fails at `step`; a message of OLD
    that came after the move is journaled but not answered; the process goes."""
    async with data_plane(db) as (runtime, scheduler, records):
        assert await runtime.accept(text_message(OLD, "book", message_id="m-1"))
        await runtime.sequencer.drain()
        assert [j.key for j in await scheduler.jobs()] == [f"reminder:{OLD}"]

        async def fails(*args: Any, **kwargs: Any) -> Any:
            raise StoreUnavailable(f"{step}: the disk is full", cause="disk full")

        target = records if step in ("move_conversation", "move_finished") else scheduler
        setattr(target, step, fails)
        with pytest.raises(StoreUnavailable):
            await runtime.move_contact(OLD, NEW)
        # Acknowledged after the move failed, never answered: the crash.
        assert await runtime.journal.record(text_message(OLD, "again", message_id="m-2"), _now())


def _now() -> Any:
    return SystemClock().now()


def texts(sender: RecordingSender, contact: str) -> list[str]:
    return [o.text for o in sender.to(contact) if isinstance(o, Text)]


@pytest.mark.parametrize("step", ["move_jobs", "move_finished"])
async def test_a_move_cut_short_after_the_conversation_moved_is_finished_at_the_start(
    tmp_path: Path, step: str
) -> None:
    """Cut after the conversation's commit (the jobs not moved, or moved but the record not
    gone): the start moves the reminder, once, before the scheduler runs, and the old id's
    pending message is answered in the moved conversation, under the new id."""
    db = tmp_path / "state.db"
    await booked_then_cut_short(db, step)

    sender = RecordingSender()
    async with data_plane(db, sender) as (runtime, scheduler, records):
        jobs = await scheduler.jobs()
        assert [(j.key, j.contact_id) for j in jobs] == [(f"reminder:{NEW}", NEW)]
        assert await records.unfinished_moves() == []
        assert await runtime.states.load(OLD) is None
        assert await runtime.recover() == 1
        await runtime.sequencer.drain()
        moved = await runtime.states.load(NEW)
        entry = await runtime.journal.get("m-2")
        # The second booking replaced the moved reminder (same key): still one.
        assert [j.key for j in await scheduler.jobs()] == [f"reminder:{NEW}"]
    assert texts(sender, NEW) == ["Booked"] and texts(sender, OLD) == []
    assert moved is not None and moved.version == 2  # the first booking's state, then this one
    assert entry is not None and entry.status == "done"


async def test_a_move_cut_short_before_the_conversation_moved_leaves_everything_as_it_was(
    tmp_path: Path,
) -> None:
    """Cut before the conversation's commit: nothing moved, nothing recorded; both halves stay
    under the old id together (the channel asks for the move again)."""
    db = tmp_path / "state.db"
    await booked_then_cut_short(db, "move_conversation")

    async with data_plane(db) as (runtime, scheduler, records):
        assert [j.contact_id for j in await scheduler.jobs()] == [OLD]
        assert await records.unfinished_moves() == []
        assert await runtime.states.load(OLD) is not None
        assert await runtime.states.load(NEW) is None
        # Asked again: it all moves.
        moved = await runtime.move_contact(OLD, NEW)
        assert (moved.conversation, moved.tasks_moved) == ("moved", 1)
        assert [j.contact_id for j in await scheduler.jobs()] == [NEW]
        assert await records.unfinished_moves() == []


async def test_a_reminder_whose_run_is_recorded_is_not_moved_to_run_again(tmp_path: Path) -> None:
    """A fired reminder a crash kept in the job file would be skipped under its own run id; the
    move would give it a new one (its key names the contact), so it is removed, not moved."""
    db = tmp_path / "state.db"
    async with data_plane(db) as (runtime, scheduler, _):
        assert await runtime.accept(text_message(OLD, "book", message_id="m-1"))
        await runtime.sequencer.drain()
        [job] = await scheduler.jobs()
        assert job.next_run_at is not None
        ran = one_off_run_id(job.key, job.next_run_at)

        async def recorded(run: str) -> bool:
            return run == ran

        runtime.turns.task_ran = recorded  # type: ignore[method-assign]
        moved = await runtime.move_contact(OLD, NEW)
        assert (moved.conversation, moved.tasks_moved) == ("moved", 0)
        assert await scheduler.jobs() == []


async def test_a_stopped_scheduler_moves_the_jobs_in_its_file(tmp_path: Path) -> None:
    """The start finishes a move before the scheduler runs: the jobs move on the file itself."""
    db = tmp_path / "state.db"
    async with data_plane(db) as (runtime, scheduler, _):
        assert await runtime.accept(text_message(OLD, "book", message_id="m-1"))
        await runtime.sequencer.drain()
    assert scheduler.jobs_db is not None
    stopped = APSchedulerTaskScheduler(tenant_id="test", jobs_db=scheduler.jobs_db)
    assert await stopped.move_jobs(OLD, NEW) == 1
    assert await stopped.move_jobs(OLD, NEW) == 0  # nothing left: idempotent
    async with data_plane(db) as (_, scheduler, _):
        assert [j.contact_id for j in await scheduler.jobs()] == [NEW]


async def test_a_move_whose_jobs_fail_forgets_the_cached_states_at_once(tmp_path: Path) -> None:
    """The conversation moved, the job file refused its reminders: the old id's cached state
    (no longer in the store) is forgotten then, not only when the whole move succeeds, so the
    old id's next turn does not meet a version conflict and run its connector calls twice."""
    async with data_plane(tmp_path / "state.db") as (runtime, scheduler, _records):
        assert await runtime.accept(text_message(OLD, "book", message_id="m-1"))
        await runtime.sequencer.drain()
        assert runtime.state_cache.get(OLD) is not None

        async def fails(*args: Any, **kwargs: Any) -> Any:
            raise StoreUnavailable("move_jobs: the disk is full", cause="disk full")

        scheduler.move_jobs = fails  # type: ignore[method-assign]
        with pytest.raises(StoreUnavailable):
            await runtime.move_contact(OLD, NEW)
        assert runtime.state_cache.get(OLD) is None
        assert runtime.state_cache.get(NEW) is None
