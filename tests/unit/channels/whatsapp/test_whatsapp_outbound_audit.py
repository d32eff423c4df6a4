"""WhatsApp send errors as an operator needs them: the pair rate limit (131056) is waited out
and retried, a closed 24-hour window (131047) still lets the turn's templates through, and
"access denied" (131005) is named a permission problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import httpx
import respx
import structlog
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.whatsapp import WhatsAppCloudSender
from botfleet.adapters.channels.whatsapp.errors import meaning_of
from botfleet.adapters.channels.whatsapp.parse import GraphErrorInfo
from botfleet.domain.outputs import Buttons, Option, TemplateMessage, Text

FIXTURES = Path(__file__).parents[3] / "fixtures" / "whatsapp"
TO = "16505551234"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


OK = httpx.Response(200, json=fixture("api_send_ok"))
PAIR_LIMITED = httpx.Response(400, json=fixture("api_error_131056"))
WINDOW_CLOSED = httpx.Response(400, json=fixture("api_error_131047"))


class Sleeps(Protocol):  # the conftest fixture: records backoff waits
    waits: list[float]


def errors(registry: CollectorRegistry, event: str) -> float:
    return registry.get_sample_value("botfleet_whatsapp_errors_total", {"event": event}) or 0.0


def warnings(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e["log_level"] != "debug"]


def sent_types(route: respx.Route) -> list[str]:
    return [json.loads(call.request.content)["type"] for call in route.calls]


async def test_the_pair_rate_limit_is_waited_out_and_the_message_sent(
    sender: WhatsAppCloudSender,
    graph: respx.MockRouter,
    sleeps: Sleeps,
    registry: CollectorRegistry,
) -> None:
    route = graph["messages"].mock(side_effect=[OK, PAIR_LIMITED, OK])
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("one"), Text("two")])
    assert route.call_count == 3  # "two" was sent after all
    # Meta's pair rate is one message every 6 s: a second's backoff would hit it again.
    assert sleeps.waits == [6.0]
    assert warnings(logs) == []
    assert errors(registry, "whatsapp_pair_rate_limited") == 0


async def test_a_pair_rate_limit_that_lasts_is_logged_once_and_stops_the_turn(
    sender: WhatsAppCloudSender,
    graph: respx.MockRouter,
    sleeps: Sleeps,
    registry: CollectorRegistry,
) -> None:
    route = graph["messages"].mock(return_value=PAIR_LIMITED)
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("one"), Text("two")])
    assert route.call_count == 4  # max_attempts, and "two" would only hit the limit again
    assert sleeps.waits == [6.0, 6.0, 6.0]
    (entry,) = warnings(logs)
    assert (entry["event"], entry["code"]) == ("whatsapp_pair_rate_limited", 131056)
    assert errors(registry, "whatsapp_pair_rate_limited") == 1


async def test_retry_after_still_wins_over_the_pair_rate_wait(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, sleeps: Sleeps
) -> None:
    limited = httpx.Response(400, json=fixture("api_error_131056"), headers={"Retry-After": "2"})
    graph["messages"].mock(side_effect=[limited, OK])
    await sender.send(TO, [Text("one")])
    assert sleeps.waits == [2.0]


async def test_outside_the_24_hour_window_the_turn_s_templates_still_go(
    sender: WhatsAppCloudSender,
    graph: respx.MockRouter,
    sleeps: Sleeps,
    registry: CollectorRegistry,
) -> None:
    route = graph["messages"].mock(side_effect=[WINDOW_CLOSED, OK])
    reminder = TemplateMessage("appointment_reminder", "es", ("Ana", "10:00"))
    with structlog.testing.capture_logs() as logs:
        await sender.send(
            TO,
            [
                Text("Your appointment is tomorrow"),
                Buttons("Still coming?", (Option("yes", "Yes"), Option("no", "No"))),
                reminder,
            ],
        )
    # The text failed; the buttons would fail the same way and are not tried; the template
    # is the one message Meta takes outside the window.
    assert sent_types(route) == ["text", "template"]
    assert sleeps.waits == []
    assert [e["event"] for e in warnings(logs)] == ["whatsapp_template_needed"]
    assert errors(registry, "whatsapp_template_needed") == 1


async def test_the_undeliverable_stop_the_whole_turn_templates_too(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    route = graph["messages"].mock(
        return_value=httpx.Response(400, json=fixture("api_error_131026"))
    )
    await sender.send(TO, [Text("hi"), TemplateMessage("appointment_reminder", "es")])
    assert route.call_count == 1


def test_access_denied_is_a_permission_problem() -> None:
    meaning = meaning_of(GraphErrorInfo(131005, "Access denied"))
    assert meaning.event == "whatsapp_permission_denied"
    assert not meaning.retryable
