"""Revision 0005 (more channels) on SQLite and PostgreSQL: the tenants stored before it have
none and take them once upgraded; the downgrade drops them and keeps the tenants and the rows
that refer to them (their keys keep working)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from cp_harness import Database, make_settings, running_control_plane
from sqlalchemy import inspect

from botfleet.control_plane.db.engine import make_engine
from botfleet.control_plane.db.migrate import downgrade_migrations, run_migrations

# The tenants table as revision 0004 left it (written out here: the ORM describes the head).
_TENANTS_0004 = sa.table(
    "tenants",
    *(sa.column(name, sa.String) for name in ("id", "name", "timezone", "language", "status")),
    *(sa.column(name, sa.JSON) for name in ("channel", "connectors", "llm")),
    *(sa.column(name, sa.DateTime(timezone=True)) for name in ("created_at", "updated_at")),
)
_CREATED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
TELEGRAM = {"type": "telegram", "bot_username": "acme_bot"}


async def _tenant_columns(db: Database) -> tuple[set[str], int]:
    engine = make_engine(db.url, schema=db.schema)
    try:
        async with engine.connect() as conn:
            columns = await conn.run_sync(lambda c: inspect(c).get_columns("tenants"))
            count = await conn.scalar(sa.text("SELECT count(*) FROM tenants"))
    finally:
        await engine.dispose()
    return {column["name"] for column in columns}, int(count or 0)


async def test_tenants_stored_before_0005_have_no_more_channels_and_take_them(
    database: Database,
) -> None:
    await run_migrations(database.url, schema=database.schema, revision="0004")
    engine = make_engine(database.url, schema=database.schema)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                _TENANTS_0004.insert().values(
                    id="acme", name="Acme", timezone="UTC", language="en", status="active",
                    channel={"type": "webchat"}, connectors={}, llm={},
                    created_at=_CREATED, updated_at=_CREATED,
                )
            )  # fmt: skip
    finally:
        await engine.dispose()

    await run_migrations(database.url, schema=database.schema)

    async with running_control_plane(make_settings(database)) as cp:
        before = (await cp.client.get("/v1/tenants/acme", headers=cp.admin)).json()
        assert before["more_channels"] == []
        patched = await cp.client.patch(
            "/v1/tenants/acme", json={"more_channels": [TELEGRAM]}, headers=cp.admin
        )
        assert patched.status_code == 200, patched.text
        after = (await cp.client.get("/v1/tenants/acme", headers=cp.admin)).json()
        assert after["more_channels"] == [TELEGRAM]
        # Rows of other tables referring to the tenant: its copy without the column (SQLite)
        # must not trip their foreign keys.
        key = await cp.tenant_key("acme")

    await downgrade_migrations(database.url, schema=database.schema, revision="0004")
    columns, count = await _tenant_columns(database)
    assert "more_channels" not in columns
    assert count == 1
    await run_migrations(database.url, schema=database.schema)
    async with running_control_plane(make_settings(database)) as cp:
        tenant = await cp.client.get("/v1/tenants/acme", headers=cp.auth(key))
        assert tenant.status_code == 200, tenant.text
        assert tenant.json()["more_channels"] == []
