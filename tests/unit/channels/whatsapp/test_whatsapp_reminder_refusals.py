"""A reminder template Graph refuses: the line names the template and the language sent (Meta's
texts for 132000 and 132012 name neither, and a flow may send several templates); it is tried
once, not again; a contact this business blocked (130403) has a line that says so."""

from __future__ import annotations

from typing import Any

import httpx
import respx
import structlog

from botfleet.adapters.channels.whatsapp import WhatsAppCloudSender
from botfleet.adapters.channels.whatsapp.errors import EVENTS
from botfleet.domain.outputs import TemplateMessage, Text
from botfleet.ports.channels import SendOutcome

TO = "34600111222"
REMINDER = TemplateMessage(
    "appointment_reminder_day", "es_ES", ("Limpieza", "mañana", "10:00"), "Recordatorio"
)


def graph_error(code: int, message: str, details: str, status: int = 400) -> httpx.Response:
    error = {
        "message": f"(#{code}) {message}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": "AbC123",
    }
    return httpx.Response(status, json={"error": error})


def warnings(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in logs if line["log_level"] == "warning"]


async def test_a_refused_template_is_named_on_its_line_and_not_tried_again(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    count_mismatch = graph_error(
        132000,
        "Number of parameters does not match the expected number of params",
        "body: number of localizable_params (3) does not match the expected number of params (2)",
    )
    route = graph["messages"].mock(return_value=count_mismatch)
    with structlog.testing.capture_logs() as logs:
        outcome = await sender.send(TO, [REMINDER])
    assert route.call_count == 1
    assert outcome == SendOutcome(sent=0, failed=1)
    [line] = warnings(logs)
    assert line["event"] == "whatsapp_template_rejected"
    assert (line["code"], line["template"], line["language"]) == (
        132000,
        "appointment_reminder_day",
        "es_ES",
    )


async def test_a_template_missing_in_that_language_is_named_too(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    graph["messages"].mock(
        return_value=graph_error(
            132001,
            "Template name does not exist in the translation",
            "The template does not exist in the specified language",
            status=404,
        )
    )
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [REMINDER])
    [line] = warnings(logs)
    assert (line["event"], line["template"], line["language"]) == (
        "whatsapp_template_rejected",
        "appointment_reminder_day",
        "es_ES",
    )


async def test_a_text_refused_has_no_template_fields(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    graph["messages"].mock(
        return_value=graph_error(131047, "Re-engagement message", "More than 24 hours")
    )
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("see you tomorrow")])
    [line] = warnings(logs)
    assert line["event"] == "whatsapp_template_needed"
    assert "template" not in line and "language" not in line


async def test_a_contact_this_business_blocked_is_said_so_and_ends_the_send(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    route = graph["messages"].mock(
        return_value=graph_error(
            130403,
            "Business blocked user",
            "Unable to deliver the message. This business has blocked the end user on WhatsApp",
        )
    )
    with structlog.testing.capture_logs() as logs:
        outcome = await sender.send(TO, [REMINDER, Text("and a text")])
    assert route.call_count == 1  # Meta: do not retry; the text would fail the same way
    assert outcome == SendOutcome(sent=0, failed=2)
    [line] = warnings(logs)
    assert line["event"] == "whatsapp_user_blocked_by_business"
    assert "unblocked" in line["hint"]
    assert "whatsapp_user_blocked_by_business" in EVENTS  # on /metrics from the start
