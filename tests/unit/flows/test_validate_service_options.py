"""An option of a menu of services whose id names no service: a walk-through added a row to
the demo's menu and not to `services`, and its bookings went out with no name nor price (a
`missing value` line at run time was all that said so)."""

from __future__ import annotations

from pathlib import Path

from botfleet.flows.load import load_flow_text

DEMO = Path(__file__).resolve().parents[3] / "flows" / "peluqueria_flow.yaml"
ROW = '              - {id: "service_beard", title: "Beard trim", description: "30 min · 10 €"}\n'


def _told(text: str) -> list[tuple[int | None, str, str]]:
    return [
        (w.line, w.path, w.message)
        for w in load_flow_text(text, "flow.yaml").warnings
        if "is no key of services" in w.message
    ]


def test_the_demo_flow_has_no_such_option() -> None:
    assert _told(DEMO.read_text(encoding="utf-8")) == []


def test_a_row_naming_no_service_is_warned_about_on_its_line() -> None:
    text = DEMO.read_text(encoding="utf-8")
    assert ROW in text
    added = ROW + ROW.replace("service_beard", "service_berd").replace("Beard", "Semi")
    ((line, path, message),) = _told(text.replace(ROW, added))
    assert line == text.splitlines().index(ROW.rstrip("\n")) + 2
    assert path.startswith("states.BOOK_SERVICE.on_enter[") and path.endswith(".id")
    assert message.startswith(
        "'service_berd': 'berd' is no key of services (did you mean 'beard'?), while the "
        "other options of 'service_' are"
    )


def test_a_prefix_that_names_no_service_at_all_is_no_menu_of_services() -> None:
    days = """\
id: t
initial_state: DAY
services:
  haircut: {name: Haircut, duration_min: 30}
states:
  DAY:
    on_enter:
      - action: send_interactive_buttons
        body: Which day?
        buttons: [{id: day_mon, title: Monday}, {id: day_tue, title: Tuesday}]
    transitions:
      - {on_payload_prefix: day_, extract_suffix_as: day, target: DAY}
    fallback: DAY
"""
    assert _told(days) == []
