"""A real data plane (in process) for tenant ``acme``, answering /health, /usage and /tasks,
and a control plane reaching it over ASGI: for the tests that check what the control plane
relays of a data plane's answers against what the data plane itself says."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cp_harness import ControlPlane, Database, FakeDns, make_settings

from botfleet.control_plane.app import create_app
from botfleet.flows.effects import ScheduleTask
from botfleet.testing.clock import FrozenClock
from botfleet.testing.llm import ScriptedLLM, in_scope
from botfleet.testing.runtime import ChatClient, make_tenant_config, running_app
from botfleet.testing.runtime import make_settings as data_plane_settings
from botfleet.testing.scheduling import ManualScheduler

TOKEN = "status-probe-internal-token-0123456789"
NOW = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)
INTERNAL = {"Authorization": f"Bearer {TOKEN}"}
FLOW: dict[str, Any] = {
    "id": "status_probe",
    "initial_state": "MENU",
    "states": {
        "MENU": {
            "llm_fallback": True,
            "on_enter": [{"action": "send_text", "text": "Hi! How can we help?"}],
            "fallback": "MENU",
        },
    },
    "tasks": {"reminder": [{"action": "send_text", "text": "See you tomorrow"}]},
}


@contextlib.asynccontextmanager
async def acme_with_a_data_plane(
    database: Database, tmp_path: Path
) -> AsyncIterator[tuple[ControlPlane, ChatClient]]:
    """acme's data plane with its LLM fallback (one question answered) and two jobs
    pending, and a control plane holding its URL and internal token."""
    config = make_tenant_config(
        FLOW,
        tenant_id="acme",
        knowledge="# FAQ\n- We open at 10.",
        llm={"enabled": True, "provider": "mock_llm", "quota_monthly_tokens": 10_000},
    )
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="acme")
    llm = ScriptedLLM([in_scope("At 10.", input_tokens=300, output_tokens=20, cached=40)])
    settings = data_plane_settings(tmp_path / "state.db", internal_token=TOKEN)
    async with running_app(
        config, settings=settings, clock=clock, scheduler=scheduler, llm_connector=llm
    ) as chat:
        await chat.say("34600111222", "hi")
        await chat.say("34600111222", "When do you open?")
        for key, hours in (("a", 1), ("b", 26)):
            job = ScheduleTask("reminder", NOW + timedelta(hours=hours), key, "34600111222", {})
            await scheduler.schedule(job)
        dns = FakeDns()
        app = create_app(
            make_settings(database),
            data_plane_transport=httpx.ASGITransport(app=chat.app),
            resolver=dns,
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://cp.test") as http:
                cp = ControlPlane(client=http, app=app, dns=dns)
                await cp.create_tenant("acme", data_plane_url="http://dp-acme:8002")
                stored = await http.put(
                    "/v1/tenants/acme/credentials/data_plane",
                    json={"internal_token": TOKEN},
                    headers=cp.admin,
                )
                assert stored.status_code == 200, stored.text
                yield cp, chat
