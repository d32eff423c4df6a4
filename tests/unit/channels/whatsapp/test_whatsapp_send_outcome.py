"""What `send` returns, a `SendOutcome`: the outputs of that one send Graph accepted (`sent`)
and the others (`failed`). An output not delivered is one Meta refused, in whole or in part, or
one not tried after an error that ended the send. `POST /run-task` reports it for a task."""

from __future__ import annotations

from typing import Any

import httpx
import respx

from botfleet.adapters.channels.whatsapp import WhatsAppCloudSender
from botfleet.adapters.channels.whatsapp.errors import MEANINGS
from botfleet.adapters.channels.whatsapp.outcomes import SendOutcomes
from botfleet.domain.outputs import Buttons, Option, TemplateMessage, Text
from botfleet.ports.channels import SendOutcome

TO = "16505551234"
OK = httpx.Response(200, json={"messaging_product": "whatsapp", "messages": [{"id": "wamid.1"}]})


def refused(graph_fixture: Any, name: str) -> httpx.Response:
    return httpx.Response(400, json=graph_fixture(name))


async def test_each_send_reports_its_own_outputs(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    graph["messages"].mock(return_value=OK)
    assert await sender.send(TO, [Text("a"), Text("b")]) == SendOutcome(sent=2, failed=0)
    # Not a running total: the contact's earlier send is not in the next one's figures.
    assert await sender.send(TO, [Text("c")]) == SendOutcome(sent=1, failed=0)
    assert await sender.send(TO, []) == SendOutcome(sent=0, failed=0)


async def test_outputs_not_tried_after_an_unreachable_contact_count_as_not_delivered(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Any
) -> None:
    route = graph["messages"].mock(return_value=refused(graph_fixture, "api_error_131026"))
    outcome = await sender.send(TO, [Text("a"), Text("b"), Text("c")])
    assert route.call_count == 1
    assert outcome == SendOutcome(sent=0, failed=3)


async def test_a_refused_content_fails_its_output_alone(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Any
) -> None:
    graph["messages"].mock(side_effect=[refused(graph_fixture, "api_error_131009"), OK])
    assert await sender.send(TO, [Text("a"), Text("b")]) == SendOutcome(sent=1, failed=1)


async def test_outside_the_window_the_texts_fail_and_the_template_is_delivered(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Any
) -> None:
    route = graph["messages"].mock(side_effect=[refused(graph_fixture, "api_error_131047"), OK])
    reminder = TemplateMessage("appointment_reminder", "es", ("Limpieza",), "Recordatorio")
    outcome = await sender.send(TO, [Text("a"), Text("b"), reminder])
    assert route.call_count == 2  # "b" is not tried
    assert outcome == SendOutcome(sent=1, failed=2)


async def test_an_output_sent_in_two_requests_fails_whole_when_one_is_refused(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Any
) -> None:
    route = graph["messages"].mock(side_effect=[OK, refused(graph_fixture, "api_error_131009")])
    # A body over 1024 characters goes as a text first, then the buttons under its end.
    outcome = await sender.send(TO, [Buttons("x" * 1500, (Option("a", "A"),))])
    assert route.call_count == 2
    assert outcome == SendOutcome(sent=0, failed=1)


def test_only_the_most_recent_contacts_are_remembered() -> None:
    outcomes = SendOutcomes(remembered=2)
    outcomes.called("a", MEANINGS[131026])
    outcomes.called("b", MEANINGS[131026])
    outcomes.called("a", MEANINGS[131026])  # "a" is recent again
    outcomes.called("c", MEANINGS[131026])
    assert outcomes.unreachable("b") is None  # forgotten: starts again from nothing
    for contact in ("a", "c"):
        unreachable = outcomes.unreachable(contact)
        assert unreachable is not None
        assert unreachable.event == "whatsapp_undeliverable"
