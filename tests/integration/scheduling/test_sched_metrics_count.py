"""`/metrics` counts the pending jobs without listing them: a scrape stays cheap with thousands of
reminders pending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from botfleet.flows.effects import ScheduleTask
from botfleet.ports.scheduling import ScheduledJob
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import running_app
from botfleet.testing.scheduling import ManualScheduler

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


class ListingRecorder(ManualScheduler):
    """The fake, noting each full listing (`jobs()` with no filter), as `/metrics` used to ask."""

    def __init__(self, clock: FrozenClock) -> None:
        super().__init__(clock, tenant_id="demo")
        self.listings = 0

    async def jobs(self, **filters: Any) -> list[ScheduledJob]:
        if not filters:
            self.listings += 1
        return await super().jobs(**filters)


async def test_metrics_count_the_pending_jobs_without_listing_them() -> None:
    clock = FrozenClock(T0)
    scheduler = ListingRecorder(clock)
    async with running_app(clock=clock, scheduler=scheduler) as chat:
        for n in range(3):
            due = T0 + timedelta(hours=n + 1)
            await scheduler.schedule(ScheduleTask("reminder", due, f"reminder:{n}", "c1"))
        response = await chat.http.get("/metrics")
        assert response.status_code == 200
        await scheduler.advance(hours=1)  # one runs: the next scrape sees two
        again = await chat.http.get("/metrics")
    assert [gauge(response.text), gauge(again.text)] == [3, 2]
    assert scheduler.listings == 0


def gauge(text: str) -> float:
    [value] = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "botfleet_scheduled_jobs"
    ]
    return value
