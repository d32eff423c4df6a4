"""Fixtures of the control-plane tests: `database` (sqlite, postgres) and a running `cp`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cp_harness import (
    ControlPlane,
    Database,
    fresh_postgres_schema,
    make_settings,
    postgres_unreachable_reason,
    running_control_plane,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.external_service)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'cp.db'}")
        return
    reason = await postgres_unreachable_reason()
    if reason:
        pytest.skip(reason)
    async with fresh_postgres_schema() as db:
        yield db


@pytest.fixture
async def cp(database: Database) -> AsyncIterator[ControlPlane]:
    async with running_control_plane(make_settings(database)) as plane:
        yield plane
