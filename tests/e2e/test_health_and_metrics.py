"""`GET /health` names the tenant and its flow; `GET /metrics` counts messages and times turns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from botfleet.flows.effects import ScheduleTask
from botfleet.testing.runtime import ChatClient


async def scrape(chat: ChatClient) -> dict[str, float]:
    """Unlabelled series, and the per-channel counters summed over their `channel`s."""
    response = await chat.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if not sample.labels or sample.labels == {"le": "+Inf"}:
                values[sample.name] = sample.value
            elif set(sample.labels) == {"channel"}:
                values[sample.name] = values.get(sample.name, 0.0) + sample.value
    return values


async def test_health_names_tenant_and_flow(chat: ChatClient) -> None:
    response = await chat.http.get("/health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["tenant_id"] == "demo"
    assert health["flow_id"] == "hairdresser_demo_v1"
    assert health["flow_version"] == "local"


async def test_health_follows_a_swapped_flow(chat: ChatClient) -> None:
    live = chat.runtime.live
    live.swap_flow(live.flow.model_copy(update={"id": "hairdresser_demo_v2"}), "v2")
    health = (await chat.http.get("/health")).json()
    assert (health["flow_id"], health["flow_version"]) == ("hairdresser_demo_v2", "v2")


async def test_metrics_count_messages_in_and_out_and_time_every_turn(chat: ChatClient) -> None:
    before = await scrape(chat)
    assert before["botfleet_messages_in_total"] == 0
    assert before["botfleet_turn_seconds_count"] == 0

    await chat.say("c1", "hi")  # 1 reply: the menu
    booked = await chat.press("c1", "menu_book")  # 1 reply: the services
    # Not a service: "not one of our services" and the services again.
    unclear = await chat.post({"contact_id": "c1", "text": "hi", "message_id": "dup"})
    await chat.post({"contact_id": "c1", "text": "hi", "message_id": "dup"})  # a redelivery

    after = await scrape(chat)
    assert after["botfleet_messages_in_total"] == 4
    assert after["botfleet_duplicate_messages_total"] == 1
    assert len(unclear["replies"]) == 2
    assert after["botfleet_messages_out_total"] == 1 + len(booked) + len(unclear["replies"])
    assert after["botfleet_turn_seconds_count"] == 3
    assert after["botfleet_turn_seconds_bucket"] == 3  # the +Inf bucket
    assert 0 < after["botfleet_turn_seconds_sum"] < 5
    assert after["botfleet_turn_errors_total"] == 0
    assert after["botfleet_conversations"] == 1


async def test_health_shows_each_connectors_breaker_state(chat: ChatClient) -> None:
    health = (await chat.http.get("/health")).json()
    assert health["connectors"] == {"calendar": "closed"}


async def test_metrics_count_pending_scheduled_jobs(chat: ChatClient) -> None:
    scheduler = chat.runtime.scheduler
    assert scheduler is not None
    assert (await scrape(chat))["botfleet_scheduled_jobs"] == 0
    tomorrow = datetime.now(UTC) + timedelta(days=1)  # the job store runs on the real clock
    for key in ("reminder:a", "reminder:b"):
        await scheduler.schedule(ScheduleTask("reminder", tomorrow, key, "c1", {}))
    assert (await scrape(chat))["botfleet_scheduled_jobs"] == 2
