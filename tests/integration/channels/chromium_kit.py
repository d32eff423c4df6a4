"""Where the chat page's browser tests find a Chromium, and their skip when there is none."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest


def find_chromium() -> str | None:
    """`BOTFLEET_CHROMIUM`, else the first Chromium or Chrome on the PATH."""
    named = os.environ.get("BOTFLEET_CHROMIUM")
    if named:
        return named
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    return None


CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium found (apt-get install chromium, or BOTFLEET_CHROMIUM)"
)


def launched_chromium() -> Iterator[Any]:
    """`CHROMIUM` started headless through Playwright, closed after. Playwright is imported
    here, not at the top: this module is loaded (by the conftest) for every channel test, and
    the browser tests skip at their own import of `playwright_kit` without it."""
    from playwright.sync_api import sync_playwright

    # Chromium's sandbox refuses to start as root (CI containers); elsewhere it stays on
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield launched
        launched.close()
