"""A Graph error text that quotes the access token back never reaches the log: the sender cuts
its secrets out of every provider text it logs (`LogContacts(secrets=...)`)."""

from __future__ import annotations

import json

import httpx
import respx
from structlog.testing import capture_logs

from botfleet.adapters.channels.whatsapp import WhatsAppCloudSender
from botfleet.domain.outputs import Text

TOKEN = "EAAG-secret-access-token"  # the conftest sender's


async def test_an_error_text_quoting_the_access_token_is_redacted(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    echo = {
        "error": {
            "message": f"(#100) Invalid parameter: access token {TOKEN} cannot be used",
            "type": "OAuthException",
            "code": 100,
            "error_data": {"details": f"the token {TOKEN} is not allowed"},
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
        }
    }
    graph["messages"].mock(return_value=httpx.Response(400, json=echo))
    with capture_logs() as logs:
        await sender.send("16505551234", [Text("hi")])
    written = json.dumps(logs, default=str)
    assert TOKEN not in written
    assert "[redacted]" in written
