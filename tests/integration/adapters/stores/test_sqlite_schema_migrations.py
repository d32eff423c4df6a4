"""Schema versions of the tenant file: upgrades on open, refusal of files from the future."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import structlog

from botfleet.adapters.stores import SqliteTenantStore, _sqlite_schema
from botfleet.adapters.stores._sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from botfleet.adapters.stores._sqlite_tables import journal_values
from botfleet.domain.errors import StoreError
from botfleet.ports.stores import ReceivedMessage
from botfleet.testing.stores import sample_message, sample_state


def user_version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def write_old_file(path: Path, version: int) -> None:
    """A file as an older release left it: the first `version` migration steps applied."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for step in MIGRATIONS[:version]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
    finally:
        conn.close()


async def test_a_new_file_gets_the_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path):
        pass
    assert user_version(path) == SCHEMA_VERSION


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
async def test_an_older_file_is_upgraded_on_open(tmp_path: Path, version: int) -> None:
    path = tmp_path / "tenant.db"
    write_old_file(path, version)
    assert user_version(path) == version
    async with SqliteTenantStore.open(path) as store:
        assert (await store.states.save(sample_state(), expected_version=0)).version == 1
        assert await store.journal.record(sample_message(), sample_state().created_at)
        assert await store.outbox.append("contact-1", {"type": "text"}, sample_state().created_at)
    assert user_version(path) == SCHEMA_VERSION


async def test_an_upgrade_in_place_is_logged_with_both_versions(tmp_path: Path) -> None:
    """Older releases refuse the file from then on: the operator must see when that happened."""
    path = tmp_path / "tenant.db"
    write_old_file(path, 3)
    with structlog.testing.capture_logs() as logs:
        async with SqliteTenantStore.open(path):
            pass
        async with SqliteTenantStore.open(path):  # already current: nothing more to say
            pass
        async with SqliteTenantStore.open(tmp_path / "new.db"):  # a new file is no upgrade
            pass
    upgraded = [line for line in logs if line["event"] == "state_schema_upgraded"]
    assert upgraded == [
        {
            "event": "state_schema_upgraded",
            "log_level": "info",
            "path": str(path),
            "from_version": 3,
            "to_version": SCHEMA_VERSION,
        }
    ]


async def test_a_state_stored_by_schema_3_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "tenant.db"
    write_old_file(path, 3)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "INSERT INTO conversation VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "contact-1", "tenant-1", "booking", "MENU", 4, "{}", "[]", None,
                '[{"id": "a", "title": "A", "description": ""}]',
                "2024-01-01T09:00:00+00:00", "2024-01-01T09:05:00+00:00",
            ),
        )  # fmt: skip
    async with SqliteTenantStore.open(path) as store:
        loaded = await store.states.load("contact-1")
    assert loaded is not None
    assert (loaded.version, loaded.last_options_list, loaded.last_inbound_at) == (4, False, None)
    assert loaded.last_heard == loaded.updated_at  # the session timeout counts from it


async def test_messages_journaled_by_schema_5_answer_without_seqs(tmp_path: Path) -> None:
    """Schema 6 keeps the outbox seqs of a message's replies. An entry done before has none
    (None: not known), a pending one gets its turn's, and the outbox rows it wrote keep theirs."""
    path = tmp_path / "tenant.db"
    write_old_file(path, 5)
    done = '[{"type": "text", "text": "hi"}]'
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "INSERT INTO outbox (contact_id, at, output) VALUES ('contact-1', ?, ?)",
            ("2024-05-06T09:30:00+00:00", '{"type": "text", "text": "hi"}'),
        )
        for message_id, status, replies in (("old", "done", done), ("quiet", "done", "[]")):
            conn.execute(
                "INSERT INTO journal (message_id, contact_id, message, received_at, "
                "received_us, status, replies) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*journal_values(sample_message(message_id), sample_state().created_at),
                 status, replies),
            )  # fmt: skip
    async with SqliteTenantStore.open(path) as store:
        old, quiet = await store.journal.get("old"), await store.journal.get("quiet")
        assert old is not None and old.replies == ({"type": "text", "text": "hi"},)
        assert old.reply_seqs is None
        assert quiet is not None and quiet.reply_seqs == ()  # no replies to number
        assert await store.journal.record(sample_message("new"), sample_state().created_at)
        seqs: list[int] = []
        await store.commit_turn(
            sample_state(),
            expected_version=0,
            message_id="new",
            outputs=[{"type": "text", "text": "again"}],
            at=sample_state().created_at,
            seqs=seqs,
        )
        assert seqs == [2]  # after the row schema 5 wrote
        new = await store.journal.get("new")
        assert new is not None and new.reply_seqs == (2,)
    assert user_version(path) == SCHEMA_VERSION == 6


