"""A transition's `set_data` runs before `extract_suffix_as` and the services' properties: a key
they write too is overwritten, which a walk-through's test found the hard way (a
`service_name` set in Spanish, shown in English)."""

from __future__ import annotations

from botfleet.flows.load import load_flow_text

FLOW = """\
id: t
initial_state: MENU
services:
  haircut: {name: Haircut, duration_min: 30}
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: hi
        buttons: [{id: svc_haircut, title: Haircut}]
    transitions:
      - on_payload_prefix: svc_
        extract_suffix_as: service
        set_data:
          service_name: Corte
          service: x
          chosen_at: "{{ now }}"
        target: MENU
      - on_payload_prefix: day_
        set_data: {service: kept}
        target: MENU
    fallback: MENU
"""


def test_a_key_the_suffix_or_a_service_writes_after_is_warned_about() -> None:
    told = [
        (w.line, w.path, w.message)
        for w in load_flow_text(FLOW, "t.yaml").warnings
        if "set_data runs first" in w.message
    ]
    assert [(line, path) for line, path, _ in told] == [
        (15, "states.MENU.transitions[0].set_data.service_name"),
        (16, "states.MENU.transitions[0].set_data.service"),
    ]
    assert "the service's property there when the suffix is a key of services" in told[0][2]
    assert "the payload's suffix there" in told[1][2]
