"""`send_template`'s header variable, quick-reply payloads and titles, and URL button: what
the schema refuses, what the validator refuses or warns about, and where."""

from __future__ import annotations

from textwrap import dedent, indent

import pytest

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.load import load_flow_text

ACTION = "states.MENU.on_enter[0]"


def issues_of_template(fields: str) -> list[FlowIssue]:
    """The issues of a flow whose MENU sends a template with `fields` (YAML, at column 0), the
    quick replies `yes_*`/`no_*` being answered by a global transition."""
    action = indent(
        "- action: send_template\n  name: reminder\n" + indent(dedent(fields), "  "), "      "
    )
    text = (
        "id: t\ninitial_state: MENU\n"
        "global_transitions:\n  - {on_payload_prefix: 'yes_', target: MENU}\n"
        "  - {on_payload_prefix: 'no_', target: MENU}\n"
        "states:\n  MENU:\n    fallback: MENU\n    on_enter:\n" + action
    )
    try:
        return list(load_flow_text(text, "t.yaml").warnings)
    except FlowValidationError as exc:
        return list(exc.issues)


def found(fields: str, severity: str) -> list[tuple[str, str]]:
    return [(i.path, i.message) for i in issues_of_template(fields) if i.severity == severity]


def test_a_reminder_with_every_new_field_is_valid() -> None:
    fields = """
    language: es
    header_param: "{{ data.service }}"
    params: ["{{ data.time }}"]
    button_payloads: ["yes_{{ data.event }}", "no_{{ data.event }}"]
    button_titles: [Confirmar, Cancelar]
    url_button: {suffix: "{{ data.event }}"}
    fallback_text: Recordatorio
    """
    assert issues_of_template(fields) == []


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        (
            'button_payloads: ["yes_1", ""]',
            f"{ACTION}.button_payloads[1]",
            "an empty payload: WhatsApp refuses it, and with it the whole template; write null "
            "to send that button without a payload",
        ),
        (
            f'button_payloads: ["yes_{"x" * 253}"]',
            f"{ACTION}.button_payloads[0]",
            "257 characters: a quick reply's payload is kept to 256 (WhatsApp's limit for a "
            "reply button's id)",
        ),
        (
            "button_payloads: [yes_1, no_1, yes_1]",
            f"{ACTION}.button_payloads[2]",
            "duplicate quick-reply payload 'yes_1' (already used by button_payloads[0]): a "
            "press carries only the payload",
        ),
        (
            "button_payloads: [yes_1, null]\nbutton_titles: [Confirm, Later]",
            f"{ACTION}.button_titles[1]",
            "a title for no quick reply: button_payloads[1] is null, and a title is shown only "
            "on a button that sends a payload",
        ),
        (
            "button_payloads: [yes_1]\nbutton_titles: [Confirm, Cancel]",
            f"{ACTION}.button_titles[1]",
            "a title for no quick reply: button_payloads[1] is not given, and a title is shown "
            "only on a button that sends a payload",
        ),
        (
            "button_payloads: [yes_1, no_1]\nurl_button: {index: 1, suffix: b}",
            f"{ACTION}.url_button.index",
            "button 1 is a quick reply (button_payloads[1]): a button is either; write null at "
            "button_payloads[1] if button 1 is the URL button",
        ),
        (
            "button_payloads: [" + ", ".join(f"yes_{i}" for i in range(10)) + "]\n"
            "url_button: {suffix: b}",
            f"{ACTION}.url_button.index",
            "no button 10: a template has at most 10 buttons (0 to 9), and 10 are quick "
            "replies; give the URL button's `index`",
        ),
        (
            'url_button: {suffix: " "}',
            f"{ACTION}.url_button.suffix",
            "an empty suffix: leave url_button out for a URL without a variable",
        ),
        (
            f"url_button: {{suffix: {'u' * 2001}}}",
            f"{ACTION}.url_button.suffix",
            "2001 characters: a WhatsApp template's URL holds at most 2000, the suffix included",
        ),
    ],
    ids=[
        "empty-payload",
        "long-payload",
        "repeated-payload",
        "title-of-null",
        "title-of-nothing",
        "url-on-a-quick-reply",
        "url-past-ten",
        "empty-suffix",
        "long-suffix",
    ],
)
def test_a_bad_template_button_is_an_error(fields: str, path: str, message: str) -> None:
    assert found(fields, "error") == [(path, message)]


def test_payloads_written_as_templates_are_not_measured_or_compared() -> None:
    # Only known once rendered; the engine leaves out an empty or repeated one with a warning.
    fields = 'button_payloads: ["{{ data.a }}", "{{ data.a }}", "{{ \'x\' * 300 }}"]'
    assert found(fields, "error") == []


def test_a_payload_at_the_limit_is_accepted() -> None:
    assert found(f'button_payloads: ["yes_{"x" * 252}"]', "error") == []


def test_more_than_ten_quick_replies_are_refused_by_the_schema() -> None:
    fields = "button_payloads: [" + ", ".join(f"yes_{i}" for i in range(11)) + "]"
    [(path, message)] = found(fields, "error")
    assert path == f"{ACTION}.button_payloads"
    assert "at most 10" in message


def test_a_url_button_index_past_nine_is_refused_by_the_schema() -> None:
    [(path, _)] = found("url_button: {index: 10, suffix: b}", "error")
    assert path == f"{ACTION}.url_button.index"


def test_a_long_literal_header_value_is_a_warning_saying_what_is_sent() -> None:
    header = "Limpieza dental con revisión completa y fluorización incluidas."
    assert len(header) == 63
    assert found(f"header_param: {header}", "warning") == [
        (
            f"{ACTION}.header_param",
            "63 characters: a WhatsApp template's header holds at most 60, so it gets "
            "'Limpieza dental con revisión completa y fluorización inclui…'",
        )
    ]


def test_a_quick_reply_no_transition_matches_is_a_warning() -> None:
    warnings = found("button_payloads: [yes_1, maybe]", "warning")
    assert warnings == [
        (
            f"{ACTION}.button_payloads[1]",
            "quick reply 'maybe' is matched by no transition of 'MENU' nor by a global "
            "transition: a tap on it goes to its fallback 'MENU'",
        )
    ]
