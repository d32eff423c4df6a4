"""Shared by the CLI tests (a module of its own: `conftest` names clash across test folders)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import Result

REPO = Path(__file__).resolve().parents[3]
DEMO_FLOW = REPO / "flows" / "peluqueria_flow.yaml"
DEMO_TENANT = REPO / "examples" / "tenants" / "demo.yaml"

#: A small flow with one of each kind of edge (its graph is checked as exact text).
TINY_FLOW = """\
id: tiny_v1
initial_state: MENU
global_transitions:
  - on_payload: home
    target: MENU
states:
  MENU:
    llm_fallback: true
    on_enter:
      - action: send_interactive_buttons
        body: "Pick one"
        buttons: [{id: go, title: Go}]
    transitions:
      - on_payload: go
        target: CHECK
      - on_payload_prefix: "item_"
        extract_suffix_as: item
        target: CHECK
      - on_type: image
        target: end
    fallback: MENU
  CHECK:
    on_enter:
      - action: invoke_connector
        connector: calendar
        operation: get_available_days
        result_key: days
        on_error: {text: "The calendar is down.", target: MENU}
    next:
      - condition: "data.days"
        target: end
      - target: MENU
  end:
    on_enter:
      - action: send_text
        text: "Bye {{ data.item }}"
    next: MENU
"""

Invoke = Callable[..., Result]
