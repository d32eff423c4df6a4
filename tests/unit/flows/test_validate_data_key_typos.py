"""A template reading `data.<key>` that no part of the flow sets, a typo away from a key that is
set (`data.plaet` for `plate`), is a warning with the fix; a key set somewhere, the engine's
own, or one with no near match (set by a conversation test's `data:`, perhaps) is not."""

from __future__ import annotations

from botfleet.flows.load import load_flow_text

FLOW = """\
id: garage
initial_state: ASK
states:
  ASK:
    on_enter:
      - {action: send_text, text: "Plate?"}
    transitions:
      - set_data: {plate: "{{ message.text }}"}
        target: LOOKUP
    fallback: ASK
  LOOKUP:
    on_enter:
      - action: invoke_connector
        connector: notification
        operation: send
        params: {plate: "{{ data.plate }}"}
        result_key: repair.status
      - {action: send_text, text: "TEXT"}
    fallback: ASK
"""


def warnings(text: str) -> list[str]:
    spec = load_flow_text(FLOW.replace("TEXT", text), "garage.yaml")
    return [w.message for w in spec.warnings if w.message.startswith("data.")]


def test_a_key_a_typo_away_from_one_the_flow_sets_is_named_with_the_fix() -> None:
    assert warnings("{{ data.plaet }} / {{ data['plat'] }}") == [
        "data.plaet: no part of this flow sets 'plaet' (did you mean 'plate'?); it is a missing "
        "value each turn (no set_data, result_key, extract_suffix_as or task data writes it)",
        "data.plat: no part of this flow sets 'plat' (did you mean 'plate'?); it is a missing "
        "value each turn (no set_data, result_key, extract_suffix_as or task data writes it)",
    ]


def test_keys_the_flow_or_the_engine_sets_are_not_warned_about() -> None:
    text = "{{ data.plate }} {{ data.repair.status }} {{ data.contact_name }} {{ data.today }}"
    assert warnings(text) == []


def test_a_key_with_no_near_match_is_left_alone() -> None:
    assert warnings("{{ data.preset_by_a_test | default('') }}") == []


def test_a_typo_of_the_engines_own_key() -> None:
    (message,) = warnings("Hi {{ data.contact_nme }}")
    assert "(did you mean 'contact_name'?)" in message
