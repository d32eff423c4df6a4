"""`encode_reply`'s `seqs`: the seq `GET /messages` shows each reply under, and only where it
shows that very reply (as `sendable_output` gives an outbox row)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES
from botfleet.adapters.channels.webchat.replies import encode_reply, sendable_output
from botfleet.domain.outputs import Buttons, Option, Output, Text, output_to_dict
from botfleet.ports.channels import TurnResult

LONG_ID = "x" * 5000  # over what the page can send back: given by position
MENU = Buttons("Pick", (Option("a", "A"), Option(LONG_ID, "Long")))


def answer(outputs: tuple[Output, ...], seqs: tuple[int, ...] | None, **caps: Any) -> Any:
    capabilities = replace(WEBCHAT_CAPABILITIES, **caps)
    return json.loads(encode_reply(TurnResult("m1", outputs, seqs=seqs), capabilities))


def test_each_reply_carries_the_seq_messages_shows_it_under() -> None:
    outputs = (Text("hello"), MENU)
    found = answer(outputs, (7, 8))
    assert found["seqs"] == [7, 8]
    # `GET /messages` shows the stored rows so: the same replies under those seqs.
    assert found["replies"] == [sendable_output(output_to_dict(o)) for o in outputs]
    assert found["replies"][1]["buttons"][1]["id"].startswith("#opt2.")


def test_unknown_seqs_are_null_and_replies_unchanged() -> None:
    found = answer((Text("hello"),), None)
    assert found == {
        "message_id": "m1",
        "duplicate": False,
        "replies": [{"type": "text", "text": "hello"}],
        "seqs": None,
        "language": None,  # the flow chose none (`TurnResult.language`)
    }
    # Numbers that cannot be the outputs' (a store's mistake) are not given either.
    assert answer((Text("a"), Text("b")), (1,))["seqs"] is None


def test_a_reply_fitted_anew_has_no_seq_of_its_own() -> None:
    """Routes whose capabilities are narrower than the sender's: the stored text is split in
    the answer, and `GET /messages` shows it whole under its seq, so no part gets that seq;
    the outputs that fit as stored keep theirs."""
    long = Text("word " * 30)
    found = answer((Text("short"), long, Text("end")), (4, 5, 6), max_text=100)
    assert len(found["replies"]) == 4 and found["seqs"] == [4, None, None, 6]
    assert found["replies"][0] == {"type": "text", "text": "short"}
    assert found["replies"][-1] == {"type": "text", "text": "end"}
