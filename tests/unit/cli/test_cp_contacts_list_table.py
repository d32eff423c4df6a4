"""`botfleet cp contacts list`'s table (`conversations_table`): a contact id the control plane
withheld (null: a web chat visitor's, to a key below owner) reads as such, and a `next` cursor
from another server is shown quoted, never as terminal codes."""

from __future__ import annotations

from typing import Any

from botfleet.cli.commands.cp_contacts import HIDDEN_ID, conversations_table
from botfleet.control_plane.contact_models import ConversationListView


def _listed(*contacts: tuple[str | None, str], next_: str | None = None) -> ConversationListView:
    rows: list[dict[str, Any]] = [
        {
            "contact_id": contact,
            "contact_hash": "0a1b2c3d4e5f",
            "channel": channel,
            "state": "KNOWN",
            "created_at": "2024-05-06T07:04:00Z",
            "updated_at": "2024-05-06T07:05:00Z",
            "last_message_at": None,
        }
        for contact, channel in contacts
    ]
    return ConversationListView.model_validate(
        {"conversations": rows, "count": len(rows), "truncated": next_ is not None, "next": next_}
    )


def test_a_withheld_web_chat_id_reads_as_owner_only() -> None:
    table = conversations_table(_listed(("34600111222", "whatsapp"), (None, "webchat")), None)
    rows = table.splitlines()[2:-1]
    assert rows[0].startswith("34600111222")
    assert rows[1].startswith(HIDDEN_ID)
    assert "webchat" in rows[1]


def test_a_cursor_from_another_server_is_shown_quoted_never_as_terminal_codes() -> None:
    odd = "a b;\x1b[2J"
    table = conversations_table(_listed(("34600111222", "whatsapp"), next_=odd), None)
    assert table.splitlines()[-1].endswith("--before 'a b;\\x1b[2J'")
    assert "\x1b" not in table
