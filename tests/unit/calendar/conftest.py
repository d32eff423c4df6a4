"""Fixtures of the calendar tests: a local CalDAV server (Radicale in process, see
`calendar_fakes.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from calendar_fakes import CalDavServer


@pytest.fixture
def caldav_server(tmp_path: Path) -> Iterator[CalDavServer]:
    server = CalDavServer(tmp_path)
    try:
        yield server
    finally:
        server.close()
