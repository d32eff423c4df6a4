"""WhatsApp webhook payloads (fixtures in Meta's documented shapes) -> typed messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.adapters.channels.whatsapp.parse import parse_webhook
from botfleet.domain.messages import OPTION_MENU, MessageType

FIXTURES = Path(__file__).parents[3] / "fixtures" / "whatsapp"
PHONE_NUMBER_ID = "106540352242922"
RECEIVED = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
SENT_AT = datetime.fromtimestamp(1749416383, UTC)


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def only_message(name: str) -> Any:
    batch = parse_webhook(load(name), phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED)
    assert batch.statuses == ()
    (message,) = batch.messages
    assert message.contact_id == "16505551234"
    assert message.contact_name == "Sheena Nelson"
    assert message.timestamp == SENT_AT
    assert message.message_id.startswith("wamid.")
    return message


REPLY_TO = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJBRkM0MzI2NkY2QjhGMkNCRTIA"

# fixture -> (type, text, payload, extra entries that must be present)
CASES: dict[str, tuple[MessageType, str, str, dict[str, Any]]] = {
    "text": (MessageType.TEXT, "Hola, quiero pedir cita", "", {}),
    "interactive_button_reply": (
        MessageType.BUTTON_REPLY,
        "Book appointment",
        "menu_book",
        {"reply_to": REPLY_TO},
    ),
    "interactive_list_reply": (
        MessageType.LIST_REPLY,
        "Tue 7 May",
        "day_2024-05-07",
        {"description": "8 free slots", "reply_to": REPLY_TO},
    ),
    "template_quick_reply": (
        MessageType.BUTTON_REPLY,
        "Yes, I'll be there",
        "confirm_yes",
        {"reply_to": REPLY_TO},
    ),
    "image": (
        MessageType.IMAGE,
        "This haircut please",
        "",
        {"media_id": "1003383421387256", "mime_type": "image/jpeg", "media_kind": "image"},
    ),
    "sticker": (
        MessageType.IMAGE,
        "",
        "",
        {"media_id": "3625939284354236", "mime_type": "image/webp", "media_kind": "sticker"},
    ),
    "audio": (
        MessageType.AUDIO,
        "",
        "",
        {"media_id": "1097467238416466", "voice": True, "media_kind": "audio"},
    ),
    "video": (MessageType.VIDEO, "The salon entrance", "", {"media_id": "1184868196440307"}),
    "document": (
        MessageType.DOCUMENT,
        "My voucher",
        "",
        {"filename": "voucher.pdf", "mime_type": "application/pdf"},
    ),
    "location": (
        MessageType.LOCATION,
        "Puerta del Sol — Calle Mayor 1, Madrid",
        "",
        {"latitude": 40.4168, "longitude": -3.7038, "name": "Puerta del Sol"},
    ),
    "contacts": (
        MessageType.CONTACTS,
        "Ana García",
        "",
        {"contacts": [{"name": "Ana García", "phones": ["+34 600 000 000"]}]},
    ),
    "reaction": (
        MessageType.REACTION,
        "👍",
        "",
        {"emoji": "👍", "reacted_message_id": REPLY_TO},
    ),
    "unsupported": (
        MessageType.UNSUPPORTED,
        "",
        "",
        {"provider_type": "unsupported", "error_codes": [131051], "unsupported_type": "poll"},
    ),
    "order": (MessageType.UNSUPPORTED, "", "", {"provider_type": "order"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_message_type_becomes_a_typed_message(name: str) -> None:
    kind, text, payload, extra = CASES[name]
    message = only_message(name)
    assert (message.type, message.text, message.payload) == (kind, text, payload)
    assert extra.items() <= message.extra.items()
    json.dumps(message.extra)  # the journal stores it as JSON


def test_every_message_fixture_has_a_case() -> None:
    messages = {
        p.stem
        for p in FIXTURES.glob("*.json")
        if not p.stem.startswith(("api_", "status_", "template_status"))
    }
    # change_errors: errors of a whole change, no message (test_whatsapp_change_errors.py)
    skipped = {"system", "unsupported_edit", "edit", "revoke"}
    assert messages - skipped - {"change_errors"} == set(CASES)


def test_a_system_notice_is_not_a_message_to_answer() -> None:
    batch = parse_webhook(load("system"), phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED)
    assert batch.messages == ()
    assert batch.skipped == 1


def with_unsupported(unsupported: object, code: int = 131051) -> Any:
    payload = load("unsupported")
    raw = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    raw["errors"][0]["code"] = code
    if unsupported is None:
        del raw["unsupported"]
    else:
        raw["unsupported"] = unsupported
    return payload


@pytest.mark.parametrize("kind", ["edit", "revoke", "pin", "keep_in_chat", "poll_update"])
def test_an_action_on_an_earlier_message_is_not_a_message_to_answer(kind: str) -> None:
    payload = load("unsupported_edit") if kind == "edit" else with_unsupported({"type": kind})
    batch = parse_webhook(payload, phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED)
    assert batch.messages == ()
    assert (batch.skipped, batch.notes) == (1, (f"message:unsupported.{kind}",))


@pytest.mark.parametrize("kind", ["edit", "revoke"])
def test_an_edit_or_deletion_sent_as_its_own_type_is_not_a_message_to_answer(kind: str) -> None:
    """A number also used in the WhatsApp Business app gets `edit` and `revoke` messages
    instead of `unsupported` ones: the contact wrote nothing new."""
    batch = parse_webhook(load(kind), phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED)
    assert batch.messages == ()
    assert (batch.skipped, batch.notes) == (1, (f"message:{kind}",))


@pytest.mark.parametrize(
    ("unsupported", "code", "kind"),
    [
        ({"type": "poll_creation"}, 131051, "poll_creation"),
        ({"type": "gif"}, 131051, "gif"),
        ({"type": "media_placeholder"}, 131051, "media_placeholder"),
        (None, 131051, None),  # older payloads name no type
        (None, 131060, None),  # "This message is currently unavailable" (coexistence)
        ({"type": ["edit"]}, 131051, None),  # not a string: nothing to go by
    ],
)
def test_something_the_contact_sent_that_cannot_be_read_still_reaches_the_flow(
    unsupported: object, code: int, kind: str | None
) -> None:
    batch = parse_webhook(
        with_unsupported(unsupported, code), phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED
    )
    (message,) = batch.messages
    assert message.type is MessageType.UNSUPPORTED
    assert message.extra["error_codes"] == [code]
    assert message.extra.get("unsupported_type") == kind


@pytest.mark.parametrize("status", ["sent", "delivered", "read", "failed"])
def test_status_callbacks_are_parsed(status: str) -> None:
    batch = parse_webhook(
        load(f"status_{status}"), phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED
    )
    assert batch.messages == ()
    (update,) = batch.statuses
    assert update.status == status
    assert update.recipient_id == "16505551234"
    assert update.timestamp == datetime.fromtimestamp(1749416400, UTC)
    if status == "failed":
        (error,) = update.errors
        assert error.code == 131047
        assert "24 hours" in error.details
    else:
        assert update.errors == ()


@pytest.mark.parametrize(
    ("ids", "recipient"),
    [
        ({"recipient_user_id": "US.13491208655302741918"}, "US.13491208655302741918"),
        ({"recipient_id": "16505551234", "recipient_user_id": "US.1349"}, "16505551234"),
    ],
)
def test_a_status_names_its_recipient_as_the_contact_is_named(
    ids: dict[str, str], recipient: str
) -> None:
    """A user who shares no phone number is the contact by their business-scoped user id; a
    status of a message sent to them names them by it too (the phone number when both come)."""
    payload = load("status_failed")
    raw = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    del raw["recipient_id"]
    raw.update(ids)
    batch = parse_webhook(payload, phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED)
    (update,) = batch.statuses
    assert update.recipient_id == recipient


def test_other_webhook_fields_are_skipped() -> None:
    batch = parse_webhook(
        load("template_status_update"), phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED
    )
    assert (batch.messages, batch.statuses) == ((), ())
    assert batch.notes == ("field:message_template_status_update",)


def test_messages_for_another_phone_number_are_skipped() -> None:
    batch = parse_webhook(load("text"), phone_number_id="999", received_at=RECEIVED)
    assert batch.messages == ()
    assert batch.skipped == 1
    # The id Meta delivered for is named: a binding with a wrong `phone_number_id` skips every
    # message, and the log line is where the operator finds the right one.
    assert batch.notes == (f"other_phone_number:{PHONE_NUMBER_ID}",)


def test_a_batch_with_several_messages_keeps_their_order() -> None:
    payload = load("text")
    value = payload["entry"][0]["changes"][0]["value"]
    first = value["messages"][0]
    second = {**first, "id": "wamid.second", "text": {"body": "¿Hay hueco mañana?"}}
    value["messages"] = [first, second]
    batch = parse_webhook(payload, phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED)
    assert [m.text for m in batch.messages] == ["Hola, quiero pedir cita", "¿Hay hueco mañana?"]


def test_a_message_without_a_usable_timestamp_gets_the_receive_time() -> None:
    payload = load("text")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = "soon"
    (message,) = parse_webhook(
        payload, phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED
    ).messages
    assert message.timestamp == RECEIVED


def test_an_option_sent_by_position_comes_back_as_the_typed_number() -> None:
    payload = load("interactive_button_reply")
    reply = payload["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]
    reply["button_reply"]["id"] = "#opt2"
    (message,) = parse_webhook(
        payload, phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED
    ).messages
    assert (message.type, message.text, message.payload) == (MessageType.TEXT, "2", "")
    assert OPTION_MENU not in message.extra  # sent before fingerprints: the last menu's option


@pytest.mark.parametrize("kind", ["button_reply", "list_reply"])
def test_an_option_sent_by_position_carries_its_menu_s_fingerprint(kind: str) -> None:
    payload = load("interactive_button_reply")
    interactive = payload["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]
    interactive["type"] = kind
    interactive[kind] = {"id": "#opt3.0a1b2c3d4e", "title": "11:00"}
    (message,) = parse_webhook(
        payload, phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED
    ).messages
    assert (message.type, message.text, message.payload) == (MessageType.TEXT, "3", "")
    assert (message.extra["option_title"], message.extra[OPTION_MENU]) == ("11:00", "0a1b2c3d4e")


@pytest.mark.parametrize(
    ("mutation", "note"),
    [
        (lambda m: m.pop("id"), "message:text:no_id"),
        (lambda m: m.update({"from": ""}), "message:text:no_from"),
        (lambda m: m.update({"from": "3460011\n1222"}), "message:text:bad_from"),
        (lambda m: m.update({"from": "3" * 5000}), "message:text:bad_from"),
        (lambda m: m.update({"id": 42}), "message:text:no_id"),
        (lambda m: m.update({"id": "x" * 300}), "message:text:bad_id"),
    ],
)
def test_messages_without_an_id_or_sender_are_skipped_naming_the_fault(
    mutation: Any, note: str
) -> None:
    payload = load("text")
    mutation(payload["entry"][0]["changes"][0]["value"]["messages"][0])
    batch = parse_webhook(payload, phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED)
    assert batch.messages == ()
    assert (batch.skipped, batch.notes) == (1, (note,))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)


@given(JSON)
def test_arbitrary_json_never_raises_and_gives_no_message(payload: object) -> None:
    batch = parse_webhook(payload, phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED)
    assert batch.messages == ()


@given(
    st.dictionaries(
        st.sampled_from(["id", "from", "type", "timestamp", "text", "interactive", "context"]),
        JSON,
    )
)
def test_arbitrary_message_items_never_raise(item: dict[str, Any]) -> None:
    payload = load("text")
    payload["entry"][0]["changes"][0]["value"]["messages"] = [item]
    batch = parse_webhook(payload, phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED)
    for message in batch.messages:
        json.dumps(message.extra)
        assert message.message_id == item["id"]
