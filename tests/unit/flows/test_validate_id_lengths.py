"""Literal option ids longer than the tenant's channel carries as they are get a warning: the
adapter sends such an option by its position (`#opt<n>.<fingerprint>`, `option_ids`), which
picks it only while its menu is the last one shown.

WhatsApp: 256 characters for a reply button's id, 200 for a list row's (buttons that go out as a
list are rows). Telegram: 64 bytes of `callback_data`, for its buttons, rows and a template's
quick replies (buttons of its fallback text there). The web chat: none. A template's own
payloads on WhatsApp are kept to 256 characters (an error, `_send_template_checks`).
"""

from __future__ import annotations

import pytest

from botfleet.adapters.channels.limits import declared_channel_limits
from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.channel_limits import ChannelLimits
from botfleet.flows.load import load_flow_text
from botfleet.flows.schema import SendButtons, SendList

SOURCE = "flows/x.yaml"
TELEGRAM = declared_channel_limits("telegram")
WEBCHAT = declared_channel_limits("webchat")
WHATSAPP = declared_channel_limits("whatsapp")
BUTTONS = "states.MENU.on_enter[0].buttons"
ROWS = "states.MENU.on_enter[0].sections[0].rows"
PAYLOADS = "states.MENU.on_enter[0].button_payloads"


def flow(action: str) -> str:
    """One state sending `action` (YAML lines at 6 spaces), answering every tap."""
    return (
        "id: x\ninitial_state: MENU\nstates:\n  MENU:\n    on_enter:\n"
        f"{action}"
        "    transitions: [{target: MENU}]\n"
    )


def buttons(*ids: str, title: str | None = None) -> str:
    """Buttons titled `Option <n>`, or all `title`."""
    lines = "".join(
        f"          - {{id: '{option_id}', title: '{title or f'Option {n}'}'}}\n"
        for n, option_id in enumerate(ids)
    )
    return flow(
        f"      - action: send_interactive_buttons\n        body: Pick\n        buttons:\n{lines}"
    )


def rows(*ids: str) -> str:
    lines = "".join(
        f"              - {{id: '{option_id}', title: 'Row {n}'}}\n"
        for n, option_id in enumerate(ids)
    )
    return flow(
        "      - action: send_interactive_list\n        body: Pick\n        button_label: Days\n"
        f"        sections:\n          - title: Days\n            rows:\n{lines}"
    )


def template(*payloads: str) -> str:
    quoted = ", ".join(f"'{p}'" for p in payloads)
    return flow(
        "      - action: send_template\n        name: reminder\n"
        f"        fallback_text: Coming?\n        button_payloads: [{quoted}]\n"
    )


def issues(text: str, channel: ChannelLimits | None) -> list[FlowIssue]:
    return list(load_flow_text(text, SOURCE, channel=channel).warnings)


def id_warnings(text: str, channel: ChannelLimits | None) -> dict[str, str]:
    """path -> message of the warnings about an id sent by position."""
    return {i.path: i.message for i in issues(text, channel) if "by its position" in i.message}


@pytest.mark.parametrize("channel", [None, WHATSAPP], ids=["flow alone", "whatsapp tenant"])
def test_a_whatsapp_button_id_over_256_characters(channel: ChannelLimits | None) -> None:
    text = buttons("a", "b" * 257)
    (issue,) = [i for i in issues(text, channel) if "by its position" in i.message]
    assert str(issue) == (
        f"{SOURCE}:10 {BUTTONS}[1].id: [warning] 257 characters: a press on WhatsApp carries at "
        "most 256 characters of a reply button's id, so it sends this one by its position "
        "instead (`#opt<n>.<fingerprint>`), which picks it from the menu shown last only (a "
        "press of an older menu goes to the state's fallback, else settings.error_text); an id "
        "of at most 256 characters is sent as it is"
    )
    assert issues(buttons("a", "b" * 256), channel) == []


def test_a_whatsapp_list_row_id_over_200_characters() -> None:
    found = id_warnings(rows("a", "r" * 201), WHATSAPP)
    assert list(found) == [f"{ROWS}[1].id"]
    assert found[f"{ROWS}[1].id"].startswith(
        "201 characters: a press on WhatsApp carries at most 200 characters of a list row's id,"
    )
    assert issues(rows("a", "r" * 200), WHATSAPP) == []


