"""The browser tests' shared Chromium (see chromium_kit.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chromium_kit import launched_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for a test module's pages, each page in a context of its own."""
    yield from launched_chromium()