async def _answered_m1(path: Path) -> Path:
    """A state file whose journal holds message m1, answered "hi" (its reply_seqs stored)."""
    async with SqliteTenantStore.open(path) as store:
        await store.commit_turn(
            sample_state(),
            expected_version=0,
            message_id="m1",
            outputs=[{"type": "text", "text": "hi"}],
            at=sample_state().created_at,
            unrecorded=[ReceivedMessage(sample_message("m1"), sample_state().created_at)],
        )
    return path


@pytest.mark.parametrize("stored", ["[1, 2]", '["1"]', "[1", "{}", "[true]"])
async def test_reply_seqs_that_do_not_number_the_replies_are_not_known(
    tmp_path: Path, stored: str
) -> None:
    """A corrupted value costs the entry its seqs, not the entry (a retry is still answered)."""
    path = await _answered_m1(tmp_path / "tenant.db")
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE journal SET reply_seqs = ? WHERE message_id = 'm1'", (stored,))
    async with SqliteTenantStore.open(path) as store:
        entry = await store.journal.get("m1")
    assert entry is not None and entry.replies and entry.reply_seqs is None


@pytest.mark.parametrize(
    "stored",
    [b"[\xff\xfe]", ("[" * 100_000).encode()],
    ids=["not UTF-8", "nested past the parser's depth"],
)
async def test_an_unreadable_reply_seqs_value_costs_only_the_seqs(
    tmp_path: Path, stored: bytes
) -> None:
    """Read as text, a value that is not UTF-8 failed the whole read (the journal's `get`, a
    contact's export) with sqlite's own decoding error; one nested too deep, the entry."""
    path = await _answered_m1(tmp_path / "tenant.db")
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "UPDATE journal SET reply_seqs = CAST(? AS TEXT) WHERE message_id = 'm1'", (stored,)
        )
    async with SqliteTenantStore.open(path) as store:
        entry = await store.journal.get("m1")
        received = await store.contacts.received(sample_state().contact_id, limit=10)
    assert entry is not None and entry.replies and entry.reply_seqs is None
    assert [e.message.message_id for e in received] == ["m1"]
    assert received[0].reply_seqs is None


async def test_a_file_from_a_newer_release_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "tenant.db"
    write_old_file(path, SCHEMA_VERSION)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError) as caught:
        await SqliteTenantStore.open(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"schema version {SCHEMA_VERSION + 1} is newer than this botfleet supports" in message
    # Going back to an older release is the usual way to meet this: say both ways out, and that
    # the job file goes back with it (a reminder sent since would otherwise be lost or resent).
    assert "run that release" in message
    assert "restore state.db and state.jobs.db together from the backup" in message
    assert user_version(path) == SCHEMA_VERSION + 1


async def test_a_failed_upgrade_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path) as store:
        saved = await store.states.save(sample_state(), expected_version=0)
    broken = (*MIGRATIONS, ("CREATE TABLE extra (x TEXT)", "THIS IS NOT SQL"))
    monkeypatch.setattr(_sqlite_schema, "MIGRATIONS", broken)
    monkeypatch.setattr(_sqlite_schema, "SCHEMA_VERSION", len(broken))
    with pytest.raises(StoreError, match=r"tenant\.db: cannot open the tenant store: .*syntax"):
        await SqliteTenantStore.open(path)
    monkeypatch.undo()

    assert user_version(path) == SCHEMA_VERSION
    with closing(sqlite3.connect(path)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "extra" not in tables
    async with SqliteTenantStore.open(path) as store:
        assert await store.states.load("contact-1") == saved
