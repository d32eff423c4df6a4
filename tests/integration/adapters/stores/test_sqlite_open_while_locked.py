"""Opening a tenant store another process holds locked is `StoreUnavailable` (a later start
may succeed: stop the other process), not the `StoreError` of a damaged file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from botfleet.adapters.stores._sqlite_schema import prepare
from botfleet.domain.errors import StoreError, StoreUnavailable


def test_a_locked_file_is_unavailable_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE t (x)")
    opener = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            prepare(opener, path, busy_timeout=0.05)
    finally:
        opener.close()
        holder.execute("ROLLBACK")
        holder.close()
    assert str(caught.value).startswith(f"{path}: cannot open the tenant store: ")
    assert caught.value.cause == "database is locked"


def test_a_file_that_is_not_a_database_is_an_error_not_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"not a database at all, " * 100)
    opener = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(StoreError) as caught:
            prepare(opener, path, busy_timeout=0.05)
    finally:
        opener.close()
    assert not isinstance(caught.value, StoreUnavailable)
    assert "file is not a database" in str(caught.value)
