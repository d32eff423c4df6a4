"""A salon owner publishes (or rolls back) a flow while contacts are mid-conversation: what a
contact in a state the new version no longer has gets, what a turn under way uses, what becomes
of pending reminders and standing schedules (docs/flow-dsl.md, "Publishing a new version while
conversations are running")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from boot_harness import cp_transport, dp_settings, running_data_plane, texts, watcher_of
from cp_harness import ControlPlane
from structlog.testing import capture_logs

from botfleet.data_plane.app import create_app
from botfleet.data_plane.bootstrap import Overrides
from botfleet.data_plane.config_source import BootedConfig, PollResult, pull_boot_config
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import ChatClient
from botfleet.testing.scheduling import ManualScheduler

SALON = """\
id: salon
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "What would you like? ({v})"
        buttons:
          - {{id: cut, title: Haircut}}
          - {{id: colour, title: Colour}}
    transitions:
      - {{on_payload: cut, target: {ask}, set_data: {{service: haircut}}}}
      - {{on_payload: colour, target: {ask}, set_data: {{service: colour}}}}
    fallback: MENU
  {ask}:
    on_enter:
      - action: send_text
        text: "Which day for your {{{{ data.service }}}}?"
    transitions:
      - {{on_type: text, target: BOOKED, set_data: {{day: "{{{{ message.text }}}}"}}}}
  BOOKED:
    on_enter:
      - action: send_text
        text: "Booked: {{{{ data.service }}}} on {{{{ data.day }}}}"
"""

SCHEDULES_FLOW = """\
id: salon
initial_state: MENU
tasks:
  digest: [{{action: send_text, text: "Today's bookings"}}]
  cleanup: [{{action: send_text, text: "Cleaning up"}}]
standing_schedules:
{schedules}
states:
  MENU:
    on_enter: [{{action: send_text, text: "Hello"}}]
    fallback: MENU
"""
V1_SCHEDULES = """\
  morning: {task: digest, cron: "0 9 * * 1-5", contact_id: owner}
  nightly: {task: cleanup, cron: "0 23 * * *", contact_id: owner}
  poll: {task: cleanup, interval: 15m, contact_id: owner}
"""
# `morning` moves to 10:00, `nightly` is gone, `weekly` is new, `poll` is the same.
V2_SCHEDULES = """\
  morning: {task: digest, cron: "0 10 * * 1-5", contact_id: owner}
  weekly: {task: digest, cron: "0 8 * * 1", contact_id: owner}
  poll: {task: cleanup, interval: 15m, contact_id: owner}
"""

CALENDAR_FLOW = """\
id: salon
initial_state: MENU
states:
  MENU:
    on_enter:
      - {{action: send_text, text: "Looking for free days ({v})"}}
      - action: invoke_connector
        connector: calendar
        operation: get_available_days
        result_key: days
      - {{action: send_text, text: "Free: {{{{ data.days | join(', ') }}}} ({v})"}}
    fallback: MENU
"""

REMINDER_FLOW = """\
id: salon
initial_state: MENU
tasks:
  {task}:
    - action: send_text
      text: "{reminder_text}"
states:
  MENU:
    on_enter: [{{action: send_text, text: "Hello"}}]
    transitions:
      - {{on_payload: book, target: BOOKED, set_data: {{service: haircut}}}}
    fallback: MENU
  BOOKED:
    on_enter:
      - action: schedule_task
        task: {task}
        delay: 1h
        idempotency_key: "reminder:{{{{ contact.id }}}}"
        data: {{service: "{{{{ data.service }}}}"}}
      - {{action: send_text, text: "Booked"}}
    next: MENU
"""
#: A contact id long enough for the logs to hash wherever it appears (short ones are left).
ANA = "34600111222"


def salon(version: str, ask_state: str) -> str:
    """The salon's flow; `ask_state` is the name of the state that asks for the day."""
    return SALON.format(v=version, ask=ask_state)


