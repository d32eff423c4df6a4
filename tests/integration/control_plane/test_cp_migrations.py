"""Migrations go up and down on SQLite and PostgreSQL, and match the ORM tables exactly; an
upgrade keeps the rows written under the previous revisions working."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cp_harness import FERNET_KEY, Database, make_settings, running_control_plane
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from botfleet.control_plane.crypto import SecretBox
from botfleet.control_plane.db.engine import make_engine
from botfleet.control_plane.db.migrate import downgrade_migrations, run_migrations
from botfleet.control_plane.db.tables import Base
from botfleet.control_plane.tokens import IssuedKey, new_api_key

VERSION_TABLE = "alembic_version_cp"
HEAD = "0005"
TABLES = {
    "tenants", "api_keys", "boot_tokens", "flow_versions", "knowledge_versions", "credentials",
    "audit_log",
}  # fmt: skip


def _schema_state(connection: Connection) -> dict[str, Any]:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return {
        "tables": set(inspect(connection).get_table_names()),
        "revision": context.get_current_revision(),
        "diff": compare_metadata(context, Base.metadata),
    }


async def _state(db: Database) -> dict[str, Any]:
    engine = make_engine(db.url, schema=db.schema)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_schema_state)
    finally:
        await engine.dispose()


async def test_migrations_upgrade_downgrade_and_match_the_models(database: Database) -> None:
    await run_migrations(database.url, schema=database.schema)
    state = await _state(database)
    assert state["tables"] == TABLES | {VERSION_TABLE}
    assert state["revision"] == HEAD
    assert state["diff"] == [], "the ORM tables and the migrations disagree"

    await downgrade_migrations(database.url, schema=database.schema)
    state = await _state(database)
    assert state["tables"] == {VERSION_TABLE}
    assert state["revision"] is None

    await run_migrations(database.url, schema=database.schema)
    await run_migrations(database.url, schema=database.schema)  # idempotent
    assert (await _state(database))["revision"] == HEAD


# Tables as revision 0001 left them (written out here: the ORM describes the head revision).
_TENANTS_0001 = sa.table(
    "tenants",
    *(sa.column(name, sa.String) for name in ("id", "name", "timezone", "language", "status")),
    *(sa.column(name, sa.JSON) for name in ("channel", "connectors", "llm")),
    *(sa.column(name, sa.DateTime(timezone=True)) for name in ("created_at", "updated_at")),
)
_API_KEYS_0001 = sa.table(
    "api_keys",
    *(sa.column(name, sa.String) for name in ("id", "tenant_id", "name", "key_hash", "created_by")),
    *(sa.column(name, sa.DateTime(timezone=True)) for name in ("created_at", "revoked_at")),
)
_CREATED = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


async def _write_0001_rows(db: Database, keys: dict[str, IssuedKey], revoked: set[str]) -> None:
    engine = make_engine(db.url, schema=db.schema)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                _TENANTS_0001.insert().values(
                    id="acme", name="Acme", timezone="UTC", language="en", status="active",
                    channel={"type": "http_dev"}, connectors={}, llm={},
                    created_at=_CREATED, updated_at=_CREATED,
                )
            )  # fmt: skip
            for name, issued in keys.items():
                await conn.execute(
                    _API_KEYS_0001.insert().values(
                        id=issued.key_id, tenant_id="acme", name=name, key_hash=issued.digest,
                        created_by="admin", created_at=_CREATED,
                        revoked_at=_CREATED if name in revoked else None,
                    )
                )  # fmt: skip
    finally:
        await engine.dispose()


async def _api_key_columns(db: Database) -> set[str]:
    engine = make_engine(db.url, schema=db.schema)
    try:
        async with engine.connect() as conn:
            columns = await conn.run_sync(lambda c: inspect(c).get_columns("api_keys"))
            count = await conn.scalar(sa.text("SELECT count(*) FROM api_keys"))
    finally:
        await engine.dispose()
    assert count == 2, "the keys' rows survived"
    return {column["name"] for column in columns}


async def test_upgrade_from_0001_keeps_existing_keys_working_without_expiry(
    database: Database,
) -> None:
    """Keys created before expiry existed: after the upgrade they work as before (no expiry),
    a revoked one stays revoked; the downgrade drops the columns and keeps the rows."""
    await run_migrations(database.url, schema=database.schema, revision="0001")
    keys = {"ci": new_api_key(), "old": new_api_key()}
    await _write_0001_rows(database, keys, revoked={"old"})

    await run_migrations(database.url, schema=database.schema)
    assert (await _state(database))["revision"] == HEAD
    assert {"expires_at", "last_used_at"} <= await _api_key_columns(database)
    async with running_control_plane(make_settings(database)) as cp:
        ci, old = keys["ci"].secret, keys["old"].secret
        used = await cp.client.get("/v1/tenants/acme", headers=cp.auth(ci))
        assert used.status_code == 200, used.text
        refused = await cp.client.get("/v1/tenants/acme", headers=cp.auth(old))
        assert (refused.status_code, refused.json()["detail"]) == (401, "invalid API key")
        listed = (await cp.client.get("/v1/tenants/acme/api-keys", headers=cp.admin)).json()
    by_name = {row["name"]: row for row in listed}
    assert by_name["ci"]["expires_at"] is None and by_name["old"]["expires_at"] is None
    assert by_name["ci"]["last_used_at"] is not None, "its use after the upgrade is recorded"
    assert by_name["old"]["last_used_at"] is None
    assert datetime.fromisoformat(by_name["ci"]["created_at"]) == _CREATED

    await downgrade_migrations(database.url, schema=database.schema, revision="0001")
    assert (await _state(database))["revision"] == "0001"
    assert not {"expires_at", "last_used_at"} & await _api_key_columns(database)


_CREDENTIALS_0002 = sa.table(
    "credentials",
    *(sa.column(name, sa.String) for name in ("tenant_id", "scope", "ciphertext")),
    sa.column("key_names", sa.JSON),
    *(sa.column(name, sa.DateTime(timezone=True)) for name in ("created_at", "updated_at")),
)
_LLM_BASE = "https://llm.operator-example.com/v1"


async def _write_0002_tenant_with_credentials(db: Database, key: IssuedKey) -> None:
    """A tenant whose LLM key was stored before 0003 (by whom, nothing says)."""
    sealed = SecretBox([FERNET_KEY]).seal({"api_key": "sk-stored-before-0003"})
    engine = make_engine(db.url, schema=db.schema)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                _TENANTS_0001.insert().values(
                    id="acme", name="Acme", timezone="UTC", language="en", status="active",
                    channel={"type": "http_dev"}, connectors={},
                    llm={"enabled": True, "provider": "openai_compatible", "base_url": _LLM_BASE},
                    created_at=_CREATED, updated_at=_CREATED,
                )
            )  # fmt: skip
            await conn.execute(
                _API_KEYS_0001.insert().values(
                    id=key.key_id, tenant_id="acme", name="ci", key_hash=key.digest,
                    created_by="admin", created_at=_CREATED,
                )
            )  # fmt: skip
            await conn.execute(
                _CREDENTIALS_0002.insert().values(
                    tenant_id="acme", scope="llm", ciphertext=sealed, key_names=["api_key"],
                    created_at=_CREATED, updated_at=_CREATED,
                )
            )  # fmt: skip
    finally:
        await engine.dispose()


async def test_credentials_stored_before_0003_count_as_the_operators(database: Database) -> None:
    """Who stored a credential was not recorded before 0003: such rows say ``unknown`` and a
    tenant key may not move the host they are sent to, as for the operator's; storing its own
    over them makes them the tenant's. The downgrade drops the column and keeps the rows."""
    await run_migrations(database.url, schema=database.schema, revision="0002")
    issued = new_api_key()
    await _write_0002_tenant_with_credentials(database, issued)

    await run_migrations(database.url, schema=database.schema)
    moved = {"llm": {"enabled": True, "provider": "openai_compatible",
                     "base_url": "https://tenant-host.example.net/v1"}}  # fmt: skip
    async with running_control_plane(make_settings(database)) as cp:
        key = cp.auth(issued.secret)
        listed = (await cp.client.get("/v1/tenants/acme/credentials", headers=key)).json()
        assert [(c["scope"], c["stored_by"]) for c in listed] == [("llm", "unknown")]
        refused = await cp.client.patch("/v1/tenants/acme", json=moved, headers=key)
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"].startswith(
            "llm.base_url: credentials 'llm' were stored before the control plane recorded who "
            "stores credentials, so they count as an operator's"
        )
        put = await cp.client.put(
            "/v1/tenants/acme/credentials/llm", json={"api_key": "sk-tenant-own"}, headers=key
        )
        assert (put.status_code, put.json()["stored_by"]) == (200, "tenant"), put.text
        assert (await cp.client.patch("/v1/tenants/acme", json=moved, headers=key)).is_success

    await downgrade_migrations(database.url, schema=database.schema, revision="0002")
    engine = make_engine(database.url, schema=database.schema)
    try:
        async with engine.connect() as conn:
            columns = await conn.run_sync(lambda c: inspect(c).get_columns("credentials"))
            count = await conn.scalar(sa.text("SELECT count(*) FROM credentials"))
    finally:
        await engine.dispose()
    assert "stored_by" not in {column["name"] for column in columns}
    assert count == 1
