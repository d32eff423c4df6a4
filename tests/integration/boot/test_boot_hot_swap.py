"""Publishing in the control plane changes a running data plane's next message, no restart."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

from boot_harness import cp_transport, dp_settings, running_data_plane, texts, watcher_of
from cp_harness import ControlPlane
from structlog.testing import capture_logs

from botfleet.data_plane.config_source import CACHE_FILE, pull_boot_config


async def _publish_knowledge(cp: ControlPlane, text: str) -> None:
    response = await cp.client.post(
        "/v1/tenants/acme/knowledge?publish=true",
        content=text,
        headers={**cp.admin, "Content-Type": "text/markdown"},
    )
    assert response.status_code == 201, response.text


POLLS_OK = {"polls": "ok", "http_status": None, "since": None}


async def test_a_published_flow_is_used_by_the_next_message(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    async with running_data_plane(settings, booted) as chat:
        watcher = watcher_of(chat)
        assert texts(await chat.say("ana", "hi")) == ["Hello from version one"]
        assert (await watcher.poll_now()).outcome == "unchanged"
        await cp.upload_flow("acme", "two", publish=True)
        with capture_logs() as logs:
            result = await watcher.poll_now()
        assert (result.outcome, result.flow_swapped, result.restart_required) == (
            "applied", True, ()
        )  # fmt: skip
        [swapped] = [e for e in logs if e["event"] == "flow_swapped"]
        assert (swapped["from_version"], swapped["to_version"]) == ("v1", "v2")
        assert texts(await chat.say("ana", "hi")) == ["Hello from version two"]
        assert (await chat.http.get("/health")).json()["flow_version"] == "v2"
        # A rollback is a publish too.
        rolled = await cp.client.post("/v1/tenants/acme/flows/rollback", headers=cp.admin)
        assert rolled.status_code == 200
        assert (await watcher.poll_now()).flow_swapped
        assert texts(await chat.say("bob", "hi")) == ["Hello from version one"]
    # The cached copy follows, so a restart starts with what was published last.
    cached = json.loads((tmp_path / "dp" / "acme" / CACHE_FILE).read_text())
    assert cached["payload"]["flow"]["version"] == 1


async def test_the_poller_picks_up_a_publish_on_its_own(cp: ControlPlane, tmp_path: Path) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    settings = dp_settings(tmp_path, token, config_poll_s=0.05)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    async with running_data_plane(settings, booted) as chat:
        assert texts(await chat.say("ana", "hi")) == ["Hello from version one"]
        await cp.upload_flow("acme", "two", publish=True)
        for _ in range(200):
            if chat.runtime.live.flow_version == "v2":
                break
            await asyncio.sleep(0.025)
        assert chat.runtime.live.flow_version == "v2"
        assert texts(await chat.say("ana", "hi")) == ["Hello from version two"]


async def test_published_knowledge_is_swapped_in(cp: ControlPlane, tmp_path: Path) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", publish=True)
    await _publish_knowledge(cp, "# v1 facts")
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    async with running_data_plane(settings, booted) as chat:
        assert chat.runtime.live.knowledge == "# v1 facts"
        await _publish_knowledge(cp, "# v2 facts")
        result = await watcher_of(chat).poll_now()
        assert (result.knowledge_swapped, result.flow_swapped) == (True, False)
        assert chat.runtime.live.knowledge == "# v2 facts"
        assert (await chat.http.get("/health")).json()["knowledge_version"] == "v2"


async def test_a_binding_change_is_logged_as_needing_a_restart(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    async with running_data_plane(settings, booted) as chat:
        patched = await cp.client.patch(
            "/v1/tenants/acme",
            json={"connectors": {"calendar": {"type": "mock_calendar"}}},
            headers=cp.admin,
        )
        assert patched.status_code == 200, patched.text
        with capture_logs() as logs:
            result = await watcher_of(chat).poll_now()
        assert result.restart_required == ("connectors",)
        [event] = [e for e in logs if e["event"] == "config_restart_required"]
        assert event["sections"] == ["connectors"]
        # The copy a restart starts from changed, though this process does not run it yet.
        [updated] = [e for e in logs if e["event"] == "boot_cache_updated"]
        assert updated["waiting_for_restart"] == event["settings"]
        assert updated["waiting_for_restart"]
        assert texts(await chat.say("ana", "hi")) == ["Hello from version one"]
        # Logged once: the next poll is a 304.
        assert (await watcher_of(chat).poll_now()).outcome == "unchanged"
    cached = json.loads((tmp_path / "dp" / "acme" / CACHE_FILE).read_text())
    assert cached["payload"]["connectors"] == {"calendar": {"type": "mock_calendar"}}


async def test_a_flow_that_needs_a_connector_this_process_lacks_waits_for_a_restart(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    needs_calendar = """\
id: tiny_flow
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: invoke_connector
        connector: calendar
        operation: get_available_days
        result_key: days
      - action: send_text
        text: "Days"
    fallback: MENU
