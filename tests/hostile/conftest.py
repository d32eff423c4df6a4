"""Fixtures of the hostile-input tests: a data plane running the hostile, all-Unicode flow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hostile_flow import HOSTILE_FLOW, INTERNAL_TOKEN, TENANT_NAME

from botfleet.testing.runtime import (
    ChatClient,
    make_settings,
    make_tenant_config,
    running_app,
)


@pytest.fixture
async def hostile_chat(tmp_path: Path) -> AsyncIterator[ChatClient]:
    config = make_tenant_config(HOSTILE_FLOW, tenant_id="hostile", name=TENANT_NAME)
    settings = make_settings(tmp_path / "state.db", internal_token=INTERNAL_TOKEN)
    async with running_app(config, settings=settings) as chat:
        yield chat
