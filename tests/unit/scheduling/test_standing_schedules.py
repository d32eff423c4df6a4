"""A flow's standing schedules become StandingJobs; bad ones are reported, not fatal."""

from __future__ import annotations

from datetime import timedelta
from textwrap import dedent

import yaml

from botfleet.adapters.scheduling import standing_jobs_of
from botfleet.flows.load import load_flow_text
from botfleet.flows.schema import FlowSpec

FLOW = dedent(
    """
    id: shop
    initial_state: MENU
    states:
      MENU:
        on_enter:
          - action: send_text
            text: hi
    tasks:
      digest:
        - action: send_text
          text: "Today: {{data.kind}}"
    standing_schedules:
      morning: {task: digest, cron: "0 9 * * 1-5", contact_id: owner, data: {kind: daily}}
      often: {task: digest, interval: 15m}
      broken: {task: digest, cron: "61 * * * *"}
      never: {task: digest, cron: "0 9 31 2 *"}
    """
)


def test_standing_schedules_of_a_flow_in_the_tenant_zone() -> None:
    # Schema only: loading the flow rejects the bad rules, but a flow validated by an older
    # release may still hold them, and the scheduler must then drop them, not fail.
    flow = FlowSpec.model_validate(yaml.safe_load(FLOW))
    result = standing_jobs_of(flow, "Europe/Madrid")
    morning, often = result.jobs
    assert (morning.name, morning.task, morning.cron, morning.contact_id) == (
        "morning",
        "digest",
        "0 9 * * 1-5",
        "owner",
    )
    assert morning.data == {"kind": "daily"}
    assert morning.timezone == often.timezone == "Europe/Madrid"
    assert often.interval == timedelta(minutes=15)
    assert result.problems == (
        "flow shop: standing_schedules.broken.cron: minute field '61': 61 is outside 0-59",
        "flow shop: standing_schedules.never.cron: '0 9 31 2 *' never fires",
    )


def test_a_list_of_schedules_is_named_by_task_and_position() -> None:
    text = FLOW.split("standing_schedules:")[0] + dedent(
        """
        standing_schedules:
          - {task: digest, interval: 1h}
        """
    )
    flow = load_flow_text(text, source="shop.yaml").spec
    [job] = standing_jobs_of(flow, "UTC").jobs
    assert job.name == "digest#0"