def test_buttons_sent_as_a_list_on_whatsapp_are_held_to_a_rows_200() -> None:
    four = ("a", "b", "c", "d" * 201)
    found = id_warnings(buttons(*four), None)
    assert found[f"{BUTTONS}[3].id"].startswith(
        "201 characters: a press on WhatsApp carries at most 200 characters of a list row's id "
        "(these 4 buttons go out as a list there), so it sends"
    )
    assert id_warnings(buttons("a", "b", "c", "d" * 200), None) == {}
    # Two titles that read the same go out as a list too.
    assert list(id_warnings(buttons("a", "b" * 201, title="Same"), None)) == [f"{BUTTONS}[1].id"]
    assert id_warnings(buttons("a", "b" * 201), None) == {}  # buttons: 256


def test_options_sent_as_numbered_text_send_no_id() -> None:
    eleven = [f"o{n}" for n in range(10)] + ["x" * 300]
    assert id_warnings(buttons(*eleven), None) == {}
    assert id_warnings(rows(*eleven), None) == {}


def test_ids_written_as_templates_are_only_known_at_run_time() -> None:
    long = "{{ data.prefix }}" + "x" * 300
    assert id_warnings(buttons("a", long), None) == {}
    assert id_warnings(rows("a", long), None) == {}


def test_a_tasks_options_are_checked_too() -> None:
    text = buttons("a") + (
        "tasks:\n  survey:\n    - action: send_interactive_list\n      body: Rate us\n"
        "      sections:\n        - rows:\n            - {id: good, title: Good}\n"
        f"            - {{id: '{'v' * 201}', title: Bad}}\n"
    )
    assert list(id_warnings(text, None)) == ["tasks.survey[0].sections[0].rows[1].id"]


def test_a_web_chat_tenant_gets_none() -> None:
    assert id_warnings(buttons("a", "b" * 300), WEBCHAT) == {}
    assert id_warnings(rows("a", "r" * 300), WEBCHAT) == {}
    assert id_warnings(template("p" * 200), WEBCHAT) == {}


def test_telegram_buttons_get_its_64_bytes_only_not_whatsapps_limits() -> None:
    found = id_warnings(buttons("a", "b" * 257), TELEGRAM)
    assert list(found) == [f"{BUTTONS}[1].id"]
    assert found[f"{BUTTONS}[1].id"].startswith("257 bytes: a press on Telegram carries at most 64")


def test_telegram_options_sent_as_numbered_text_send_no_id() -> None:
    # Telegram shows 20 rows: 21 options go out as numbered text, with no id to carry.
    many = [f"o{n}" for n in range(20)] + ["x" * 65]
    assert id_warnings(buttons(*many), TELEGRAM) == {}
    assert id_warnings(rows(*many), TELEGRAM) == {}
    assert list(id_warnings(rows(*many[1:]), TELEGRAM)) == [f"{ROWS}[19].id"]


def test_a_template_quick_reply_over_64_bytes_on_telegram() -> None:
    # 33 "ñ" are 66 bytes in 33 characters: bytes are what Telegram counts.
    found = id_warnings(template("yes", "ñ" * 33), TELEGRAM)
    assert found == {
        f"{PAYLOADS}[1]": (
            "66 bytes: a press on Telegram carries at most 64 bytes of a button's id (a quick "
            "reply is a button of the template's fallback text there), so it sends this one by "
            "its position instead (`#opt<n>.<fingerprint>`), which picks it from the menu shown "
            "last only (a press of an older menu goes to the state's fallback, else "
            "settings.error_text); an id of at most 64 bytes is sent as it is"
        )
    }
    assert issues(template("yes", "ñ" * 32), TELEGRAM) == []


def test_whatsapp_templates_keep_their_own_256_character_payload_error() -> None:
    # On WhatsApp the payload goes in the template (no interactive id): no warning here.
    assert issues(template("p" * 256), None) == []
    assert id_warnings(template("p" * 200), None) == {}
    with pytest.raises(FlowValidationError, match="quick reply's payload is kept to 256"):
        load_flow_text(template("p" * 257), SOURCE)
    # Over 256 it is that error alone on Telegram too, not also a warning of its bytes.
    with pytest.raises(FlowValidationError) as raised:
        load_flow_text(template("p" * 257), SOURCE, channel=TELEGRAM)
    assert not [i for i in raised.value.issues if "by its position" in i.message]


def test_the_flow_helpers_build_what_they_say() -> None:
    spec = load_flow_text(buttons("a", "b"), SOURCE).spec
    assert isinstance(spec.states["MENU"].on_enter[0], SendButtons)
    spec = load_flow_text(rows("a"), SOURCE).spec
    assert isinstance(spec.states["MENU"].on_enter[0], SendList)
