"""An unreachable database gives clear 503 answers, never a 500 or a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from cp_harness import ADMIN_KEY, ControlPlane, Database, make_settings, running_control_plane
from sqlalchemy import text

from botfleet.control_plane.db.migrate import downgrade_migrations, run_migrations
from botfleet.control_plane.errors import DatabaseUnavailable

CLOSED_PORT_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"


@pytest.fixture(params=["postgres-closed-port", "sqlite-unopenable"])
def dead_database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "postgres-closed-port":
        return Database("postgres", CLOSED_PORT_URL)
    folder = tmp_path / "a-directory.db"
    folder.mkdir()  # SQLite cannot open a directory as its database file
    return Database("sqlite", f"sqlite+aiosqlite:///{folder}")


async def test_requests_get_503_when_the_database_is_down(dead_database: Database) -> None:
    settings = make_settings(dead_database, migrate_on_startup=False)
    async with running_control_plane(settings) as cp:
        for method, path in (("GET", "/v1/tenants"), ("POST", "/v1/tenants/acme/disable")):
            response = await cp.client.request(method, path, headers=cp.auth(ADMIN_KEY))
            assert response.status_code == 503, response.text
            assert "database is unavailable" in response.json()["detail"]
        health = await cp.client.get("/health")
        assert health.status_code == 503
        assert health.json()["database"] == "unavailable"
        boot = await cp.client.get("/v1/boot/acme", headers=cp.auth("bfb_x"))
        assert boot.status_code == 503
        metrics = (await cp.client.get("/metrics")).text
        assert "botfleet_cp_db_unavailable_total 3.0" in metrics


async def test_startup_fails_clearly_when_migrations_cannot_reach_the_database() -> None:
    settings = make_settings(Database("postgres", CLOSED_PORT_URL), startup_db_attempts=2)
    with pytest.raises(DatabaseUnavailable, match="could not run migrations"):
        async with running_control_plane(settings):
            pass


async def test_health_is_ok_with_a_database(cp: ControlPlane) -> None:
    health = await cp.client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"


async def _health(cp: ControlPlane) -> tuple[int, str, str]:
    answer = await cp.client.get("/health")
    body = answer.json()
    return answer.status_code, body["database"], body.get("detail", "")


async def test_a_database_without_the_tables_is_not_migrated_not_unavailable(
    database: Database,
) -> None:
    settings = make_settings(database, migrate_on_startup=False)
    async with running_control_plane(settings) as cp:
        status, state, detail = await _health(cp)
        assert (status, state) == (503, "not migrated")
        assert "botfleet db upgrade" in detail
        key = cp.auth("bfk_0123456789ab_secret")
        for method, path, headers in (
            ("GET", "/v1/tenants", cp.admin),
            ("POST", "/v1/tenants/acme/disable", cp.admin),
            ("GET", "/v1/tenants/acme", key),
            ("GET", "/v1/boot/acme", cp.auth("bfb_x")),
        ):
            response = await cp.client.request(method, path, headers=headers)
            assert response.status_code == 503, (path, response.text)
            assert "database is not migrated" in response.json()["detail"], path
            assert "botfleet db upgrade" in response.json()["detail"]
        assert "botfleet_cp_db_unavailable_total 0.0" in (await cp.client.get("/metrics")).text

        await run_migrations(database.url, schema=database.schema)
        assert await _health(cp) == (200, "ok", "")
        await downgrade_migrations(database.url, schema=database.schema)  # an empty version table
        assert (await _health(cp))[:2] == (503, "not migrated")
        await run_migrations(database.url, schema=database.schema)
        async with cp.app.state.container.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version_cp SET version_num = '9999'"))
        status, state, detail = await _health(cp)
        assert (status, state) == (503, "unknown revision")
        assert "newer control plane" in detail
