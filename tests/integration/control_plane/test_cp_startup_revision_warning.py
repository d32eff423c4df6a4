"""What a start says about its database: `control plane started` names it (backend, host and
name or the SQLite path, never the password), and a start that does not migrate
(CP_MIGRATE_ON_STARTUP=false) warns when the database is not at this botfleet's head, where
only /health told before (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cp_harness import Database, make_settings, running_control_plane

from botfleet.control_plane.db.engine import describe_database, make_engine
from botfleet.control_plane.db.migrate import (
    VERSION_TABLE,
    head_revisions,
    known_revisions,
    run_migrations,
)

HEAD = next(iter(head_revisions()))
BELOW_HEAD = known_revisions()[1].id
NOT_AT_HEAD = "database is not at this botfleet's head revision"
PASSWORD = "hunter2-startup-revision"


def _lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        json.loads(record.getMessage())
        for record in caplog.records
        if record.name.startswith("botfleet.control_plane")
    ]


def _the(event: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    [line] = [line for line in lines if line["event"] == event]
    return line


async def _start_without_migrating(
    database: Database, caplog: pytest.LogCaptureFixture
) -> list[dict[str, Any]]:
    caplog.set_level(logging.INFO)
    caplog.clear()
    async with running_control_plane(make_settings(database, migrate_on_startup=False)) as cp:
        health = await cp.client.get("/health")
    lines = _lines(caplog)
    events = [line["event"] for line in lines]
    assert "control plane started" in events
    if NOT_AT_HEAD in events:
        assert events.index(NOT_AT_HEAD) < events.index("control plane started")
        assert health.status_code == 503
    return lines


async def test_a_never_migrated_database_is_warned_about_at_start(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    warning = _the(NOT_AT_HEAD, await _start_without_migrating(database, caplog))
    assert warning["level"] == "warning"
    assert warning["database"] == describe_database(database.url)
    assert (warning["revision"], warning["head"]) == ("none (never migrated)", HEAD)
    assert "botfleet db upgrade" in warning["fix"]


async def test_a_database_behind_the_head_is_warned_about_at_start(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await run_migrations(database.url, schema=database.schema, revision=BELOW_HEAD)
    warning = _the(NOT_AT_HEAD, await _start_without_migrating(database, caplog))
    assert (warning["revision"], warning["head"]) == (BELOW_HEAD, HEAD)
    assert warning["fix"] == "run botfleet db upgrade (CP_MIGRATE_ON_STARTUP is false)"


async def test_a_database_a_newer_botfleet_migrated_is_warned_about_at_start(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await run_migrations(database.url, schema=database.schema)
    engine = make_engine(database.url, schema=database.schema)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    finally:
        await engine.dispose()
    warning = _the(NOT_AT_HEAD, await _start_without_migrating(database, caplog))
    assert (warning["revision"], warning["head"]) == ("9999", HEAD)
    assert "a newer botfleet migrated it" in warning["fix"]
    assert f"botfleet db downgrade {HEAD}" in warning["fix"]


async def test_a_database_at_the_head_starts_without_a_warning(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await run_migrations(database.url, schema=database.schema)
    lines = await _start_without_migrating(database, caplog)
    assert [line for line in lines if line["level"] == "warning"] == []
    started = _the("control plane started", lines)
    assert started["database"].startswith(describe_database(database.url))


async def test_an_unreachable_database_is_named_without_its_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"postgresql://botfleet:{PASSWORD}@127.0.0.1:1/botfleet"
    lines = await _start_without_migrating(Database("postgres", url), caplog)
    named = "the PostgreSQL database 'botfleet' at 127.0.0.1:1 as user 'botfleet'"
    assert _the("control plane started", lines)["database"] == named
    unread = _the("database revision not read at start", lines)
    assert (unread["level"], unread["database"], unread["head"]) == ("warning", named, HEAD)
    assert PASSWORD not in caplog.text


async def test_a_relative_sqlite_path_is_named_with_the_folder_it_is_in(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative to the folder the process starts in: `/` under systemd."""
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.INFO)
    settings = make_settings(Database("sqlite", "sqlite:///./var/cp.db"), database_schema=None)
    async with running_control_plane(settings):
        pass
    started = _the("control plane started", _lines(caplog))
    absolute = _resolved(tmp_path) / "var" / "cp.db"
    assert started["database"] == f"the SQLite database ./var/cp.db ({absolute})"
    assert absolute.is_file()


def _resolved(path: Path) -> Path:
    return path.resolve()
