"""`titles` and `descriptions` in a conversation test's `expect`: a menu's option titles and
their second lines, exactly and in order, as the test's channel shows them."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from botfleet.testing.conversation import ConversationResult, run_conversation_test

SLOTS_FLOW = """\
id: slots_v1
initial_state: PICK
states:
  PICK:
    on_enter:
      - action: send_dynamic_options
        source_key: slots
        text: "¿A qué hora?"
        description: >-
          {% if item.places_left is defined %}{{ item.places_left }}
          {{ 'mesa libre' if item.places_left == 1 else 'mesas libres' }}{% endif %}
  CONFIRM:
    on_enter:
      - action: send_interactive_buttons
        body: "¿Confirmamos?"
        buttons:
          - {id: ok, title: Sí, description: "la mesa queda reservada"}
          - {id: back, title: Atrás}
"""

SLOTS = (
    "[{id: t1400, title: '14:00', places_left: 3},"
    " {id: t1500, title: '15:00 en la terraza junto al mar', places_left: 1},"
    " {id: t1600, title: '16:00'}]"
)
TITLES = "['14:00', '15:00 en la terraza junto al mar', '16:00']"
CUT = "['14:00', '15:00 en la terraza jun…', '16:00']"  # WhatsApp: 24 characters
DESCRIPTIONS = "['3 mesas libres', '1 mesa libre', '']"


async def _run(
    tmp_path: Path, expect: str, channel: str | None = None, state: str = "PICK"
) -> ConversationResult:
    (tmp_path / "slots.yaml").write_text(SLOTS_FLOW, encoding="utf-8")
    test = f"""\
        flow: slots.yaml
        start: {{state: PICK, data: {{slots: {SLOTS}}}}}
        steps:
          - enter: {state}
            expect: [{expect}]
        """
    path = tmp_path / "case.yaml"
    path.write_text(dedent(test), encoding="utf-8")
    return await run_conversation_test(path, channel=channel)


async def test_titles_and_descriptions_that_hold_pass(tmp_path: Path) -> None:
    expect = f"{{type: list, titles: {TITLES}, descriptions: {DESCRIPTIONS}}}"
    result = await _run(tmp_path, expect)
    assert result.status == "passed", result.message


async def test_titles_that_differ_fail_naming_both_lists(tmp_path: Path) -> None:
    result = await _run(tmp_path, "{titles: ['14:00', '15:00', '16:00']}")
    assert result.status == "failed"
    assert (
        "output 1 titles: expected ['14:00', '15:00', '16:00'], "
        "got ['14:00', '15:00 en la terraza junto al mar', '16:00']"
    ) in result.message


async def test_descriptions_that_differ_fail_naming_both_lists(tmp_path: Path) -> None:
    # An option without a description is "": leaving it out is a difference.
    result = await _run(tmp_path, "{descriptions: ['3 mesas libres', '1 mesa libre']}")
    assert result.status == "failed"
    assert (
        "output 1 descriptions: expected ['3 mesas libres', '1 mesa libre'], "
        "got ['3 mesas libres', '1 mesa libre', '']"
    ) in result.message


async def test_titles_are_checked_as_the_channel_shows_them(tmp_path: Path) -> None:
    passed = await _run(tmp_path, f"{{titles: {CUT}}}", channel="whatsapp")
    assert passed.status == "passed", passed.message
    failed = await _run(tmp_path, f"{{titles: {TITLES}}}", channel="whatsapp")
    assert failed.status == "failed"
    assert f"output 1 titles: expected {TITLES}, got {CUT}" in failed.message


async def test_a_buttons_description_is_never_shown_so_it_is_empty(tmp_path: Path) -> None:
    shown = await _run(
        tmp_path, "{type: buttons, titles: [Sí, Atrás], descriptions: ['', '']}", state="CONFIRM"
    )
    assert shown.status == "passed", shown.message
    failed = await _run(
        tmp_path, "{descriptions: ['la mesa queda reservada', '']}", state="CONFIRM"
    )
    assert failed.status == "failed"
    assert "output 1 descriptions: expected ['la mesa queda reservada', ''], got ['', '']" in (
        failed.message
    )
