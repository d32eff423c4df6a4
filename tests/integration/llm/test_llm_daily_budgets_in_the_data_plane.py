"""The daily budgets through the data plane (SQLite file, HTTP): one contact's N+1th question of
the day gets the safe text while others still get answers, across a restart, until midnight in
the tenant's zone; the day's tokens; `GET /usage`'s `today`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llm_runtime_kit import SAFE, tenant
from structlog.testing import capture_logs

from botfleet.contact_hash import hash_contact
from botfleet.data_plane.llm_fallback import KnowledgeLLMFallback
from botfleet.testing.llm import ScriptedLLM, in_scope
from botfleet.testing.runtime import ChatClient, FrozenClock, make_settings, running_app

TOKEN = "internal-test-token"
#: 12:00 in Madrid (UTC+2 in summer), the tenant's zone.
NOON = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def answers(n: int, tokens: int = 50) -> ScriptedLLM:
    return ScriptedLLM(
        [in_scope(f"Answer {i}.", input_tokens=tokens, output_tokens=0) for i in range(n)]
    )


def metric(chat: ChatClient, outcome: str) -> float:
    llm = chat.runtime.llm
    assert isinstance(llm, KnowledgeLLMFallback)
    value: float = llm.metrics.questions.labels(outcome)._value.get()
    return value


async def today(chat: ChatClient) -> dict[str, Any]:
    response = await chat.http.get("/usage", headers=bearer())
    assert response.status_code == 200
    body: dict[str, Any] = response.json()["today"]
    return body


async def test_a_contact_over_its_questions_of_the_day_gets_the_safe_text(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "t.db", internal_token=TOKEN)
    config = tenant({"quota_daily_questions_per_contact": 2})
    clock = FrozenClock(NOON)
    llm = answers(3)
    async with running_app(config, settings=settings, clock=clock, llm_connector=llm) as chat:
        for contact in ("c1", "c2"):
            await chat.say(contact, "hi")  # a new contact's first message shows the menu
        assert (await chat.say("c1", "parking?"))[0]["text"] == "Answer 0."
        assert (await chat.say("c1", "prices?"))[0]["text"] == "Answer 1."
        with capture_logs() as logs:
            refused = await chat.say("c1", "hours?")
        assert refused[0]["text"] == SAFE
        assert llm.questions == ["parking?", "prices?"]  # the third never left
        # Another contact is not held back.
        assert (await chat.say("c2", "hours?"))[0]["text"] == "Answer 2."
        line = next(e for e in logs if e["event"] == "llm_question")
        assert line["outcome"] == "over_contact_quota"
        assert line["log_level"] == "info"
        assert (line["day"], line["questions"], line["quota_questions"]) == ("2024-05-14", 2, 2)
        assert line["contact"] == hash_contact(config.tenant_id, "c1")
        assert metric(chat, "over_contact_quota") == 1
        day = await today(chat)
        assert day["day"] == "2024-05-14"
        assert day["quota_daily_questions_per_contact"] == 2
        assert day["requests"] == 3
        assert day["questions"]["answered"] == 3
        assert day["questions"]["over_contact_quota"] == 1
        # The month's counters have no column for the daily refusals.
        assert (await chat.http.get("/usage", headers=bearer())).json()["requests"] == 3

    # After a restart on the same file the count is still there.
    again = answers(2)
    async with running_app(config, settings=settings, clock=clock, llm_connector=again) as chat:
        assert (await chat.say("c1", "dogs?"))[0]["text"] == SAFE
        assert (await chat.say("c2", "dogs?"))[0]["text"] == "Answer 0."
        assert again.questions == ["dogs?"]
        # Midnight in Madrid (22:00 UTC in May): a new day, a new count.
        clock.set(datetime(2024, 5, 14, 22, 0, tzinfo=UTC))
        assert (await chat.say("c1", "dogs?"))[0]["text"] == "Answer 1."
        day = await today(chat)
    assert day["day"] == "2024-05-15"
    assert (day["requests"], day["questions"]["over_contact_quota"]) == (1, 0)


async def test_the_day_s_tokens_hold_back_every_contact_until_midnight(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "t.db", internal_token=TOKEN)
    config = tenant({"quota_daily_tokens": 100, "quota_monthly_tokens": 10_000})
    clock = FrozenClock(NOON)
    llm = answers(3, tokens=60)
    async with running_app(config, settings=settings, clock=clock, llm_connector=llm) as chat:
        for contact in ("c1", "c2"):
            await chat.say(contact, "hi")
        assert (await chat.say("c1", "parking?"))[0]["text"] == "Answer 0."
        # 60 < 100: sent, and counted in full (soft), 120 then.
        assert (await chat.say("c1", "prices?"))[0]["text"] == "Answer 1."
        with capture_logs() as logs:
            assert (await chat.say("c2", "hours?"))[0]["text"] == SAFE
        line = next(e for e in logs if e["event"] == "llm_question")
        assert (line["outcome"], line["log_level"]) == ("over_daily_quota", "warning")
        assert (line["used_tokens"], line["quota_tokens"]) == (120, 100)
        assert metric(chat, "over_daily_quota") == 1
        day = await today(chat)
        assert (day["total_tokens"], day["quota_daily_tokens"], day["remaining_tokens"]) == (
            120,
            100,
            0,
        )
        assert day["questions"]["over_daily_quota"] == 1
        month = (await chat.http.get("/usage", headers=bearer())).json()
        assert month["remaining_tokens"] == 10_000 - 120
        clock.set(datetime(2024, 5, 14, 22, 0, tzinfo=UTC))  # 00:00 in Madrid
        assert (await chat.say("c2", "hours?"))[0]["text"] == "Answer 2."
        assert llm.questions == ["parking?", "prices?", "hours?"]
