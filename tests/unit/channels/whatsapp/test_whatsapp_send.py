"""WhatsApp sender: request shapes per output type (respx), degradation, retries, error events."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import structlog
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.whatsapp import WhatsAppCloudSender, WhatsAppMetrics
from botfleet.adapters.channels.whatsapp.settings import whatsapp_settings
from botfleet.domain.outputs import (
    Buttons,
    ListMenu,
    Option,
    Output,
    Section,
    TemplateMessage,
    Text,
)

FIXTURES = Path(__file__).parents[3] / "fixtures" / "whatsapp"
TOKEN = "EAAG-secret-access-token"
URL = "https://graph.test/v19.0/106540352242922/messages"
TO = "16505551234"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


OK = httpx.Response(200, json=fixture("api_send_ok"))


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def sender(sleeps: Sleeps, registry: CollectorRegistry) -> AsyncIterator[WhatsAppCloudSender]:
    settings = whatsapp_settings(
        {
            "phone_number_id": "106540352242922",
            "access_token": TOKEN,
            "app_secret": "app-secret",
            "verify_token": "verify",
            "graph_base_url": "https://graph.test",
            "retry_base_s": 0.25,
        }
    )
    async with httpx.AsyncClient() as http:
        yield WhatsAppCloudSender(settings, http, metrics=WhatsAppMetrics(registry), sleep=sleeps)


@pytest.fixture
def graph() -> respx.MockRouter:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def bodies(route: respx.Route) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


async def sent(sender: WhatsAppCloudSender, graph: respx.MockRouter, *outputs: Output) -> list[Any]:
    route = graph.post(URL).mock(return_value=OK)
    await sender.send(TO, outputs)
    return bodies(route)


ENVELOPE = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO}

# ---------------------------------------------------------------- request shapes


async def test_text_request_shape(sender: WhatsAppCloudSender, graph: respx.MockRouter) -> None:
    route = graph.post(URL).mock(return_value=OK)
    await sender.send(TO, [Text("Hola Ana")])
    (call,) = route.calls
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.headers["Content-Type"] == "application/json"
    assert json.loads(call.request.content) == {
        **ENVELOPE,
        "type": "text",
        "text": {"preview_url": False, "body": "Hola Ana"},
    }


async def test_reply_buttons_request_shape(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    menu = Buttons("What would you like?", (Option("book", "Book"), Option("cancel", "Cancel")))
    assert await sent(sender, graph, menu) == [
        {
            **ENVELOPE,
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "What would you like?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "book", "title": "Book"}},
                        {"type": "reply", "reply": {"id": "cancel", "title": "Cancel"}},
                    ]
                },
            },
        }
    ]


async def test_list_request_shape(sender: WhatsAppCloudSender, graph: respx.MockRouter) -> None:
    menu = ListMenu(
        "Pick a day",
        "See days",
        (
            Section("This week", (Option("d1", "Tue 7", "3 slots"), Option("d2", "Wed 8"))),
            Section("", (Option("d3", "Mon 13", "all day"),)),
        ),
    )
    assert await sent(sender, graph, menu) == [
        {
            **ENVELOPE,
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pick a day"},
                "action": {
                    "button": "See days",
                    "sections": [
                        {
                            "title": "This week",
                            "rows": [
                                {"id": "d1", "title": "Tue 7", "description": "3 slots"},
                                {"id": "d2", "title": "Wed 8"},
                            ],
                        },
                        # several sections need titles: an untitled one gets the button label
                        {
                            "title": "See days",
                            "rows": [{"id": "d3", "title": "Mon 13", "description": "all day"}],
                        },
                    ],
                },
            },
        }
    ]


async def test_single_untitled_section_has_no_title(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    menu = ListMenu("Pick", "Days", (Section("", (Option("d1", "Tue"),)),))
    (body,) = await sent(sender, graph, menu)
    assert body["interactive"]["action"]["sections"] == [{"rows": [{"id": "d1", "title": "Tue"}]}]


async def test_template_request_shape(sender: WhatsAppCloudSender, graph: respx.MockRouter) -> None:
    reminder = TemplateMessage("appointment_reminder", "es", ("Ana", "10:30"), "fallback")
    bare = TemplateMessage("hello_world", "en_US")
    assert await sent(sender, graph, reminder, bare) == [
        {
            **ENVELOPE,
            "type": "template",
            "template": {
                "name": "appointment_reminder",
                "language": {"code": "es"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Ana"},
                            {"type": "text", "text": "10:30"},
                        ],
                    }
                ],
            },
        },
        {
            **ENVELOPE,
            "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        },
    ]


async def test_mark_as_read_request_shape(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    route = graph.post(URL).mock(return_value=httpx.Response(200, json=fixture("api_read_ok")))
    assert await sender.mark_read("wamid.ABC") is True
    assert bodies(route) == [
        {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.ABC"}
    ]


async def test_outputs_are_sent_in_order(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    out = await sent(sender, graph, Text("one"), Buttons("two", (Option("a", "A"),)), Text("three"))
    assert [b["type"] for b in out] == ["text", "interactive", "text"]
    assert out[2]["text"]["body"] == "three"


# ---------------------------------------------------------------- limits and degradation


def titles(body: dict[str, Any]) -> list[str]:
    action = body["interactive"]["action"]
    if "buttons" in action:
        return [b["reply"]["title"] for b in action["buttons"]]
    return [r["title"] for s in action["sections"] for r in s["rows"]]


def options(count: int, title: str = "Option") -> tuple[Option, ...]:
    return tuple(Option(f"o{n}", f"{title} {n}") for n in range(1, count + 1))


async def test_three_buttons_stay_buttons(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    (body,) = await sent(sender, graph, Buttons("Pick", options(3)))
    assert body["interactive"]["type"] == "button"
    assert titles(body) == ["Option 1", "Option 2", "Option 3"]


async def test_a_fourth_button_turns_them_into_a_list(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    (body,) = await sent(sender, graph, Buttons("Pick", options(4)))
    assert body["interactive"]["type"] == "list"
    assert titles(body) == ["Option 1", "Option 2", "Option 3", "Option 4"]


async def test_ten_rows_stay_a_list_and_eleven_become_numbered_text(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    ten = ListMenu("Pick", "Days", (Section("", options(10)),))
    eleven = ListMenu("Pick", "Days", (Section("", options(11)),))
    as_list, as_text = await sent(sender, graph, ten, eleven)
    assert as_list["interactive"]["type"] == "list"
    assert len(titles(as_list)) == 10
    assert as_text["type"] == "text"
    assert "1. Option 1" in as_text["text"]["body"]
    assert "11. Option 11" in as_text["text"]["body"]


async def test_titles_and_descriptions_are_cut_to_whatsapp_limits(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    buttons = Buttons("Pick", (Option("a", "x" * 20), Option("b", "y" * 21)))
    rows = ListMenu("Pick", "L" * 21, (Section("S" * 25, (Option("r", "t" * 25, "d" * 73),)),))
    button_body, list_body = await sent(sender, graph, buttons, rows)
    assert titles(button_body) == ["x" * 20, "y" * 19 + "…"]
    action = list_body["interactive"]["action"]
    assert action["button"] == "L" * 19 + "…"
    (section,) = action["sections"]
    assert len(section["title"]) == 24
    (row,) = section["rows"]
    assert (len(row["title"]), len(row["description"])) == (24, 72)
    assert row["title"].endswith("…") and row["description"].endswith("…")


async def test_text_over_4096_characters_is_split(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    exactly = "a" * 4096
    longer = ("word " * 1000).strip()  # 4999 characters
    out = await sent(sender, graph, Text(exactly), Text(longer))
    assert out[0]["text"]["body"] == exactly
    assert len(out) == 3
    assert all(len(b["text"]["body"]) <= 4096 for b in out)
    assert " ".join(b["text"]["body"] for b in out[1:]) == longer


async def test_an_interactive_body_over_1024_characters_goes_first_as_text(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    body = "\n\n".join(f"Paragraph {n}. " + "z" * 300 for n in range(5))  # ~1580 characters
    first, menu = await sent(sender, graph, Buttons(body, options(2)))
    assert first["type"] == "text"
    assert menu["type"] == "interactive"
    assert len(menu["interactive"]["body"]["text"]) <= 1024
    assert first["text"]["body"].startswith("Paragraph 0.")
    assert menu["interactive"]["body"]["text"].endswith("z" * 300)


async def test_an_empty_body_gets_the_placeholder(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    (body,) = await sent(sender, graph, Buttons("", options(2)))
    assert body["interactive"]["body"] == {"text": "👇"}


async def test_ids_over_the_limit_are_sent_by_position(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    buttons = Buttons("Pick", (Option("short", "A"), Option("x" * 257, "B")))
    rows = ListMenu("Pick", "L", (Section("", (Option("y" * 201, "C"), Option("ok", "D"))),))
    button_body, list_body = await sent(sender, graph, buttons, rows)
    ids = [b["reply"]["id"] for b in button_body["interactive"]["action"]["buttons"]]
    assert ids == ["short", "#opt2"]
    rows_out = list_body["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows_out] == ["#opt1", "ok"]


# ---------------------------------------------------------------- retries and errors


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_429_is_retried_honouring_retry_after(
    sender: WhatsAppCloudSender,
    graph: respx.MockRouter,
    sleeps: Sleeps,
    registry: CollectorRegistry,
) -> None:
    route = graph.post(URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), OK]
    )
    await sender.send(TO, [Text("hi")])
    assert route.call_count == 2
    assert sleeps.waits == [7.0]
    assert sample(registry, "botfleet_whatsapp_retries_total") == 1
    assert sample(registry, "botfleet_whatsapp_api_requests_total", kind="text", outcome="ok") == 1


async def test_5xx_backs_off_exponentially_then_gives_up(
    sender: WhatsAppCloudSender,
    graph: respx.MockRouter,
    sleeps: Sleeps,
    registry: CollectorRegistry,
) -> None:
    route = graph.post(URL).mock(return_value=httpx.Response(503, text="upstream down"))
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("hi"), Text("second")])
    assert route.call_count == 4  # max_attempts, then the batch stops
    assert len(sleeps.waits) == 3
    assert all(0 <= w <= 30 for w in sleeps.waits)
    assert [e["event"] for e in logs] == ["whatsapp_temporary_error"]
    assert (
        sample(registry, "botfleet_whatsapp_api_requests_total", kind="text", outcome="error") == 1
    )


async def test_throttling_codes_are_retried_even_with_status_400(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    throttled = httpx.Response(400, json=fixture("api_error_130429"))
    route = graph.post(URL).mock(side_effect=[throttled, OK])
    await sender.send(TO, [Text("hi")])
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("api_error_131047", "whatsapp_template_needed"),
        ("api_error_131026", "whatsapp_undeliverable"),
        ("api_error_190", "whatsapp_token_expired"),
    ],
)
async def test_permanent_errors_log_their_meaning_and_stop_the_batch(
    sender: WhatsAppCloudSender,
    graph: respx.MockRouter,
    registry: CollectorRegistry,
    sleeps: Sleeps,
    name: str,
    event: str,
) -> None:
    status = 401 if name.endswith("190") else 400
    route = graph.post(URL).mock(return_value=httpx.Response(status, json=fixture(name)))
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("first"), Text("second")])
    assert route.call_count == 1  # not retried, and "second" was not attempted
    assert sleeps.waits == []
    (entry,) = logs
    assert entry["event"] == event
    assert entry["log_level"] == "warning"
    assert entry["code"] == fixture(name)["error"]["code"]
    assert entry["hint"]
    assert sample(registry, "botfleet_whatsapp_errors_total", event=event) == 1


async def test_a_rejected_message_shape_does_not_stop_the_batch(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    rejected = httpx.Response(400, json=fixture("api_error_131009"))
    route = graph.post(URL).mock(side_effect=[rejected, OK])
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Buttons("Pick", options(2)), Text("after")])
    assert route.call_count == 2
    assert logs[0]["event"] == "whatsapp_invalid_request"
    assert "Button title" in logs[0]["detail"]


async def test_connection_failures_are_retried(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    route = graph.post(URL).mock(side_effect=[httpx.ConnectError("refused"), OK])
    await sender.send(TO, [Text("hi")])
    assert route.call_count == 2


async def test_a_read_timeout_is_not_retried_to_avoid_duplicates(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    route = graph.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("hi")])
    assert route.call_count == 1
    assert logs[0]["event"] == "whatsapp_delivery_uncertain"


async def test_a_failed_read_receipt_is_reported_not_raised(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    graph.post(URL).mock(return_value=httpx.Response(400, json=fixture("api_error_131009")))
    assert await sender.mark_read("wamid.X") is False


async def test_the_access_token_never_reaches_the_logs(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    graph.post(URL).mock(
        side_effect=[
            httpx.Response(401, json=fixture("api_error_190")),
            httpx.ConnectError(f"failed for {TOKEN}"),
            httpx.ConnectError("again"),
            httpx.ConnectError("again"),
            httpx.ConnectError("again"),
            httpx.ReadTimeout(f"timeout for {TOKEN}"),
        ]
    )
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("a")])
        await sender.send(TO, [Text("b")])
        await sender.send(TO, [Text("c")])
    assert len(logs) == 3
    assert TOKEN not in repr(logs)
    assert TOKEN not in caplog.text


async def test_status_callbacks_are_counted_by_status(registry: CollectorRegistry) -> None:
    from botfleet.adapters.channels.whatsapp.parse import StatusUpdate

    metrics = WhatsAppMetrics(registry)
    for status in ["sent", "delivered", "read", "read", "mystery"]:
        metrics.record_status(StatusUpdate("wamid.1", status, TO, None))
    assert sample(registry, "botfleet_whatsapp_statuses_total", status="read") == 2
    assert sample(registry, "botfleet_whatsapp_statuses_total", status="sent") == 1
    assert sample(registry, "botfleet_whatsapp_statuses_total", status="other") == 1
    assert sample(registry, "botfleet_whatsapp_statuses_total", status="failed") == 0
