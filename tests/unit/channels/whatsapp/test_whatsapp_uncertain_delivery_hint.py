"""The hint of a Graph call that failed on the way: a request never sent (no connection) is
"could not be reached"; one sent without an answer (a read timeout) may have been delivered,
and is not retried to avoid a duplicate: its line says that, not "could not be reached"."""

from __future__ import annotations

import httpx
import respx
import structlog

from botfleet.adapters.channels.whatsapp import WhatsAppCloudSender
from botfleet.domain.outputs import Text

TO = "16505551234"


async def test_a_read_timeout_says_the_message_may_have_been_delivered(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    route = graph["messages"].mock(side_effect=httpx.ReadTimeout("slow"))
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("hi")])

    assert route.call_count == 1
    (line,) = [e for e in logs if e["event"] == "whatsapp_delivery_uncertain"]
    assert line["hint"] == (
        "the request was sent but no answer came back: the message may have been delivered; "
        "it is not retried, to avoid sending it twice"
    )
    assert "could not be reached" not in line["hint"]
    assert line["detail"] == "ReadTimeout"


async def test_a_refused_connection_says_the_api_could_not_be_reached(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    graph["messages"].mock(side_effect=httpx.ConnectError("refused"))
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("hi")])

    (line,) = [e for e in logs if e["event"] == "whatsapp_unreachable"]
    assert line["hint"] == "the Graph API could not be reached: the request was not sent"
