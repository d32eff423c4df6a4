"""The log lines of a connector call that failed, through the real bootstrap and runtime:

* `connector_failed`'s `detail` names the call once (`notification.send: rejected the webhook
  refused ...`), not twice (`notification.send: rejected notification.send: ...`);
* `calendar_not_found` names the binding the flow called (`calendar.work`, `calendar.caldav`),
  not the adapter type, carries the turn's `tenant` and `contact`, the adapter `type`, and the
  identifier the binding was configured with (a CalDAV `calendar_id`, no `calendar_name: null`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from googleapiclient.http import HttpMockSequence
from structlog.testing import capture_logs
from webhook_receiver import Receiver, Reply, running_receiver

from botfleet.adapters.connectors.calendar import google
from botfleet.testing.runtime import (
    MONDAY_MORNING,
    bootstrap_test_runtime,
    make_tenant_config,
    text_message,
)

CONTACT = "+34600111222"
FAST = {"backoff_initial_s": 0, "backoff_max_s": 0, "backoff_jitter_s": 0}
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}


def calling(connector: str, operation: str, **params: Any) -> dict[str, Any]:
    """A flow that calls `connector.operation` on the first message, then says how it went."""
    return {
        "id": "calls_v1",
        "initial_state": "START",
        "states": {
            "START": {"transitions": [{"target": "CALL"}]},
            "CALL": {
                "on_enter": [
                    {
                        "action": "invoke_connector",
                        "connector": connector,
                        "operation": operation,
                        "params": params,
                        "on_error": {"text": "failed", "target": "START"},
                    },
                    {"action": "send_text", "text": "done"},
                ],
                "next": "START",
            },
        },
    }


async def one_turn(config: Any, **fakes: Any) -> list[dict[str, Any]]:
    """The log lines of the tenant's first turn (which makes the call)."""
    with capture_logs() as logs:
        async with bootstrap_test_runtime(config, **fakes) as runtime:
            result = await runtime.handle(text_message(CONTACT, "hi"))
    assert [getattr(output, "text", None) for output in result.outputs] == ["failed"]
    return logs


def line(logs: list[dict[str, Any]], event: str) -> dict[str, Any]:
    (found,) = [entry for entry in logs if entry["event"] == event]
    return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


# ---------------------------------------------------------------- connector_failed


async def test_a_refused_notification_is_named_once(receiver: Receiver) -> None:
    receiver.script = [Reply(404)]
    binding = {"type": "webhook", "url": receiver.url, "resilience": FAST}
    config = make_tenant_config(
        calling("notification", "send", event="ping"),
        tenant_id="salon",
        connectors={"notification": binding},
    )

    failed = line(await one_turn(config), "connector_failed")

    assert failed["detail"] == (
        "notification.send: rejected the webhook refused the notification (HTTP 404): check "
        "the url: the hook may have been deleted"
    )
    assert failed["where"] == "states.CALL.on_enter[0]"


async def test_a_named_bindings_timeout_is_named_once(receiver: Receiver) -> None:
    receiver.script = [Reply(delay_s=5)]
    policy = {**FAST, "timeout_s": 0.2, "max_attempts": 1}
    binding = {"type": "webhook", "url": receiver.url, "resilience": policy}
    config = make_tenant_config(
        calling("notification.crm", "send", event="lead_created"),
        tenant_id="salon",
        connectors={"notification.crm": binding},
    )

    failed = line(await one_turn(config), "connector_failed")

    assert failed["detail"] == "notification.crm.send: timeout the attempt took longer than 0.2s"
    receiver.released.set()


async def test_a_bad_calendar_param_is_named_once() -> None:
    config = make_tenant_config(
        calling("calendar", "get_slots_for_day"),
        tenant_id="salon",
        connectors={"calendar": {"type": "mock_calendar", "schedule": SCHEDULE}},
    )

    failed = line(await one_turn(config), "connector_failed")

    assert failed["detail"] == (
        "calendar.get_slots_for_day: rejected param 'date_str' is required (a date YYYY-MM-DD)"
    )


# ---------------------------------------------------------------- calendar_not_found


def google_404() -> tuple[dict[str, str], str]:
    detail = {"domain": "global", "reason": "notFound", "message": "Not Found"}
    body = {"error": {"errors": [detail], "code": 404, "message": "Not Found"}}
    return {"status": "404"}, json.dumps(body)


async def test_google_calendar_not_found_names_the_binding_and_the_turn() -> None:
    calendar_id = "gone@group.calendar.google.com"
    work = google.build(
        {"calendar_id": calendar_id, "schedule": SCHEDULE, "api_base_url": "http://127.0.0.1:9/"},
        timezone="Europe/Madrid",
        clock=_Clock(),
        http=HttpMockSequence([google_404()]),
    )
    config = make_tenant_config(
        calling("calendar.work", "get_available_days"),
        tenant_id="salon",
        connectors={"calendar.work": {"type": "google_calendar", "calendar_id": calendar_id}},
    )

    logs = await one_turn(config, connectors={"calendar.work": work})

    missing = line(logs, "calendar_not_found")
    finished = line(logs, "connector_call_finished")
    assert missing["log_level"] == "error"
    assert (missing["connector"], missing["type"], missing["operation"]) == (
        "calendar.work",
        "google_calendar",
        "get_available_days",
    )
    assert (missing["setting"], missing["calendar_id"], missing["request"]) == (
        "calendar_id",
        calendar_id,
        "events.list",
    )
    assert missing["tenant"] == "salon"
    assert missing["contact"] == finished["contact"]
    assert CONTACT not in repr(missing)


async def test_caldav_calendar_not_found_names_the_binding_and_the_calendar_id(
    radicale_url: str,
) -> None:
    calendar_id = "/salon/no-such-calendar/"
    binding = {
        "type": "caldav",
        "url": radicale_url,
        "username": "salon",
        "password": "caldav-S3cret",
        "calendar_id": calendar_id,
        "schedule": SCHEDULE,
        "resilience": FAST,
    }
    config = make_tenant_config(
        calling("calendar.caldav", "get_available_days"),
        tenant_id="salon",
        connectors={"calendar.caldav": binding},
    )

    logs = await one_turn(config)

    missing = line(logs, "calendar_not_found")
    assert (missing["connector"], missing["type"], missing["setting"]) == (
        "calendar.caldav",
        "caldav",
        "calendar_id",
    )
    assert missing["calendar_id"] == calendar_id
    assert "calendar_name" not in missing
    assert missing["tenant"] == "salon"
    assert missing["contact"] == line(logs, "connector_call_finished")["contact"]
    assert "caldav-S3cret" not in repr(logs)


class _Clock:
    def now(self) -> Any:
        return MONDAY_MORNING
