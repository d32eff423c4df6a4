"""Fixtures of the boot-config tests: the real control plane in-process (SQLite) and a data
plane pulling from it through httpx's ASGI transport."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# The control plane's test harness (in-process app, admin helpers) is shared, not copied.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "control_plane"))

from cp_harness import ControlPlane, Database, make_settings, running_control_plane


@pytest.fixture
async def cp(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    database = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'cp.db'}")
    async with running_control_plane(make_settings(database)) as plane:
        yield plane
