"""Where the chat page's browser tests find a Chromium, and their skip when there is none."""

from __future__ import annotations

import os
import shutil

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
