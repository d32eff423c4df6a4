"""`botfleet chat`'s `:send TYPE ...`: the message types a flow matches with `on_type` besides
texts and presses (an image, a location, a reaction...), sent down the same path as a typed
text. A typed "👍" stays a text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import Invoke

from botfleet.cli.chat_sends import SendError, parse_send
from botfleet.domain.messages import MessageType
from botfleet.flows.schema import MESSAGE_TYPES

# Every type answers with what the flow saw: `message.type`, `message.text`, an `extra` key.
FLOW = """\
id: kinds_v1
initial_state: HOME
global_transitions:
  - on_type: reaction
    target: REACTED
  - on_type: location
    target: PLACED
  - on_type: contacts
    target: SHARED
  - on_type: image
    target: MEDIA
  - on_type: audio
    target: MEDIA
  - on_type: video
    target: MEDIA
  - on_type: document
    target: MEDIA
  - on_type: unsupported
    target: UNKNOWN
  - on_type: list
    target: LISTED
states:
  HOME:
    on_enter: [{action: send_text, text: "home: {{ message.type }} {{ message.text }}"}]
    fallback: HOME
  REACTED:
    on_enter: [{action: send_text, text: "reaction [{{ message.extra.emoji }}]"}]
    next: HOME_QUIET
  PLACED:
    on_enter:
      - action: send_text
        text: >-
          location {{ message.extra.latitude }},{{ message.extra.longitude }}
          [{{ message.text }}]
    next: HOME_QUIET
  SHARED:
    on_enter:
      - action: send_text
        text: "contact [{{ message.text }}] {{ message.extra.contacts[0].phones | join(',') }}"
    next: HOME_QUIET
  MEDIA:
    on_enter:
      - action: send_text
        text: "{{ message.type }} ({{ message.extra.media_kind }}) [{{ message.text }}]"
    next: HOME_QUIET
  UNKNOWN:
    on_enter: [{action: send_text, text: "unsupported {{ message.extra.provider_type }}"}]
    next: HOME_QUIET
  LISTED:
    on_enter: [{action: send_text, text: "list reply {{ message.payload }}"}]
    next: HOME_QUIET
  HOME_QUIET:
    fallback: HOME
