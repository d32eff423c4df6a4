"""An operator's upgrade: the state files release fc73bc8 really wrote (state schema 3, its job
pickles), opened by this release. `tests/fixtures/state_schema3/README.md` says how they were
made. The other migration tests build old files from today's `MIGRATIONS`; these catch what
that cannot: a step edited after its release, a job pickle naming a function since renamed
(APScheduler would drop the reminder), a JSON column this release no longer reads."""

from __future__ import annotations

import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from starlette.testclient import TestClient

from botfleet.adapters.scheduling.dispatch import fire_job
from botfleet.adapters.scheduling.jobstore import IndexedJobStore, JobQuery, open_job_db
from botfleet.adapters.stores import SqliteTenantStore
from botfleet.adapters.stores._sqlite_schema import SCHEMA_VERSION
from botfleet.data_plane.app import create_app
from botfleet.data_plane.settings import DataPlaneSettings

FIXTURE = Path(__file__).parents[3] / "fixtures" / "state_schema3"
BOB_REMINDER = "REMINDER for bob-upgrade (count 1)"


def copy_state(tmp_path: Path) -> Path:
    """The fixture's files in a tenant folder of their own (opening them upgrades them)."""
    folder = tmp_path / "probe"
    folder.mkdir()
    for name in ("state.db", "state.jobs.db"):
        shutil.copyfile(FIXTURE / name, folder / name)
    return folder / "state.db"


def user_version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["output"].get("text", "") for m in messages]


async def test_the_old_release_state_opens_with_everything_it_held(tmp_path: Path) -> None:
    path = copy_state(tmp_path)
    assert user_version(path) == 3
    with structlog.testing.capture_logs() as logs:
        async with SqliteTenantStore.open(path) as store:
            alice = await store.states.load("alice")
            bob = await store.states.load("bob")
            pending = await store.journal.pending()
            again = await store.journal.record(pending[0].message, pending[0].received_at)
            outbox = await store.outbox.since(contact_id="alice")
    assert user_version(path) == SCHEMA_VERSION
    upgraded = [line for line in logs if line["event"] == "state_schema_upgraded"]
    assert [(u["from_version"], u["to_version"]) for u in upgraded] == [(3, SCHEMA_VERSION)]
    assert alice is not None and bob is not None
    assert (alice.node, alice.version, alice.data["count"]) == ("MENU", 3, 2)
    assert (bob.data["count"], bob.data["who"], bob.last_options_list) == (1, "bob-upgrade", False)
    assert alice.last_heard == alice.updated_at  # no last_inbound_at before schema 5
    assert [(e.message.message_id, e.message.text, e.status) for e in pending] == [
        ("a5-pending", "inc", "pending")
    ]
    assert again is False  # still known: a redelivery is a duplicate, not a second turn
    assert [m["seq"] for m in outbox] == [1, 2, 3, 4, 5]
    assert texts(outbox)[3] == "count is now 2"


def test_the_old_release_reminders_restore_with_their_data(tmp_path: Path) -> None:
    store = IndexedJobStore(open_job_db(copy_state(tmp_path).with_name("state.jobs.db")))
    scheduler = BackgroundScheduler(jobstores={"default": store})
    scheduler.start(paused=True)
    try:
        jobs = scheduler.get_jobs()
        assert [(j.id, j.func) for j in jobs] == [
            ("once:reminder:bob", fire_job),
            ("once:reminder:carol", fire_job),
        ]
        assert jobs[0].kwargs["data"] == {"who": "bob-upgrade", "count": 1}
        found = store.find(JobQuery(contact_id="carol"))
        assert [(j.task, j.key, j.data) for j in found] == [
            ("reminder", "reminder:carol", {"who": "carol-early", "count": ""})
        ]
    finally:
        scheduler.shutdown()


def test_a_data_plane_upgraded_on_these_files_goes_on_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    """The upgrade as docs/operations.md ("Upgrading") has it: the new release started on the
    old folder. A huge scheduler grace lets the reminders (due on 2026-12-06) fire now."""
    path = copy_state(tmp_path)
    settings = DataPlaneSettings(
        tenant_config_path=FIXTURE / "tenant.yaml",
        data_dir=tmp_path,
        state_db_path=path,
        scheduler_grace_s=10**9,
        config_poll_s=0,
    )
    with TestClient(create_app(settings)) as client:
        # Recovery at start ran the message the old release acknowledged but never processed.
        bob = _wait_for(client, "bob", BOB_REMINDER)
        carol = _wait_for(client, "carol", "REMINDER for carol-early (count )")
        alice = _messages(client, "alice")
        assert texts(alice)[5:] == ["count is now 3", "Menu. count=3"]

        answer = client.post(
            "/inbound", json={"contact_id": "alice", "text": "inc", "message_id": "a6"}
        ).json()
        assert [r.get("text") for r in answer["replies"]] == ["count is now 4", "Menu. count=4"]
        assert answer["seqs"] == [m["seq"] for m in _messages(client, "alice")[-2:]]

        # Answered by the old release: a duplicate, its first replies, no seqs known.
        replay = client.post(
            "/inbound", json={"contact_id": "alice", "text": "inc", "message_id": "a2"}
        ).json()
        assert replay["duplicate"] is True
        assert replay["seqs"] is None
        assert replay["replies"][0]["text"] == "count is now 1"
        before = {c: _messages(client, c) for c in ("alice", "bob", "carol")}

    with closing(open_job_db(path.with_name("state.jobs.db"))) as jobs:
        assert IndexedJobStore(jobs).count() == 0  # each reminder ran, and is gone
    # A second start of the new release: nothing pending, nothing sent again.
    with TestClient(create_app(settings)) as client:
        assert {c: _messages(client, c) for c in before} == before
    assert len(bob) == len(carol) == 1


def _messages(client: TestClient, contact: str) -> list[dict[str, Any]]:
    body = client.get("/messages", params={"contact_id": contact}).json()
    return list(body["messages"])


def _wait_for(client: TestClient, contact: str, text: str) -> list[dict[str, Any]]:
    """The contact's outputs reading `text`, once the scheduler has sent one (5 s at most)."""
    deadline = time.monotonic() + 5
    while True:
        found = [m for m in _messages(client, contact) if m["output"].get("text") == text]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
