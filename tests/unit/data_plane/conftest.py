"""Fixtures of the data plane's unit tests."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog

from botfleet.observability import LibraryLogHandler, set_log_tenant


@pytest.fixture
def stdout() -> Iterator[io.StringIO]:
    """A stream for `configure_logging(stream=...)`; the logging set-up the test changed
    (root handler and level, structlog's configuration, the process's tenant) is put back."""
    root = logging.getLogger()
    level = root.level
    previous = structlog.get_config()
    stream = io.StringIO()
    try:
        yield stream
    finally:
        for handler in [h for h in root.handlers if isinstance(h, LibraryLogHandler)]:
            root.removeHandler(handler)
        root.setLevel(level)
        structlog.configure(**previous)
        set_log_tenant(None)