"""
    async with running_data_plane(settings, booted) as chat:
        # The binding is added after this data plane booted: the control plane publishes the
        # flow (the tenant has the connector now), but the running process lacks it.
        bound = await cp.client.patch(
            "/v1/tenants/acme",
            json={"connectors": {"calendar": {"type": "mock_calendar", "timezone": "UTC"}}},
            headers=cp.admin,
        )
        assert bound.status_code == 200, bound.text
        upload = await cp.client.post(
            "/v1/tenants/acme/flows?publish=true",
            content=needs_calendar,
            headers={**cp.admin, "Content-Type": "application/yaml"},
        )
        assert upload.status_code == 201, upload.text
        with capture_logs() as logs:
            result = await watcher_of(chat).poll_now()
        assert result.flow_swapped is False
        assert "connectors" in result.restart_required
        [waiting] = [e for e in logs if e["event"] == "flow_swap_waits_for_restart"]
        assert "calendar" in waiting["reason"]
        assert texts(await chat.say("ana", "hi")) == ["Hello from version one"]
    # The next start gets the flow together with the binding it needs.
    cached = json.loads((tmp_path / "dp" / "acme" / CACHE_FILE).read_text())
    assert cached["payload"]["flow"]["version"] == 2
    assert "calendar" in cached["payload"]["connectors"]


async def test_a_cache_that_cannot_be_written_does_not_apply_a_publish_again_at_each_poll(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    cache = tmp_path / "dp" / "acme" / CACHE_FILE
    async with running_data_plane(settings, booted) as chat:
        watcher = watcher_of(chat)
        cache.unlink()
        (cache / "in-the-way").mkdir(parents=True)  # the volume refuses the write (EISDIR)
        await cp.upload_flow("acme", "two", publish=True)
        with capture_logs() as logs:
            first = await watcher.poll_now()
            second = await watcher.poll_now()
        assert (first.outcome, first.flow_swapped) == ("applied", True)
        assert second.outcome == "unchanged"
        events = [e["event"] for e in logs]
        assert events.count("flow_swapped") == 1
        assert events.count("boot_cache_not_saved") == 1
        assert texts(await chat.say("ana", "hi")) == ["Hello from version two"]


async def test_settings_waiting_for_a_restart_are_in_health_until_changed_back(
    cp: ControlPlane, tmp_path: Path
) -> None:
    """A tenant key reads /health through the control plane's status, never the log: the
    settings waiting for a restart are named there (never their values), the status stays ok."""
    llm = {"enabled": False, "provider": "openai_compatible", "model": "qwen2.5:7b"}
    token = await cp.create_tenant("acme", llm={**llm, "quota_daily_questions_per_contact": 3})
    await cp.upload_flow("acme", "one", publish=True)
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))

    async def change_llm(**fields: object) -> None:
        patched = await cp.client.patch(
            "/v1/tenants/acme", json={"llm": {**llm, **fields}}, headers=cp.admin
        )
        assert patched.status_code == 200, patched.text

    async with running_data_plane(settings, booted) as chat:
        health = (await chat.http.get("/health")).json()
        assert health["config"] == {
            "restart_required": [],
            "since": None,
            "control_plane": POLLS_OK,
        }
        await change_llm(quota_daily_questions_per_contact=5)
        with capture_logs() as logs:
            await watcher_of(chat).poll_now()
        health = (await chat.http.get("/health")).json()
        assert health["status"] == "ok"
        assert health["config"]["restart_required"] == ["llm.quota_daily_questions_per_contact"]
        since = datetime.fromisoformat(health["config"]["since"])
        [event] = [e for e in logs if e["event"] == "config_restart_required"]
        assert (event["sections"], event["settings"]) == (
            ["llm"], ["llm.quota_daily_questions_per_contact"]
        )  # fmt: skip
        assert set(health["config"]) == {"restart_required", "since", "control_plane"}
        # A second change keeps the first one's time: the restart has been due since then.
        await change_llm(quota_daily_questions_per_contact=5, model="qwen2.5-7b")
        await watcher_of(chat).poll_now()
        health = (await chat.http.get("/health")).json()
        assert health["config"]["restart_required"] == [
            "llm.model", "llm.quota_daily_questions_per_contact"
        ]  # fmt: skip
        assert datetime.fromisoformat(health["config"]["since"]) == since
        # Back to what this process started with: nothing waits any more.
        await change_llm(quota_daily_questions_per_contact=3)
        with capture_logs() as logs:
            await watcher_of(chat).poll_now()
        health = (await chat.http.get("/health")).json()
        assert health["config"] == {
            "restart_required": [],
            "since": None,
            "control_plane": POLLS_OK,
        }
        assert [e["event"] for e in logs if "restart" in e["event"]] == [
            "config_restart_no_longer_required"
        ]
