"""WhatsApp's message ids (`wamid.` then base64) spell the sender's phone number, so a log line
naming one beside the hashed `contact` would undo the hash: botfleet's lines show a digest of
it instead (the same for one message), whatever logged it."""

from __future__ import annotations

import base64
import io
import json

import pytest
import structlog

from botfleet.observability import configure_logging

NUMBER = "353861112222"
# As Meta writes them: the number, then the message's own part, in base64.
WAMID = (
    "wamid." + base64.b64encode(f"\x18\x0c{NUMBER}\x15\x02\x00\x12\x18 3EB0C7".encode()).decode()
)


@pytest.fixture
def logged(stdout: io.StringIO) -> io.StringIO:
    """Where botfleet's lines go, configured as a data plane configures them (conftest's
    `stdout` puts the set-up back)."""
    configure_logging("info", json=True, stream=stdout)
    return stdout


def test_a_whatsapp_message_id_is_logged_as_a_digest(logged: io.StringIO) -> None:
    assert NUMBER in base64.b64decode(WAMID.removeprefix("wamid.")).decode()  # the premise
    log = structlog.get_logger("botfleet.test")
    log.info("whatsapp_duplicate_ignored", message_id=WAMID)
    log.warning("whatsapp_undeliverable", message_id=WAMID, contact="5ed3d90e59d5")
    log.info("turn_done", message_id="web-7f3a")  # a web chat's own id: as it is

    lines = [json.loads(line) for line in logged.getvalue().splitlines()]
    first, second, web = (line["message_id"] for line in lines)
    assert first == second  # lines about one message still meet
    assert first.startswith("wamid#") and len(first) == len("wamid#") + 16
    assert web == "web-7f3a"
    assert WAMID not in logged.getvalue()
    assert WAMID.removeprefix("wamid.")[:12] not in logged.getvalue()


def test_a_whatsapp_message_id_quoted_in_an_error_text_is_a_digest_too(
    logged: io.StringIO,
) -> None:
    log = structlog.get_logger("botfleet.test")
    log.error("turn_failed", detail=f"message {WAMID} of another contact", message_id=WAMID)
    (line,) = [json.loads(text) for text in logged.getvalue().splitlines()]
    assert WAMID not in logged.getvalue()
    assert line["detail"] == f"message {line['message_id']} of another contact"
