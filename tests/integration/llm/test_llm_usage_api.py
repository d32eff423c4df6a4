"""`GET /usage`: monthly token counters over HTTP, the internal token, SQLite persistence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from llm_runtime_kit import SAFE, tenant

from botfleet.adapters.llm.errors import status_error
from botfleet.testing.llm import ScriptedLLM, in_scope, out_of_scope
from botfleet.testing.runtime import ChatClient, FrozenClock, make_settings, running_app

TOKEN = "internal-test-token"


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_usage_counts_tokens_and_outcomes_of_the_month(tmp_path: Path) -> None:
    llm = ScriptedLLM(
        [in_scope("At 10.", input_tokens=300, output_tokens=20, cached=1500), out_of_scope()]
    )
    settings = make_settings(tmp_path / "t.db", internal_token=TOKEN)
    async with running_app(
        tenant({"quota_monthly_tokens": 10_000}), settings=settings, llm_connector=llm
    ) as chat:
        await chat.say("c1", "hi")  # a new contact's first message shows the menu
        assert await chat.say("c1", "When do you open?")
        replies = await chat.say("c1", "Dogs?")
        assert replies[0]["text"] == SAFE
        response = await chat.http.get("/usage", params={"month": "2024-05"}, headers=bearer())
    assert response.status_code == 200
    body = response.json()
    assert body["month"] == "2024-05"
    assert body["timezone"] == "Europe/Madrid"
    assert (body["input_tokens"], body["output_tokens"], body["cached_tokens"]) == (400, 25, 1500)
    assert body["total_tokens"] == 425
    assert (body["quota_monthly_tokens"], body["remaining_tokens"]) == (10_000, 9_575)
    assert body["questions"] == {"answered": 1, "out_of_scope": 1, "errors": 0, "over_quota": 0}
    assert (body["llm_enabled"], body["provider"], body["requests"]) == (True, "mock_llm", 2)
    assert body["llm_unavailable"] is None


async def test_the_default_month_is_the_current_one_in_the_tenant_zone(tmp_path: Path) -> None:
    # 31 May 22:30 UTC is 1 June 00:30 in Madrid.
    clock = FrozenClock(datetime(2024, 5, 31, 22, 30, tzinfo=UTC))
    settings = make_settings(tmp_path / "t.db", internal_token=TOKEN)
    async with running_app(
        tenant(), settings=settings, clock=clock, llm_connector=ScriptedLLM([in_scope("ok")])
    ) as chat:
        await chat.say("c1", "hi")  # a new contact's first message shows the menu
        await chat.say("c1", "parking?")
        current = (await chat.http.get("/usage", headers=bearer())).json()
        months = (await chat.http.get("/usage/months", headers=bearer())).json()
    assert current["month"] == "2024-06"
    assert current["questions"]["answered"] == 1
    assert months == {"months": ["2024-06"]}


async def test_counters_persist_in_the_tenant_sqlite_file_across_restarts(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "t.db", internal_token=TOKEN)
    first = ScriptedLLM([in_scope("ok", input_tokens=70, output_tokens=30)])
    async with running_app(tenant(), settings=settings, llm_connector=first) as chat:
        await chat.say("c1", "hi")  # a new contact's first message shows the menu
        await chat.say("c1", "parking?")
    second = ScriptedLLM([in_scope("ok", input_tokens=1, output_tokens=1)])
    async with running_app(tenant(), settings=settings, llm_connector=second) as chat:
        await chat.say("c1", "hours?")
        body = (await chat.http.get("/usage", headers=bearer())).json()
    assert body["total_tokens"] == 102
    assert body["questions"]["answered"] == 2


async def test_the_quota_survives_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "t.db")
    config = tenant({"quota_monthly_tokens": 50})
    spend = ScriptedLLM([in_scope("ok", input_tokens=40, output_tokens=10)])
    async with running_app(config, settings=settings, llm_connector=spend) as chat:
        await chat.say("c1", "hi")  # a new contact's first message shows the menu
        await chat.say("c1", "parking?")
    never = ScriptedLLM()  # empty script: any call fails the test
    async with running_app(config, settings=settings, llm_connector=never) as chat:
        replies = await chat.say("c1", "hours?")
    assert replies[0]["text"] == SAFE
    assert never.calls == []


@pytest.fixture
async def guarded(tmp_path: Path) -> ChatClient:
    async with running_app(
        tenant(), settings=make_settings(tmp_path / "t.db", internal_token=TOKEN)
    ) as chat:
        yield chat


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}]
)
async def test_a_missing_token_is_401(guarded: ChatClient, headers: dict[str, str]) -> None:
    response = await guarded.http.get("/usage", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert TOKEN not in response.text


async def test_a_wrong_token_is_403_as_on_the_other_internal_routes(guarded: ChatClient) -> None:
    for path in ("/usage", "/usage/months", "/tasks"):
        response = await guarded.http.get(path, headers=bearer("wrong"))
        assert response.status_code == 403, path
        assert TOKEN not in response.text


async def test_a_bad_month_is_a_clear_422(guarded: ChatClient) -> None:
    response = await guarded.http.get("/usage", params={"month": "2024-13"}, headers=bearer())
    assert response.status_code == 422
    assert "expected YYYY-MM" in response.text


async def test_without_a_token_only_local_clients_are_answered(tmp_path: Path) -> None:
    async with running_app(tenant(), settings=make_settings(tmp_path / "t.db")) as chat:
        local = await chat.http.get("/usage")
        assert local.status_code == 200
        remote_transport = httpx.ASGITransport(app=chat.app, client=("10.1.2.3", 40000))
        async with httpx.AsyncClient(
            transport=remote_transport, base_url="http://botfleet.test"
        ) as remote:
            refused = await remote.get("/usage")
    assert refused.status_code == 403
    assert "DP_INTERNAL_TOKEN" in refused.text


async def test_usage_of_a_runtime_with_a_replaced_fallback_is_404(tmp_path: Path) -> None:
    from botfleet.testing.llm import RecordingLLMFallback

    async with running_app(
        tenant(), settings=make_settings(tmp_path / "t.db"), llm=RecordingLLMFallback()
    ) as chat:
        response = await chat.http.get("/usage")
    assert response.status_code == 404


def _open_connections(path: Path) -> int:
    """How many open file descriptors of this process point at `path` (a SQLite connection
    holds one on the database file)."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if fd.resolve() == path.resolve())


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
async def test_the_counters_share_the_tenant_file_connection(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "t.db", internal_token=TOKEN)
    async with running_app(
        tenant(), settings=settings, llm_connector=ScriptedLLM([in_scope("ok")])
    ) as chat:
        await chat.say("c1", "hi")
        await chat.say("c1", "parking?")
        usage = (await chat.http.get("/usage", headers=bearer())).json()
        assert usage["questions"]["answered"] == 1
        # The conversation store and the counters: one connection (and one checkpointer).
        assert _open_connections(tmp_path / "t.db") == 1


