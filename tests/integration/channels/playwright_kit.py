"""Playwright for the chat's browser tests. A test module importing this is skipped, saying so,
when Playwright (a dev dependency) is not installed."""

from __future__ import annotations

from typing import Any

import pytest

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright is not installed (a dev dependency: make install)",
)
expect = sync_api.expect


def new_page(
    browser: Any, width: int = 800, height: int = 600, timeout: int = 5000, **options: Any
) -> Any:
    """A page in a context of its own (its own storage), `width` x `height` CSS px; the caller
    closes `page.context`. `options` go to `new_context` (`is_mobile`, `device_scale_factor`)."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    page.set_default_timeout(timeout)
    return page


def say(page: Any, text: str) -> None:
    """`text` typed into the chat page's message box and sent with Enter."""
    page.fill("#text", text)
    page.press("#text", "Enter")
