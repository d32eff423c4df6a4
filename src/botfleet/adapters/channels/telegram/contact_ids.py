"""Telegram contact ids: a chat, or one topic of a forum supergroup. Pure.

A contact id is the conversation's key (its state, its outbox, its reminders), and the sender
gets nothing else to address a reply with. A chat is its id (`111111111`, `-1001234567890`), as
it always was. A message in a forum topic (`is_topic_message`) belongs to `<chat id>:topic:<
message_thread_id>`: a topic is its own thread of talk, so it is its own conversation, and the
reply must carry the topic's `message_thread_id` or Telegram posts it in the General topic. The
General topic has no thread id in its messages: it stays the chat itself, so a group that turns
into a forum keeps its conversation there.
"""

from __future__ import annotations

from typing import Any

TOPIC = ":topic:"


def contact_of(chat_id: str, message: dict[str, Any]) -> str:
    """The contact a message of `chat_id` (or the message a button was under) belongs to.

    Only `is_topic_message` marks a forum topic: in a supergroup without topics a reply also
    carries a `message_thread_id` (the thread of replies), which is no place to send to.
    """
    thread = message.get("message_thread_id")
    if message.get("is_topic_message") is not True or not _is_thread_id(thread):
        return chat_id
    return f"{chat_id}{TOPIC}{thread}"


def chat_target(contact_id: str) -> dict[str, int | str]:
    """The `chat_id` (and `message_thread_id` of a topic) that address a reply to a contact."""
    chat, _, thread = contact_id.partition(TOPIC)
    target: dict[str, int | str] = {"chat_id": chat_id_value(chat)}
    if thread.isascii() and thread.isdigit():
        target["message_thread_id"] = int(thread)
    return target


def chat_id_value(chat_id: str) -> int | str:
    """Chat ids are integers; `@channelname` stays text."""
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


def _is_thread_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**53
