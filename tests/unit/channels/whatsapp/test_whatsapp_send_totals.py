"""The sender's running totals per contact, (outputs delivered, outputs not delivered): what
`POST /run-task` reports of a task's messages. An output not delivered is one Meta refused, in
whole or in part, or one not tried after an error that ended the turn's sends."""

from __future__ import annotations

from typing import Any

import httpx
import respx

from botfleet.adapters.channels.whatsapp import WhatsAppCloudSender
from botfleet.adapters.channels.whatsapp.errors import MEANINGS
from botfleet.adapters.channels.whatsapp.outcomes import SendOutcomes
from botfleet.domain.outputs import Buttons, Option, TemplateMessage, Text

TO = "16505551234"
OK = httpx.Response(200, json={"messaging_product": "whatsapp", "messages": [{"id": "wamid.1"}]})


def refused(graph_fixture: Any, name: str) -> httpx.Response:
    return httpx.Response(400, json=graph_fixture(name))


async def test_delivered_outputs_are_counted_per_contact(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    graph["messages"].mock(return_value=OK)
    await sender.send(TO, [Text("a"), Text("b")])
    await sender.send(TO, [Text("c")])
    await sender.send("34600111222", [Text("d")])
    assert sender.sends_to(TO) == (3, 0)
    assert sender.sends_to("34600111222") == (1, 0)
    assert sender.sends_to("never-sent-to") == (0, 0)


async def test_outputs_not_tried_after_an_unreachable_contact_count_as_not_delivered(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Any
) -> None:
    route = graph["messages"].mock(return_value=refused(graph_fixture, "api_error_131026"))
    await sender.send(TO, [Text("a"), Text("b"), Text("c")])
    assert route.call_count == 1
    assert sender.sends_to(TO) == (0, 3)


async def test_a_refused_content_fails_its_output_alone(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Any
) -> None:
    graph["messages"].mock(side_effect=[refused(graph_fixture, "api_error_131009"), OK])
    await sender.send(TO, [Text("a"), Text("b")])
    assert sender.sends_to(TO) == (1, 1)


async def test_outside_the_window_the_texts_fail_and_the_template_is_delivered(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Any
) -> None:
    route = graph["messages"].mock(side_effect=[refused(graph_fixture, "api_error_131047"), OK])
    reminder = TemplateMessage("appointment_reminder", "es", ("Limpieza",), "Recordatorio")
    await sender.send(TO, [Text("a"), Text("b"), reminder])
    assert route.call_count == 2  # "b" is not tried
    assert sender.sends_to(TO) == (1, 2)


async def test_an_output_sent_in_two_requests_fails_whole_when_one_is_refused(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Any
) -> None:
    route = graph["messages"].mock(side_effect=[OK, refused(graph_fixture, "api_error_131009")])
    # A body over 1024 characters goes as a text first, then the buttons under its end.
    await sender.send(TO, [Buttons("x" * 1500, (Option("a", "A"),))])
    assert route.call_count == 2
    assert sender.sends_to(TO) == (0, 1)


def test_only_the_most_recent_contacts_are_remembered() -> None:
    outcomes = SendOutcomes(remembered=2)
    outcomes.counted("a", sent=1, failed=0)
    outcomes.counted("b", sent=1, failed=0)
    outcomes.counted("a", sent=1, failed=1)  # "a" is recent again
    outcomes.called("c", MEANINGS[131026])
    assert outcomes.totals("a") == (2, 1)
    assert outcomes.totals("b") == (0, 0)  # forgotten: starts again from nothing
    unreachable = outcomes.unreachable("c")
    assert unreachable is not None
    assert unreachable.event == "whatsapp_undeliverable"
