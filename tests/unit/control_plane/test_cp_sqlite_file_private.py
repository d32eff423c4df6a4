"""The control plane's SQLite file is owner-only: created 0600 whatever the umask, and one
restored with wider modes (a copy made 0644) tightened at start, with a warning naming it."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from botfleet.control_plane.db.engine import make_engine

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _touch(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
    finally:
        await engine.dispose()


async def test_a_new_database_file_is_owner_only_under_umask_022(tmp_path: Path) -> None:
    database = tmp_path / "var" / "cp.db"
    old = os.umask(0o022)
    try:
        await _touch(f"sqlite+aiosqlite:///{database}")
    finally:
        os.umask(old)
    assert _mode(database) == 0o600


async def test_a_restored_file_readable_by_others_is_tightened_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "cp.db"
    await _touch(f"sqlite+aiosqlite:///{database}")
    database.chmod(0o644)
    caplog.set_level(logging.WARNING)
    await _touch(f"sqlite+aiosqlite:///{database}")
    assert _mode(database) == 0o600
    lines = [record.getMessage() for record in caplog.records]
    told = [line for line in lines if "database_file_made_private" in line]
    assert len(told) == 1
    assert str(database) in told[0] and "0644" in told[0]


async def test_a_linked_file_readable_by_others_is_left_but_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    real = tmp_path / "real" / "cp.db"
    real.parent.mkdir()
    await _touch(f"sqlite+aiosqlite:///{real}")
    real.chmod(0o644)
    link = tmp_path / "cp.db"
    link.symlink_to(real)
    caplog.set_level(logging.WARNING)
    await _touch(f"sqlite+aiosqlite:///{link}")
    assert _mode(real) == 0o644  # a link is never followed to change a file
    lines = [record.getMessage() for record in caplog.records]
    told = [line for line in lines if "database_file_not_private" in line]
    assert len(told) == 1 and "0644" in told[0] and "chmod 600" in told[0]