async def publish(cp: ControlPlane, yaml: str) -> None:
    response = await cp.client.post(
        "/v1/tenants/acme/flows?publish=true",
        content=yaml,
        headers={**cp.admin, "Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text


@asynccontextmanager
async def data_plane_with(
    settings: DataPlaneSettings, booted: BootedConfig, overrides: Overrides
) -> AsyncIterator[ChatClient]:
    """`boot_harness.running_data_plane`, with test adapters in place of the tenant's."""
    app = create_app(settings, boot=booted, overrides=overrides)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        yield ChatClient(app, http)


async def stored_state(chat: ChatClient, contact_id: str) -> Any:
    state = await chat.runtime.states.load(contact_id)
    assert state is not None
    return state


async def sent_texts(chat: ChatClient, contact_id: str) -> list[str]:
    """What the contact was sent, in order (the web chat's outbox)."""
    return [str(m["output"].get("text", "")) for m in await chat.messages(contact_id)]


async def standing_jobs(chat: ChatClient) -> dict[str, dict[str, Any]]:
    response = await chat.http.get("/tasks")
    assert response.status_code == 200, response.text
    return {t["key"]: t for t in response.json()["tasks"] if t["kind"] == "standing"}


class CalendarThatPublishes:
    """A calendar whose answer comes after `during_call` ran: the publish lands mid-turn."""

    category = "calendar"

    def __init__(self) -> None:
        self.during_call: Callable[[], Awaitable[Any]] | None = None
        self.seen: list[Any] = []

    def operations(self) -> frozenset[str]:
        return frozenset({"get_available_days"})

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        if self.during_call is not None:
            self.seen.append(await self.during_call())
            self.during_call = None
        return ["Mon", "Tue"]


@asynccontextmanager
async def salon_with_a_manual_scheduler(
    cp: ControlPlane, tmp_path: Path
) -> AsyncIterator[tuple[ChatClient, ManualScheduler]]:
    """The salon on v1, its scheduler driven by the test's clock; Ana has booked."""
    token = await cp.create_tenant("acme")
    v1_text = "Reminder: your {{ data.service }} is at 11"
    await publish(cp, REMINDER_FLOW.format(task="reminder", reminder_text=v1_text))
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    clock = FrozenClock()
    scheduler = ManualScheduler(clock, tenant_id="acme")
    async with data_plane_with(
        settings, booted, Overrides(clock=clock, scheduler=scheduler)
    ) as chat:
        await chat.say(ANA, "hi")
        assert texts(await chat.press(ANA, "book"))[0] == "Booked"
        assert [job.task for job in await scheduler.jobs()] == ["reminder"]
        yield chat, scheduler


# ---------------------------------------------------------------- states


async def test_a_contact_in_a_state_the_new_version_renamed_restarts_at_the_menu_with_its_data(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await publish(cp, salon("one", "ASK_DAY"))
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    async with running_data_plane(settings, booted) as chat:
        await chat.say("ana", "hi")
        assert texts(await chat.press("ana", "cut")) == ["Which day for your haircut?"]
        # The owner renames the question's state while Ana is about to answer it.
        await publish(cp, salon("two", "PICK_DAY"))
        assert (await watcher_of(chat).poll_now()).flow_swapped
        with capture_logs() as logs:
            replies = await chat.say("ana", "Friday")
        # Her answer was for a question v2 does not have: she sees v2's menu, as a new contact
        # would, and nothing is booked.
        assert texts(replies) == ["What would you like? (two)"]
        state = await stored_state(chat, "ana")
        assert state.node == "MENU"
        assert state.data["service"] == "haircut"  # `data` survives the restart
        assert "day" not in state.data
        [reset] = [e for e in logs if e["event"] == "state_reset"]
        assert reset["log_level"] == "warning"
        assert reset["where"] == "states.ASK_DAY"
        assert "'MENU'" in reset["detail"]
        assert reset["tenant"] == "acme"
        assert reset["contact"] != "ana"  # hashed, as every contact's line
        # From the menu, she carries on in v2.
        assert texts(await chat.press("ana", "colour")) == ["Which day for your colour?"]
        assert (await stored_state(chat, "ana")).node == "PICK_DAY"


async def test_a_rollback_restarts_contacts_in_a_state_only_the_newer_version_has(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await publish(cp, salon("one", "ASK_DAY"))
    await publish(cp, salon("two", "PICK_DAY"))
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    async with running_data_plane(settings, booted) as chat:
        await chat.say("bea", "hi")
        assert texts(await chat.press("bea", "colour")) == ["Which day for your colour?"]
        assert (await stored_state(chat, "bea")).node == "PICK_DAY"
        rolled = await cp.client.post("/v1/tenants/acme/flows/rollback", headers=cp.admin)
        assert rolled.status_code == 200, rolled.text
        assert (await watcher_of(chat).poll_now()).flow_swapped
        with capture_logs() as logs:
            replies = await chat.say("bea", "Monday")
        assert texts(replies) == ["What would you like? (one)"]
        assert [e["where"] for e in logs if e["event"] == "state_reset"] == ["states.PICK_DAY"]
        assert (await stored_state(chat, "bea")).data["service"] == "colour"
        # A contact in a state both versions have is not disturbed by the rollback.
        assert texts(await chat.press("bea", "cut")) == ["Which day for your haircut?"]
        assert texts(await chat.say("bea", "Tuesday")) == ["Booked: haircut on Tuesday"]


# ---------------------------------------------------------------- a turn under way


async def test_a_publish_during_a_turn_applies_from_the_next_message(
    cp: ControlPlane, tmp_path: Path
) -> None:
    calendar_binding = {"calendar": {"type": "mock_calendar", "timezone": "UTC"}}
    token = await cp.create_tenant("acme", connectors=calendar_binding)
    await publish(cp, CALENDAR_FLOW.format(v="one"))
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    calendar = CalendarThatPublishes()
    async with data_plane_with(
        settings, booted, Overrides(connectors={"calendar": calendar})
    ) as chat:
        watcher = watcher_of(chat)

        async def publish_and_poll() -> PollResult:
            await publish(cp, CALENDAR_FLOW.format(v="two"))
            return await watcher.poll_now()

        calendar.during_call = publish_and_poll
        replies = await chat.say("ana", "hi")
        [polled] = calendar.seen
        assert polled.flow_swapped  # v2 was live before the turn's last action ran...
        assert chat.runtime.live.flow_version == "v2"
        # ...and the turn still ended as v1 wrote it.
        assert texts(replies) == ["Looking for free days (one)", "Free: Mon, Tue (one)"]
        assert texts(await chat.say("ana", "hi")) == [
            "Looking for free days (two)",
            "Free: Mon, Tue (two)",
        ]


# ---------------------------------------------------------------- reminders and standing schedules


async def test_a_reminder_whose_task_the_new_version_removed_sends_nothing_and_is_logged(
    cp: ControlPlane, tmp_path: Path
) -> None:
    async with salon_with_a_manual_scheduler(cp, tmp_path) as (chat, scheduler):
        sent_before = await sent_texts(chat, ANA)
        await publish(
            cp, REMINDER_FLOW.format(task="appointment_reminder", reminder_text="See you")
        )
        assert (await watcher_of(chat).poll_now()).flow_swapped
        with capture_logs() as logs:
            [run] = await scheduler.advance(hours=2)
        assert run.task == "reminder"
        assert await sent_texts(chat, ANA) == sent_before  # nothing sent
        [unknown] = [e for e in logs if e["event"] == "unknown_task"]
        assert unknown["log_level"] == "error"
        assert unknown["where"] == "tasks.reminder"
        # The line names the run (its key, the contact hashed as everywhere in the logs).
        assert "has no task 'reminder'; run 'once:reminder:" in unknown["detail"]
        assert ANA not in unknown["detail"]
        assert "<contact " in unknown["detail"]
        assert await scheduler.jobs() == []  # a one-off job: it does not come back


async def test_a_reminder_runs_the_new_versions_text_with_the_data_it_was_scheduled_with(
    cp: ControlPlane, tmp_path: Path
) -> None:
    async with salon_with_a_manual_scheduler(cp, tmp_path) as (chat, scheduler):
        v2 = REMINDER_FLOW.format(
            task="reminder",
            reminder_text="Your {{ data.service }} with {{ data.stylist }} is at 11",
        )
        await publish(cp, v2)
        assert (await watcher_of(chat).poll_now()).flow_swapped
        with capture_logs() as logs:
            await scheduler.advance(hours=2)
        # v1 carried `service`; v2 reads `stylist` too, which no v1 job carries: empty.
        assert (await sent_texts(chat, ANA))[-1] == "Your haircut with  is at 11"
        [missing] = [e for e in logs if e["event"] == "template_missing_value"]
        assert missing["where"] == "tasks.reminder[0].text"
        assert "stylist" in missing["detail"]


async def test_a_publish_and_a_rollback_resync_the_standing_schedules(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme", timezone="UTC")
    await publish(cp, SCHEDULES_FLOW.format(schedules=V1_SCHEDULES))
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    async with running_data_plane(settings, booted) as chat:
        before = await standing_jobs(chat)
        assert sorted(before) == ["morning", "nightly", "poll"]
        await publish(cp, SCHEDULES_FLOW.format(schedules=V2_SCHEDULES))
        with capture_logs() as logs:
            assert (await watcher_of(chat).poll_now()).flow_swapped
        events = [e["event"] for e in logs]
        assert events.index("flow_swapped") < events.index("standing_schedules_synced")
        [synced] = [e for e in logs if e["event"] == "standing_schedules_synced"]
        assert (synced["added"], synced["kept"], synced["replaced"], synced["removed"]) == (
            1, 1, 1, 1
        )  # fmt: skip
        after = await standing_jobs(chat)
        assert sorted(after) == ["morning", "poll", "weekly"]
        assert after["morning"]["next_run_at"].endswith("T10:00:00Z")  # the tenant's zone: UTC
        # The interval rule both versions share keeps its next run: it is not restarted.
        assert after["poll"]["next_run_at"] == before["poll"]["next_run_at"]

        rolled = await cp.client.post("/v1/tenants/acme/flows/rollback", headers=cp.admin)
        assert rolled.status_code == 200, rolled.text
        assert (await watcher_of(chat).poll_now()).flow_swapped
        back = await standing_jobs(chat)
        assert sorted(back) == ["morning", "nightly", "poll"]
        assert back["morning"]["next_run_at"].endswith("T09:00:00Z")
