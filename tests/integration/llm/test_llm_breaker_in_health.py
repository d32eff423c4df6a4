"""`GET /health` lists the LLM fallback's circuit breaker as `connectors.llm`, beside the flow's
connectors: an operator sees a provider that keeps failing at a glance (it was missing: the
LLM's calls go through a breaker of their own, not the connector registry's)."""

from __future__ import annotations

from llm_runtime_kit import tenant

from botfleet.domain.errors import ConnectorUnavailable
from botfleet.ports.connectors import Answer, LLMContext
from botfleet.testing.runtime import running_app

BREAKER = {"max_attempts": 1, "failure_threshold": 2, "reset_after_s": 300}


class DownProvider:
    async def answer(self, question: str, knowledge: str, context: LLMContext) -> Answer:
        raise ConnectorUnavailable("provider down")


async def health_connectors(app: object) -> dict[str, str]:
    response = await app.http.get("/health")  # type: ignore[attr-defined]
    assert response.status_code == 200
    connectors: dict[str, str] = response.json()["connectors"]
    return connectors


async def test_the_llm_breaker_shows_closed_then_open() -> None:
    config = tenant({"resilience": {**BREAKER, "backoff_initial_s": 0, "backoff_max_s": 0}})
    async with running_app(config, llm_connector=DownProvider()) as app:
        before = await health_connectors(app)
        # A new contact's first message shows the menu; then two questions it does not match,
        # each asked of the LLM, each failing.
        for text in ("hi", "Do you sell gift cards?", "Is there parking?"):
            body = {"contact_id": "c1", "text": text}
            assert (await app.http.post("/inbound", json=body)).status_code == 200
        after = await health_connectors(app)
    assert before["llm"] == "closed"
    assert after["llm"] == "open"
    assert before["calendar"] == "closed"  # the flow's connectors are still listed


async def test_a_tenant_without_the_llm_lists_no_llm_breaker() -> None:
    async with running_app(tenant({"enabled": False})) as app:
        assert "llm" not in await health_connectors(app)
