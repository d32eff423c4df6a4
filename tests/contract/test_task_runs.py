"""`TurnStore` task runs: a task's turn records its run (`commit_turn(task_run=...)`) in the same
transaction as its state and outbox rows; a second commit of the same run writes nothing
(`TaskAlreadyRan`). Pruned with the journal's retention. Every store adapter."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import TypeAlias

import pytest

from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore
from botfleet.adapters.stores._sqlite_schema import SCHEMA_VERSION
from botfleet.domain.errors import ConcurrentUpdate, TaskAlreadyRan
from botfleet.ports.stores import TurnStore
from botfleet.testing.stores import SAMPLE_TIME, sample_message, sample_state

# The `tenant_store` fixture's (conftest.py); not imported: `conftest` is not a package here.
TenantStore: TypeAlias = InMemoryTenantStore | SqliteTenantStore
RUN = "once:reminder:evt-1@20240507T080000Z"
REMINDER = [{"type": "text", "text": "Reminder: tomorrow at 10:00"}]


def turns(store: TenantStore) -> TurnStore:
    return store  # mypy checks that both tenant stores satisfy the port


async def test_a_task_turn_records_its_run_with_its_commit(tenant_store: TenantStore) -> None:
    assert not await turns(tenant_store).task_ran(RUN)
    await tenant_store.commit_turn(
        sample_state(),
        expected_version=0,
        message_id=None,
        outputs=REMINDER,
        at=SAMPLE_TIME,
        task_run=RUN,
    )
    assert await tenant_store.task_ran(RUN)
    assert not await tenant_store.task_ran(RUN.replace("0800", "0900"))  # another due time


async def test_a_run_recorded_before_is_not_committed_again(tenant_store: TenantStore) -> None:
    await tenant_store.commit_turn(
        sample_state(),
        expected_version=0,
        message_id=None,
        outputs=REMINDER,
        at=SAMPLE_TIME,
        task_run=RUN,
    )
    with pytest.raises(TaskAlreadyRan):
        await tenant_store.commit_turn(
            sample_state(node="LATER"),
            expected_version=1,
            message_id=None,
            outputs=REMINDER,
            at=SAMPLE_TIME,
            task_run=RUN,
        )
    state = await tenant_store.states.load("contact-1")
    assert state is not None and (state.node, state.version) == ("MENU", 1)
    assert len(await tenant_store.outbox.since(contact_id="contact-1")) == 1


async def test_a_failed_commit_records_no_run(tenant_store: TenantStore) -> None:
    await tenant_store.states.save(sample_state(), expected_version=0)
    with pytest.raises(ConcurrentUpdate):
        await tenant_store.commit_turn(
            sample_state(),
            expected_version=0,
            message_id=None,
            outputs=REMINDER,
            at=SAMPLE_TIME,
            task_run=RUN,
        )
    assert not await tenant_store.task_ran(RUN)


async def test_a_refused_run_fails_its_own_turn_only(tenant_store: TenantStore) -> None:
    """Under load the turns of one moment share a transaction (SQLite's group commit)."""
    await tenant_store.commit_turn(
        sample_state(),
        expected_version=0,
        message_id=None,
        outputs=REMINDER,
        at=SAMPLE_TIME,
        task_run=RUN,
    )
    await tenant_store.journal.record(sample_message("m-1", contact_id="other"), SAMPLE_TIME)
    again, message = await asyncio.gather(
        tenant_store.commit_turn(
            sample_state(),
            expected_version=1,
            message_id=None,
            outputs=REMINDER,
            at=SAMPLE_TIME,
            task_run=RUN,
        ),
        tenant_store.commit_turn(
            sample_state("other"),
            expected_version=0,
            message_id="m-1",
            outputs=REMINDER,
            at=SAMPLE_TIME,
        ),
        return_exceptions=True,
    )
    assert isinstance(again, TaskAlreadyRan)
    assert not isinstance(message, BaseException) and message.version == 1
    entry = await tenant_store.journal.get("m-1")
    assert entry is not None and entry.status == "done"


async def test_runs_are_pruned_by_when_they_were_recorded(tenant_store: TenantStore) -> None:
    for hour, run in enumerate(["once:a@20240507T080000Z", "once:b@20240507T080000Z"]):
        await tenant_store.commit_turn(
            sample_state(f"c{hour}"),
            expected_version=0,
            message_id=None,
            outputs=[],
            at=SAMPLE_TIME + timedelta(hours=hour),
            task_run=run,
        )
    assert await tenant_store.prune_task_runs(SAMPLE_TIME + timedelta(minutes=30)) == 1
    assert not await tenant_store.task_ran("once:a@20240507T080000Z")
    assert await tenant_store.task_ran("once:b@20240507T080000Z")
    assert await tenant_store.prune_task_runs(SAMPLE_TIME) == 0


async def test_a_file_without_task_runs_reads_and_prunes_none(tmp_path: Path) -> None:
    async with SqliteTenantStore.open(tmp_path / "tenant.db") as store:
        assert not await store.task_ran(RUN)
        assert await store.prune_task_runs(SAMPLE_TIME) == 0
    tables = sqlite3.connect(tmp_path / "tenant.db").execute(
        "SELECT name FROM sqlite_master WHERE name = 'task_runs'"
    )
    assert tables.fetchall() == []  # not created until a run is recorded


async def test_recording_runs_keeps_the_file_readable_by_earlier_releases(tmp_path: Path) -> None:
    async with SqliteTenantStore.open(tmp_path / "tenant.db") as store:
        await store.commit_turn(
            sample_state(),
            expected_version=0,
            message_id=None,
            outputs=[],
            at=SAMPLE_TIME,
            task_run=RUN,
        )
    conn = sqlite3.connect(tmp_path / "tenant.db")
    try:
        assert conn.execute("PRAGMA user_version").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("SELECT run_id FROM task_runs").fetchall() == [(RUN,)]
    finally:
        conn.close()


async def test_an_erasure_forgets_the_runs_whose_ids_name_the_contact(
    tenant_store: TenantStore,
) -> None:
    # A reminder's run id holds the flow's key: `reminder:{{ contact.id }}` puts the number in
    # clear in `task_runs` (a data-protection review). Another contact's runs stay, also one
    # whose id only contains the erased one's (`346001112229` is not `34600111222`).
    mine = "once:reminder:34600111222@20240507T080000Z"
    longer = "once:reminder:346001112229@20240507T080000Z"
    other = "once:reminder:34600999888@20240507T080000Z"
    for index, (run, contact) in enumerate(
        [(mine, "34600111222"), (longer, "346001112229"), (other, "34600999888")]
    ):
        await tenant_store.commit_turn(
            sample_state(contact_id=contact),
            expected_version=0,
            message_id=None,
            outputs=REMINDER,
            at=SAMPLE_TIME + timedelta(seconds=index),
            task_run=run,
        )

    await tenant_store.contacts.erase("34600111222")

    assert not await tenant_store.task_ran(mine)
    assert await tenant_store.task_ran(longer)
    assert await tenant_store.task_ran(other)


def test_an_id_with_like_wildcards_matches_only_itself() -> None:
    from botfleet.adapters.stores._contact_in_ids import like_pattern, names_contact

    assert like_pattern("a_b%c") == "%a\\_b\\%c%"
    assert names_contact("once:r:a_b%c@x", "a_b%c")
    assert not names_contact("once:r:axb%c@x", "a_b%c")
    assert not names_contact("anything", "")
    # The run id's own parts name no contact: a web chat page may choose the id `once`.
    assert not names_contact("once:reminder:34600111222@20240507T080000Z", "once")
    assert not names_contact("once:reminder:34600111222@20240507T080000Z", "20240507T080000Z")
    assert names_contact("once:reminder:once@20240507T080000Z", "once")
