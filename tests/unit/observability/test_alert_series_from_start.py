"""Counters that the documented alerts watch with `increase()` exist at 0 from the start: a
series whose first sample is already 1 shows no increase, so the first LLM quota overrun or
refused Telegram token after each start would raise no alert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from botfleet.adapters.channels.telegram.errors import EVENTS as TELEGRAM_EVENTS
from botfleet.adapters.channels.telegram.send import TelegramMetrics
from botfleet.data_plane.llm_fallback import OUTCOMES, LLMMetrics

DOCS = Path(__file__).resolve().parents[3] / "docs"


def exposed(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


@pytest.mark.parametrize(
    "outcome",
    ["over_quota", "over_daily_quota", "over_contact_quota", "answered", "rejected", "crash"],
)
def test_llm_outcomes_are_series_at_zero_from_the_start(outcome: str) -> None:
    registry = CollectorRegistry()
    LLMMetrics(registry)
    assert f'botfleet_llm_questions_total{{outcome="{outcome}"}} 0.0' in exposed(registry)


@pytest.mark.parametrize(
    "event", ["telegram_token_invalid", "telegram_blocked_by_user", "telegram_unreachable"]
)
def test_telegram_error_events_are_series_at_zero_from_the_start(event: str) -> None:
    registry = CollectorRegistry()
    TelegramMetrics(registry)
    assert f'botfleet_telegram_errors_total{{event="{event}"}} 0.0' in exposed(registry)


def test_the_llm_outcomes_are_the_ones_the_docs_list() -> None:
    text = (DOCS / "llm.md").read_text(encoding="utf-8")
    table = text.split("| `outcome` | level |", 1)[1].split("\n\n", 1)[0]
    documented = {
        name
        for row in table.splitlines()[2:]
        for name in re.findall(r"`([a-z_]+)`", row.split("|")[1])
    }
    # `crash` is told in the paragraph under the table.
    assert documented | {"crash"} == set(OUTCOMES)


def test_the_telegram_events_are_the_ones_the_docs_list() -> None:
    text = (DOCS / "channels.md").read_text(encoding="utf-8")
    listed = text.split("Events: `telegram_blocked_by_user`", 1)[1].split("**Blocked", 1)[0]
    documented = {"telegram_blocked_by_user", *re.findall(r"`(telegram_[a-z_]+)`", listed)}
    assert documented == set(TELEGRAM_EVENTS)
