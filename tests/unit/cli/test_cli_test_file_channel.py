"""A conversation test names the channel it is written for (`channel:`): it runs there whatever
`--channel` says, so one suite covers a tenant's channel and its more channels in one run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from botfleet.testing.conversation import run_conversation_test

Write = Callable[[str, str], Path]

FLOW = """\
id: phone_v1
initial_state: START
states:
  START:
    on_enter:
      - action: send_text
        text: >-
          {% if contact.channel == 'webchat' %}Your phone?{% else %}Hi {{ contact.id }}{% endif %}
    fallback: START
"""
TENANT = """\
tenant_id: shop
flow_path: flow.yaml
channel: {type: whatsapp, phone_number_id: "1"}
more_channels:
  - {type: webchat}
"""


def _test(channel: str | None) -> str:
    first = "" if channel is None else f"channel: {channel}\n"
    expected = "Your phone?" if channel == "webchat" else "Hi contact-1"
    return f"{first}tenant: tenant.yaml\nsteps:\n  - say: hi\n    expect: [text: '{expected}']\n"


def test_a_test_runs_on_the_channel_it_names(write: Write) -> None:
    write("flow.yaml", FLOW)
    write("tenant.yaml", TENANT)
    on_web = write("web.yaml", _test("webchat"))
    on_whatsapp = write("whatsapp.yaml", _test(None))
    for asked in (None, "telegram", "whatsapp"):
        web = asyncio.run(run_conversation_test(on_web, channel=asked))
        assert web.status == "passed", web.message
    mine = asyncio.run(run_conversation_test(on_whatsapp))
    assert mine.status == "passed", mine.message
    # Without `channel:`, `--channel` still decides.
    moved = asyncio.run(run_conversation_test(on_whatsapp, channel="webchat"))
    assert moved.status == "failed"


def test_an_unknown_channel_is_an_error_naming_the_key(write: Write) -> None:
    write("flow.yaml", FLOW)
    write("tenant.yaml", TENANT)
    bad = write("bad.yaml", _test("fax"))
    result = asyncio.run(run_conversation_test(bad))
    assert result.status == "error"
    assert "channel" in result.message and "fax" not in result.message.split("channel")[0]