"""


@pytest.fixture
def flow(write: Callable[[str, str], Path]) -> Path:
    return write("kinds.yaml", FLOW)


def test_each_message_type_reaches_the_flow(invoke: Invoke, flow: Path) -> None:
    script = (
        ":send image a cat\n"
        ":send audio\n"
        ":send video\n"
        ":send document invoice.pdf\n"
        ":send location 40.4168 -3.7038 Puerta del Sol\n"
        ":send reaction 👍\n"
        ":send reaction\n"
        ":send contacts Ana López +34600111222\n"
        ":send unsupported poll\n"
        ":send list row_7\n"
        ":send text :)\n"
        "👍\n"
    )
    result = invoke("chat", flow, input=script)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "you> :send image a cat\nbot> image (image) [a cat]\n" in out
    assert "you> :send audio\nbot> audio (audio) []\n" in out  # a voice note
    assert "you> :send video\nbot> video (video) []\n" in out
    assert "you> :send document invoice.pdf\nbot> document (document) [invoice.pdf]\n" in out
    assert "bot> location 40.4168,-3.7038 [Puerta del Sol]\n" in out
    assert "you> :send reaction 👍\nbot> reaction [👍]\n" in out
    assert "you> :send reaction\nbot> reaction []\n" in out  # a reaction taken back
    assert "bot> contact [Ana López] +34600111222\n" in out
    assert "you> :send unsupported poll\nbot> unsupported poll\n" in out
    assert "you> :send list row_7\nbot> list reply row_7\n" in out
    assert "you> :send text :)\nbot> home: text :)\n" in out  # a text that looks like a command
    # A typed emoji is a text, not a reaction.
    assert "you> 👍\nbot> home: text 👍\n" in out
    assert "unknown command" not in out
    assert result.stderr == ""


def test_a_wrong_type_or_arguments_are_said_and_the_chat_goes_on(
    invoke: Invoke, flow: Path
) -> None:
    script = (
        ":send\n"
        ":send imag\n"
        ":send location north 3\n"
        ":send location 91 0\n"
        ":send location 40.4\n"
        ":send reaction 👍 👎\n"
        ":send reaction yes\n"
        ":send contacts\n"
        ":send button\n"
        "hi\n"
    )
    result = invoke("chat", flow, input=script)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "you> :send\nusage: :send TYPE [...]" in out
    assert "you> :send imag\nerror: unknown message type 'imag' (did you mean 'image'?); " in out
    # Every name a flow's `on_type` takes, aliases beside their type, in the flow DSL's order.
    assert (
        "types: text, button_reply, button, list_reply, list, image, audio, video, document, "
        "location, reaction, contacts, unsupported\n"
    ) in out
    assert "error: latitude 'north' is not a number: :send location LAT LON [NAME]" in out
    assert "error: latitude '91' is not between -90 and 90" in out
    assert "error: a location needs a latitude and a longitude" in out
    assert "error: a reaction is one emoji, not '👍 👎'" in out
    assert "error: a reaction is an emoji, not 'yes'" in out
    assert "error: a shared contact needs a name: :send contacts NAME [PHONE]" in out
    assert "error: :send button ID: the id is missing" in out
    assert "unknown command" not in out
    assert "bot> reaction" not in out and "bot> location" not in out  # nothing was sent
    assert "you> hi\nbot> home: text hi\n" in out  # the chat goes on


def test_help_lists_the_send_command(invoke: Invoke, flow: Path) -> None:
    result = invoke("chat", flow, input=":help\n")
    assert "  :send TYPE ...    send another kind of message (what a flow" in result.stdout
    assert ":send location LAT LON [NAME]" in result.stdout
    assert ":send reaction [EMOJI]" in result.stdout


@pytest.mark.parametrize(
    ("argument", "kind", "text", "extra"),
    [
        ("image", MessageType.IMAGE, "", {"media_kind": "image"}),
        ("location 40.4 -3.7", MessageType.LOCATION, "", {"latitude": 40.4, "longitude": -3.7}),
        ("reaction ❤️", MessageType.REACTION, "❤️", {"emoji": "❤️", "reacted_message_id": ""}),
        (
            "contacts Ana",
            MessageType.CONTACTS,
            "Ana",
            {"contacts": [{"name": "Ana", "phones": []}]},
        ),
        ("button_reply menu_book", MessageType.BUTTON_REPLY, "", {}),
    ],
)
def test_send_arguments_are_shaped_as_the_channels_deliver_them(
    argument: str, kind: MessageType, text: str, extra: dict[str, object]
) -> None:
    sent = parse_send(argument)
    assert (sent.kind, sent.text, dict(sent.extra)) == (kind, text, extra)


def test_an_unknown_type_is_refused_with_a_suggestion() -> None:
    with pytest.raises(
        SendError, match=r"unknown message type 'locaton' \(did you mean 'location'"
    ):
        parse_send("locaton 1 2")


#: Arguments each kind of message takes (the others take none or a free text).
_ARGUMENTS = {
    MessageType.LOCATION: "40.4 -3.7",
    MessageType.REACTION: "👍",
    MessageType.CONTACTS: "Ana",
    MessageType.TEXT: "hi",
    MessageType.BUTTON_REPLY: "menu_book",
    MessageType.LIST_REPLY: "row_1",
}


@pytest.mark.parametrize("name", MESSAGE_TYPES)
def test_every_type_a_flow_matches_can_be_sent(name: str) -> None:
    # The flow DSL's list is the one `:send` takes: a type added to it cannot be left unsendable.
    kind = MessageType.parse(name)
    assert parse_send(f"{name} {_ARGUMENTS.get(kind, '')}").kind is kind
