"""End-to-end fixtures: the real data plane app over HTTP (httpx.ASGITransport), SQLite files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from botfleet.domain.tenant_config import TenantConfig, load_tenant_config
from botfleet.testing.runtime import ChatClient, running_app

REPO = Path(__file__).resolve().parents[2]
DEMO_TENANT = REPO / "examples" / "tenants" / "demo.yaml"


def without_llm(config: TenantConfig) -> TenantConfig:
    """The tenant with its LLM fallback off: free text then follows the flow's `fallback`."""
    return config.model_copy(update={"llm": config.llm.model_copy(update={"enabled": False})})


@pytest.fixture
def demo_config() -> TenantConfig:
    """The demo tenant as shipped, minus the LLM (its answers are another suite's subject)."""
    return without_llm(load_tenant_config(DEMO_TENANT))


@pytest.fixture
async def chat(demo_config: TenantConfig, tmp_path: Path) -> AsyncIterator[ChatClient]:
    """The demo tenant (hairdresser flow, in-memory calendar), state in a SQLite file, the clock
    frozen on Monday 6 May 2024 at 09:00 in Madrid."""
    async with running_app(demo_config, state_db=tmp_path / "state.db") as client:
        yield client
