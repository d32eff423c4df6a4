"""The control plane's database goes away in the middle of a request: that request and the
ones after it get a clear 503 (never a 500 or a traceback), and the control plane recovers by
itself once the database is back.

PostgreSQL: the control plane reaches the shared server through a TCP proxy in a schema of its
own; stopping the proxy is the database restarting (every connection cut, new ones refused).
The server itself is never touched. SQLite: another connection holds the file's exclusive lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cp_harness import (
    ADMIN_KEY,
    POSTGRES_URL,
    ControlPlane,
    Database,
    fresh_postgres_schema,
    make_settings,
    postgres_unreachable_reason,
    running_control_plane,
)
from sqlalchemy import event
from sqlalchemy.engine import make_url

from botfleet.testing.faults import TcpProxy, assert_no_secrets, capture_all_logs

UNAVAILABLE = "database is unavailable"


def assert_clear_503(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert UNAVAILABLE in response.json()["detail"]
    for internal in ("Traceback", "asyncpg", "sqlite3", "SELECT", "password"):
        assert internal not in response.text


async def tenant_count(cp: ControlPlane) -> int:
    response = await cp.client.get("/v1/tenants", headers=cp.admin)
    assert response.status_code == 200, response.text
    return len(response.json())


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture
async def proxied_postgres() -> AsyncIterator[tuple[Database, TcpProxy, str]]:
    reason = await postgres_unreachable_reason()
    if reason:
        pytest.skip(reason)
    url = make_url(POSTGRES_URL)
    proxy = TcpProxy(url.port or 5432, target_host=url.host or "127.0.0.1")
    await proxy.start()
    try:
        async with fresh_postgres_schema() as db:
            proxied = url.set(host="127.0.0.1", port=proxy.port)
            yield (
                Database("postgres", proxied.render_as_string(hide_password=False), db.schema),
                proxy,
                db.schema or "",
            )
    finally:
        await proxy.stop()


async def wait_until_blocked(direct: asyncpg.Connection, schema: str) -> None:
    """Until a session of the control plane waits on the lock the test holds (no event crosses
    into the database server, so this polls, with a deadline)."""
    deadline = time.monotonic() + 10
    while True:
        waiting = await direct.fetchval(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = $1::regclass",
            f'"{schema}".tenants',
        )
        if waiting:
            return
        assert time.monotonic() < deadline, f"no request blocked on {schema}.tenants"
        await asyncio.sleep(0.02)


@pytest.mark.external_service
async def test_postgres_restarting_mid_request_gives_503_then_recovers(
    proxied_postgres: tuple[Database, TcpProxy, str],
) -> None:
    database, proxy, schema = proxied_postgres
    settings = make_settings(database, log_level="DEBUG")
    with capture_all_logs() as logs:
        async with running_control_plane(settings) as cp:
            await cp.create_tenant("acme")
            dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
            direct = await asyncpg.connect(dsn)
            try:
                # A request is inside the database (waiting on a lock) when the database goes.
                lock = direct.transaction()
                await lock.start()
                await direct.execute(f'LOCK TABLE "{schema}".tenants IN ACCESS EXCLUSIVE MODE')
                pending = asyncio.ensure_future(cp.client.get("/v1/tenants/acme", headers=cp.admin))
                await wait_until_blocked(direct, schema)
                await proxy.stop()
                assert_clear_503(await pending)
                await lock.rollback()
            finally:
                await direct.close()

            # While it is down: every request, the health check included, is a quick 503.
            started = time.perf_counter()
            assert_clear_503(await cp.client.get("/v1/tenants", headers=cp.admin))
            create = await cp.client.post(
                "/v1/tenants", json={"id": "beta", "name": "Beta"}, headers=cp.admin
            )
            assert_clear_503(create)
            health = await cp.client.get("/health")
            assert health.status_code == 503
            assert health.json()["database"] == "unavailable"
            assert time.perf_counter() - started < 5

            # Back: the next requests work, with no restart of the control plane.
            await proxy.start()
            assert (await cp.client.get("/health")).status_code == 200
            assert await tenant_count(cp) == 1  # the refused creation left nothing behind
            await cp.create_tenant("beta")
            assert await tenant_count(cp) == 2
            metrics = (await cp.client.get("/metrics")).text
            assert "botfleet_cp_db_unavailable_total" in metrics
    assert "database unavailable" in logs.text()
    assert_no_secrets({"logs": logs.text()}, {"admin key": ADMIN_KEY})


# ---------------------------------------------------------------- SQLite

BUSY_TIMEOUT_MS = 300


def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.close()


@pytest.fixture
async def sqlite_cp(tmp_path: Path) -> AsyncIterator[tuple[ControlPlane, Path]]:
    path = tmp_path / "cp.db"
    async with running_control_plane(
        make_settings(Database("sqlite", f"sqlite+aiosqlite:///{path}"))
    ) as cp:
        # Wait 0.3 s for a lock instead of the production 15 s, so the test is quick.
        engine = cp.app.state.container.engine
        event.listen(engine.sync_engine, "connect", _short_busy_timeout)
        await engine.dispose()
        yield cp, path


async def test_a_locked_sqlite_file_gives_503_then_recovers(
    sqlite_cp: tuple[ControlPlane, Path],
) -> None:
    cp, path = sqlite_cp
    await cp.create_tenant("acme")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")  # a backup or a stuck process holds the file
        assert_clear_503(await cp.client.get("/v1/tenants", headers=cp.admin))
        create = await cp.client.post(
            "/v1/tenants", json={"id": "beta", "name": "Beta"}, headers=cp.admin
        )
        assert_clear_503(create)
        # (`/health` runs `SELECT 1`, which reads no page of the file: it stays 200 here.)
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert (await cp.client.get("/health")).status_code == 200
    assert await tenant_count(cp) == 1
    await cp.create_tenant("beta")
    assert await tenant_count(cp) == 2
