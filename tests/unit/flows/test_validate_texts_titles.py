"""Menu titles read from `texts` (`{{ texts.menu.hours }}`, as the docs recommend) are measured
in each language: a German title too long for a button went out cut, unwarned, since a
template's length is only known once rendered."""

from __future__ import annotations

import pytest

from botfleet.flows import _content_checks
from botfleet.flows.load import load_flow_text

FLOW = """\
id: t
initial_state: MENU
texts:
  de:
    menu:
      hours: "Öffnungszeiten und Anfahrtsbeschreibung"
      book: Termin
      own: "{{ contact.name }}"
    rows: {tyre: "Pickerl-Überprüfung (§57a) und Reifenwechsel"}
  en:
    menu: {hours: Opening hours, book: Book}
    rows: {tyre: Inspection}
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: hi
        buttons:
          - {id: h, title: "{{ texts.menu.hours }}"}
          - {id: b, title: "{{ texts.menu.book }}"}
          - {id: o, title: "{{ texts.menu.own }}"}
      - action: send_interactive_list
        body: hi
        sections:
          - title: Services
            rows:
              - {id: t, title: "{{- texts.rows.tyre -}}"}
              - {id: l, title: A literal row title well over twenty four}
    transitions:
      - {on_type: button, target: MENU}
      - {on_type: list, target: MENU}
    fallback: MENU
"""


def _warnings() -> list[tuple[int | None, str, str]]:
    result = load_flow_text(FLOW, "t.yaml")
    return [(w.line, w.path, w.message) for w in result.warnings]


def test_a_title_too_long_in_one_language_is_said_naming_it() -> None:
    told = [(path, message) for _, path, message in _warnings() if "(from texts." in message]
    assert told == [
        (
            "states.MENU.on_enter[0].buttons",
            "in de (from texts.de): a title of 39 characters: WhatsApp shows at most 20 on a "
            "button, so it gets these buttons as a list (one button that opens the choices), "
            "each title shown whole (a row shows 24, the rest under it); keep titles to 20 "
            "characters for buttons",
        ),
        (
            "states.MENU.on_enter[1].sections[0].rows[0].title",
            "in de (from texts.de): 44 characters: WhatsApp shows at most 24, so it gets "
            "'Pickerl-Überprüfung (§5…'",
        ),
    ]


def test_a_literal_title_is_said_once_not_again_per_language() -> None:
    literal = [m for _, p, m in _warnings() if p.endswith("rows[1].title")]
    assert literal == [
        "41 characters: WhatsApp shows at most 24, so it gets 'A literal row title wel…'"
    ]


def test_the_language_copies_checked_are_bounded_per_flow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A hostile upload of many menus in many languages took minutes of the control plane's
    CPU: past a budget of options, later menus are measured as written only, and it says so."""
    monkeypatch.setattr(_content_checks, "MAX_LANGUAGE_OPTIONS", 4)
    result = load_flow_text(FLOW, "t.yaml")
    told = [w for w in result.warnings if w.path == "texts"]
    assert len(told) == 1
    assert "for the first 4 options in all" in told[0].message
    # The first menu's German copy (3 buttons) was measured; the list's was not.
    measured = [w.path for w in result.warnings if "(from texts." in w.message]
    assert measured == ["states.MENU.on_enter[0].buttons"]
