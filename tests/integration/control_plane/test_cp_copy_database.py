"""`botfleet db copy` (control_plane.db.copy): a SQLite control plane moved to another database
keeps its versions (and which one is published after a rollback), audit log, API keys, boot
tokens and sealed credentials, and the target's new rows do not collide with the copied ones;
a target it refuses (rows, another application's tables), or a copy that fails midway, leaves
the target exactly as it was; a source written to during the copy is copied as it was."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from cp_harness import ControlPlane, Database, make_settings, running_control_plane
from sqlalchemy import Table, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from botfleet.control_plane.db import copy as copy_module
from botfleet.control_plane.db.copy import CopyRefused, copy_database
from botfleet.control_plane.db.engine import make_engine
from botfleet.control_plane.db.migrate import (
    VERSION_TABLE,
    current_revisions,
    downgrade_migrations,
    known_revisions,
    run_migrations,
)

LLM_SECRET = {"api_key": "sk-copied-secret-123"}


async def _fill(cp: ControlPlane) -> dict[str, Any]:
    token = await cp.create_tenant("acme", llm={"enabled": True, "provider": "anthropic"})
    key = await cp.tenant_key("acme")
    put = await cp.client.put("/v1/tenants/acme/credentials/llm", json=LLM_SECRET, headers=cp.admin)
    assert put.status_code == 200, put.text
    for label in ("1", "2"):
        assert (await cp.upload_flow("acme", label, publish=True)).status_code == 201
    back = await cp.client.post("/v1/tenants/acme/flows/rollback", headers=cp.admin)
    assert back.status_code == 200, back.text
    return {"token": token, "key": key}


async def _seen(cp: ControlPlane, token: str, key: str) -> dict[str, Any]:
    flows = (await cp.client.get("/v1/tenants/acme/flows", headers=cp.auth(key))).json()
    boot = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    audit = (await cp.client.get("/v1/audit", headers=cp.admin)).json()
    keys = (await cp.client.get("/v1/tenants/acme/api-keys", headers=cp.admin)).json()
    return {
        "flows": flows,
        "boot_status": boot.status_code,
        "boot_flow": boot.json()["flow"]["version"],
        "llm_key": boot.json()["llm"].get("api_key"),
        "audit": [(e["id"], e["action"], e["target"]) for e in audit],
        "keys": [(k["id"], k["name"], k["expires_at"]) for k in keys],
    }


async def test_copy_keeps_everything_and_the_target_carries_on(
    database: Database, tmp_path: Path
) -> None:
    source = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    async with running_control_plane(make_settings(source)) as old:
        issued = await _fill(old)
        before = await _seen(old, **issued)
    assert before["boot_flow"] == 1  # the rollback's: a re-registration would publish 2

    copied = await copy_database(source.url, database.url, target_schema=database.schema)
    assert copied["tenants"] == 1
    assert copied["flow_versions"] == 2
    assert copied["audit_log"] == len(before["audit"])

    async with running_control_plane(make_settings(database)) as new:
        assert await _seen(new, **issued) == before
        assert before["llm_key"] == LLM_SECRET["api_key"]
        # Serial ids continue after the copied rows (PostgreSQL's sequences moved on).
        third = await new.upload_flow("acme", "3")
        assert third.status_code == 201, third.text
        assert third.json()["version"] == 3
        audit = (await new.client.get("/v1/audit?limit=1", headers=new.admin)).json()
        assert audit[0]["action"] == "flow.upload"
        assert audit[0]["id"] > max(entry[0] for entry in before["audit"])


async def test_copy_refuses_a_target_with_rows_and_a_missing_source(
    database: Database, tmp_path: Path
) -> None:
    source = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    async with running_control_plane(make_settings(source)) as old:
        await old.create_tenant("acme")
    async with running_control_plane(make_settings(database)) as new:
        await new.create_tenant("other")

    with pytest.raises(CopyRefused, match=r"already holds rows: .*tenants \(1\)"):
        await copy_database(source.url, database.url, target_schema=database.schema)

    missing = tmp_path / "typo.db"
    with pytest.raises(CopyRefused, match=f"the source, the SQLite database {missing} does not"):
        await copy_database(f"sqlite:///{missing}", database.url, target_schema=database.schema)
    assert not missing.exists()


async def _old_control_plane(tmp_path: Path) -> Database:
    source = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    async with running_control_plane(make_settings(source)) as old:
        await old.create_tenant("acme")
    return source


async def _snapshot(database: Database) -> dict[str, Any]:
    """The target's revision, and each table's columns and rows: what a refusal must keep."""

    def tables(connection: Connection) -> dict[str, Any]:
        inspector = inspect(connection)
        return {
            name: (
                [column["name"] for column in inspector.get_columns(name, database.schema)],
                connection.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one(),
            )
            for name in inspector.get_table_names(database.schema)
        }

    engine = make_engine(database.url, schema=database.schema)
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(tables)
    finally:
        await engine.dispose()
    return {
        "revision": await current_revisions(database.url, schema=database.schema),
        "tables": found,
    }


async def test_a_target_with_rows_at_an_older_revision_is_left_at_it(
    database: Database, tmp_path: Path
) -> None:
    source = await _old_control_plane(tmp_path)
    async with running_control_plane(make_settings(database)) as older:
        await older.create_tenant("other")
    below_head = known_revisions()[1].id
    await downgrade_migrations(database.url, schema=database.schema, revision=below_head)
    before = await _snapshot(database)
    assert before["revision"] == {below_head}

    with pytest.raises(CopyRefused, match=r"already holds rows: .*tenants \(1\)"):
        await copy_database(source.url, database.url, target_schema=database.schema)
    assert await _snapshot(database) == before  # not migrated: the older botfleet still starts


async def test_a_target_with_other_tables_is_refused_unless_allowed(
    database: Database, tmp_path: Path
) -> None:
    source = await _old_control_plane(tmp_path)
    others = [f"shop_{index}" for index in range(7)]
    engine = make_engine(database.url, schema=database.schema)
    try:
        async with engine.begin() as connection:
            for name in others:
                await connection.execute(text(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO shop_0 (id) VALUES (42)"))
    finally:
        await engine.dispose()
    before = await _snapshot(database)

    refused = r"tables that are not the control plane's \(shop_0, shop_1, .*shop_4 and 2 more\)"
    with pytest.raises(CopyRefused, match=refused):
        await copy_database(source.url, database.url, target_schema=database.schema)
    after = await _snapshot(database)
    assert after == before
    assert VERSION_TABLE not in after["tables"]

    copied = await copy_database(
        source.url, database.url, target_schema=database.schema, allow_other_tables=True
    )
    assert copied["tenants"] == 1
    tables = (await _snapshot(database))["tables"]
    assert tables["shop_0"] == before["tables"]["shop_0"]  # beside them, untouched
    assert tables["tenants"][1] == 1


async def test_an_empty_target_of_a_newer_botfleet_or_without_revision_is_refused(
    database: Database, tmp_path: Path
) -> None:
    source = await _old_control_plane(tmp_path)
    await run_migrations(database.url, schema=database.schema)
    engine = make_engine(database.url, schema=database.schema)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
        before = await _snapshot(database)
        with pytest.raises(CopyRefused, match="migrated by a newer botfleet"):
            await copy_database(source.url, database.url, target_schema=database.schema)
        assert await _snapshot(database) == before

        async with engine.begin() as connection:
            await connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))
        before = await _snapshot(database)
        with pytest.raises(CopyRefused, match="control-plane tables without their revision"):
            await copy_database(source.url, database.url, target_schema=database.schema)
        assert await _snapshot(database) == before
    finally:
        await engine.dispose()


async def test_a_copy_failing_midway_leaves_the_target_as_it_was_and_can_be_run_again(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = await _old_control_plane(tmp_path)
    before = await _snapshot(database)
    assert before == {"revision": frozenset(), "tables": {}}
    copy_table = copy_module._copy_table
    tables_copied: list[str] = []

    async def fails_after_the_first(reader: Any, writer: Any, table: Table) -> int:
        if tables_copied:
            raise OSError("connection lost")
        tables_copied.append(table.name)
        return await copy_table(reader, writer, table)

    monkeypatch.setattr(copy_module, "_copy_table", fails_after_the_first)
    with pytest.raises(OSError, match="connection lost"):
        await copy_database(source.url, database.url, target_schema=database.schema)
    assert tables_copied == ["audit_log"]
    # Neither the migration's tables and revision nor the first table's rows stayed.
    assert await _snapshot(database) == before

    monkeypatch.setattr(copy_module, "_copy_table", copy_table)
    copied = await copy_database(source.url, database.url, target_schema=database.schema)
    assert copied["tenants"] == 1
    assert copied["audit_log"] >= 1


async def test_a_row_the_target_rejects_takes_the_migration_back_too(
    database: Database, tmp_path: Path
) -> None:
    if database.kind != "postgres":
        pytest.skip("SQLite keeps a value longer than its column: PostgreSQL refuses it")
    source = await _old_control_plane(tmp_path)
    engine = make_engine(source.url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE tenants SET name = :long"), {"long": "x" * 300})
    finally:
        await engine.dispose()

    with pytest.raises(DBAPIError, match="too long"):
        await copy_database(source.url, database.url, target_schema=database.schema)
    assert await _snapshot(database) == {"revision": frozenset(), "tables": {}}


async def test_a_source_written_to_during_the_copy_is_copied_as_it_was_at_the_start(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database.kind == "sqlite":
        async with running_control_plane(make_settings(database)) as first:
            await first.create_tenant("acme")
        # WAL: the write below goes through while the copy reads (in the default journal mode
        # it would wait for the copy's read to end).
        with contextlib.closing(sqlite3.connect(database.url.split("///", 1)[1])) as raw:
            assert raw.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    target = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    copy_table = copy_module._copy_table

    async with running_control_plane(make_settings(database)) as old:
        if database.kind != "sqlite":
            await old.create_tenant("acme")

        async def writes_between_tables(reader: Any, writer: Any, table: Table) -> int:
            copied = await copy_table(reader, writer, table)
            if table.name == "audit_log":
                # A tenant created after the audit log was read: its row, boot token and audit
                # entry must all stay out, or the copy holds a tenant its audit log never made.
                await old.create_tenant("late")
            return copied

        monkeypatch.setattr(copy_module, "_copy_table", writes_between_tables)
        copied = await copy_database(database.url, target.url, source_schema=database.schema)
        tenants = (await old.client.get("/v1/tenants", headers=old.admin)).json()

    assert {tenant["id"] for tenant in tenants} == {"acme", "late"}  # it did write meanwhile
    assert copied["tenants"] == copied["boot_tokens"] == 1
    async with running_control_plane(make_settings(target)) as new:
        tenants = (await new.client.get("/v1/tenants", headers=new.admin)).json()
        audit = (await new.client.get("/v1/audit", headers=new.admin)).json()
    assert [tenant["id"] for tenant in tenants] == ["acme"]
    assert [entry["target"] for entry in audit if entry["action"] == "tenant.create"] == ["acme"]
