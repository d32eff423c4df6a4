"""An unreachable database gives clear 503 answers, never a 500 or a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from cp_harness import ADMIN_KEY, ControlPlane, Database, make_settings, running_control_plane

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