async def test_usage_says_why_an_llm_without_its_key_answers_only_the_safe_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    config = tenant({"provider": "anthropic", "base_url": "https://anthropic.llm.test"})
    settings = make_settings(tmp_path / "t.db", internal_token=TOKEN)
    async with running_app(config, settings=settings) as chat:
        response = await chat.http.get("/usage", headers=bearer())
    body = response.json()
    assert body["llm_enabled"] is True
    assert "ANTHROPIC_API_KEY" in body["llm_unavailable"]


async def test_the_last_provider_failure_is_said_with_its_hint_then_marked_past(
    tmp_path: Path,
) -> None:
    """`llm_last_error`: the cause behind `questions.errors` for a reader without the log (the
    control plane's status), the provider's words only where they cannot quote a question."""
    clock = FrozenClock(datetime(2026, 12, 7, 10, 2, tzinfo=UTC))
    missing = {"error": {"message": 'model "qwen2.5-7b" not found, try pulling it first'}}
    llm = ScriptedLLM([status_error("openai_compatible", 404, missing), in_scope("48 h.")])
    settings = make_settings(tmp_path / "t.db", internal_token=TOKEN)
    async with running_app(tenant(), settings=settings, clock=clock, llm_connector=llm) as chat:
        await chat.say("c1", "hi")  # a new contact's first message shows the menu
        before = (await chat.http.get("/usage", headers=bearer())).json()
        assert (await chat.say("c1", "Do you fix e-bikes?"))[0]["text"] == SAFE
        failed = (await chat.http.get("/usage", headers=bearer())).json()
        clock.advance(minutes=5)
        await chat.say("c1", "How long does a repair take?")
        later = (await chat.http.get("/usage", headers=bearer())).json()
    assert before["llm_last_error"] is None
    assert failed["questions"]["errors"] == 1
    assert failed["llm_last_error"] == {
        "outcome": "rejected",
        "at": "2026-12-07T10:02:00+00:00",
        "detail": 'openai_compatible: request refused (HTTP 404): model "qwen2.5-7b" not found, '
        "try pulling it first (check the model name, and that base_url is the API root up to "
        "/v1)",
        "resolved_at": None,
    }
    assert later["llm_last_error"] == {
        **failed["llm_last_error"],
        "resolved_at": "2026-12-07T10:07:00+00:00",
    }
