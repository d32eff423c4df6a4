"""`validate` warns of a word compared with `contact.channel` that no channel is: the kinds
are few (webchat, whatsapp, telegram), so `'web_chat'` is a typo the flow would never see."""

from __future__ import annotations

import pytest

from botfleet.flows.load import load_flow_text

FLOW = """\
id: words_v1
initial_state: START
states:
  START:
    on_enter:
      - action: send_text
        text: "{text}"
    transitions:
      - condition: "{condition}"
        target: START
    fallback: START
"""


def warnings(text: str = "hi", condition: str = "true") -> list[str]:
    flow = load_flow_text(FLOW.format(text=text, condition=condition), "f.yaml")
    return [str(w) for w in flow.warnings if "contact.channel" in w.message]


@pytest.mark.parametrize(
    ("text", "condition", "word"),
    [
        ("{% if contact.channel == 'web_chat' %}phone?{% endif %}", "true", "web_chat"),
        ("hi", "contact.channel != 'whatsap'", "whatsap"),
        ("hi", "'Telegram' == contact.channel", "Telegram"),
        ("hi", "contact.channel in ['webchat', 'sms']", "sms"),
    ],
    ids=["template-eq", "condition-ne", "reversed", "in-list"],
)
def test_a_word_no_channel_is_warned_of(text: str, condition: str, word: str) -> None:
    [warning] = warnings(text, condition)
    assert f"compares contact.channel with '{word}', which no channel is" in warning
    assert "webchat, whatsapp, telegram" in warning


def test_a_typo_gets_the_kind_meant() -> None:
    [warning] = warnings(condition="contact.channel == 'web_chat'")
    assert "(did you mean 'webchat'?)" in warning
    assert warning.startswith("f.yaml:9 states.START.transitions[0].condition:")


def test_the_kinds_and_other_reads_are_left_alone() -> None:
    assert warnings("{{ contact.channel }}", "contact.channel in ['webchat', 'telegram']") == []
    assert warnings(condition="contact.name == 'web_chat' or data.channel == 'sms'") == []
