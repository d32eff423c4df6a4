"""Revision 0004 (API key roles) on SQLite and PostgreSQL: keys stored before it become owners
and keep doing all they did; the downgrade revokes the keys made to do less (below 0004 every
key may do everything) and keeps the owners working."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from cp_harness import Database, make_settings, running_control_plane

from botfleet.control_plane.db.engine import make_engine
from botfleet.control_plane.db.migrate import downgrade_migrations, run_migrations
from botfleet.control_plane.tokens import IssuedKey, new_api_key

# The tables as revision 0003 left them (written out: the ORM describes the head revision).
_TENANTS = sa.table(
    "tenants",
    *(sa.column(name, sa.String) for name in ("id", "name", "timezone", "language", "status")),
    *(sa.column(name, sa.JSON) for name in ("channel", "connectors", "llm")),
    *(sa.column(name, sa.DateTime(timezone=True)) for name in ("created_at", "updated_at")),
)
_API_KEYS = sa.table(
    "api_keys",
    *(sa.column(name, sa.String) for name in ("id", "tenant_id", "name", "key_hash", "created_by")),
    *(sa.column(name, sa.DateTime(timezone=True)) for name in ("created_at", "revoked_at")),
)
_CREATED = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


async def _write_0003_keys(db: Database, keys: dict[str, IssuedKey]) -> None:
    engine = make_engine(db.url, schema=db.schema)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                _TENANTS.insert().values(
                    id="acme", name="Acme", timezone="UTC", language="en", status="active",
                    channel={"type": "http_dev"}, connectors={}, llm={},
                    created_at=_CREATED, updated_at=_CREATED,
                )
            )  # fmt: skip
            for name, issued in keys.items():
                await conn.execute(
                    _API_KEYS.insert().values(
                        id=issued.key_id, tenant_id="acme", name=name, key_hash=issued.digest,
                        created_by="admin", created_at=_CREATED,
                    )
                )  # fmt: skip
    finally:
        await engine.dispose()


async def _revoked(db: Database) -> dict[str, bool]:
    engine = make_engine(db.url, schema=db.schema)
    try:
        async with engine.connect() as conn:
            columns = await conn.run_sync(lambda c: sa.inspect(c).get_columns("api_keys"))
            rows = (await conn.execute(sa.select(_API_KEYS.c.name, _API_KEYS.c.revoked_at))).all()
    finally:
        await engine.dispose()
    assert "role" not in {column["name"] for column in columns}
    return {name: revoked_at is not None for name, revoked_at in rows}


async def test_keys_stored_before_roles_are_owners_and_the_downgrade_revokes_lesser_keys(
    database: Database,
) -> None:
    await run_migrations(database.url, schema=database.schema, revision="0003")
    keys = {"ci": new_api_key(), "deploy": new_api_key()}
    await _write_0003_keys(database, keys)

    await run_migrations(database.url, schema=database.schema)
    async with running_control_plane(make_settings(database)) as cp:
        ci = cp.auth(keys["ci"].secret)
        listed = (await cp.client.get("/v1/tenants/acme/api-keys", headers=ci)).json()
        assert {(k["name"], k["role"], k["created_by"]) for k in listed} == {
            ("ci", "owner", "admin"), ("deploy", "owner", "admin"),
        }  # fmt: skip
        # What only an owner may do still works for the keys stored before roles.
        rotated = await cp.client.post("/v1/tenants/acme/boot-token/rotate", headers=ci)
        assert rotated.status_code == 200, rotated.text
        for role in ("viewer", "editor"):
            made = await cp.client.post(
                "/v1/tenants/acme/api-keys", json={"name": role, "role": role}, headers=ci
            )
            assert made.status_code == 201, made.text

    await downgrade_migrations(database.url, schema=database.schema, revision="0003")
    assert await _revoked(database) == {
        "ci": False, "deploy": False, "viewer": True, "editor": True,
    }  # fmt: skip
