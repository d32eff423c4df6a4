"""Bot API error answers -> log events that say what happened and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TelegramError:
    """A failed Bot API answer (`{"ok": false, "error_code", "description", "parameters"}`)."""

    status: int
    description: str = ""
    retry_after: float | None = None
    migrate_to_chat_id: int | None = None


@dataclass(frozen=True, slots=True)
class ErrorMeaning:
    event: str
    hint: str
    retryable: bool = False
    #: The chat cannot be reached now: skip the rest of this batch.
    stops_batch: bool = True


RATE_LIMITED = ErrorMeaning(
    "telegram_rate_limited", "Telegram asked us to slow down; retried after retry_after", True
)
SERVER_ERROR = ErrorMeaning("telegram_server_error", "a Telegram server error; retried", True)
UNKNOWN = ErrorMeaning("telegram_send_failed", "see the status and description")
BLOCKED_BY_USER = ErrorMeaning(
    "telegram_blocked_by_user",
    "the contact blocked the bot: nothing more is sent to them until they write or unblock it",
)
USER_DEACTIVATED = ErrorMeaning(
    "telegram_user_deactivated",
    "the contact's account is deleted: nothing more is sent to it",
)
KICKED = ErrorMeaning(
    "telegram_kicked",
    "the bot was removed from the group: nothing more is sent there until it is added again",
)
#: Answers saying the chat cannot be written to until its people do something (unblock the
#: bot, add it again): event -> why the chat is remembered as unreachable (`ChatMemory`).
UNREACHABLE_CHAT = {
    BLOCKED_BY_USER.event: "blocked",
    USER_DEACTIVATED.event: "deactivated",
    KICKED.event: "removed",
}
# Matched in order against the lower-cased description, per HTTP status.
_BY_DESCRIPTION: dict[int, tuple[tuple[str, ErrorMeaning], ...]] = {
    400: (
        ("chat not found", ErrorMeaning("telegram_chat_not_found", "the chat id is unknown")),
        (
            "message is too long",
            ErrorMeaning("telegram_message_too_long", "over 4096 characters", stops_batch=False),
        ),
        (
            "button_data_invalid",
            ErrorMeaning(
                "telegram_button_data_invalid", "callback_data over 64 bytes", stops_batch=False
            ),
        ),
        # A forum topic that was deleted or closed since the contact wrote in it: every
        # message of the batch would fail the same way.
        (
            "message thread not found",
            ErrorMeaning("telegram_topic_not_found", "the forum topic was deleted"),
        ),
        ("topic_deleted", ErrorMeaning("telegram_topic_not_found", "the forum topic was deleted")),
        (
            "topic_closed",
            ErrorMeaning("telegram_topic_closed", "the forum topic is closed: reopen it"),
        ),
        (
            "rights to send",
            ErrorMeaning(
                "telegram_no_rights", "the group's admins do not let the bot send messages"
            ),
        ),
    ),
    403: (
        ("blocked by the user", BLOCKED_BY_USER),
        ("deactivated", USER_DEACTIVATED),
        ("kicked", KICKED),
        # The bot left, or was removed while `my_chat_member` was not in allowed_updates.
        ("not a member", KICKED),
    ),
}
_BY_STATUS = {
    400: ErrorMeaning("telegram_bad_request", "Telegram rejected the request", stops_batch=False),
    401: ErrorMeaning(
        "telegram_token_invalid", "the bot token is wrong or was revoked: ask BotFather"
    ),
    403: ErrorMeaning("telegram_forbidden", "the bot may not write to this chat"),
    404: ErrorMeaning(
        "telegram_not_found", "no such bot or method: check bot_token and api_base_url"
    ),
    409: ErrorMeaning("telegram_conflict", "another webhook or getUpdates consumer is active"),
    429: RATE_LIMITED,
}
MIGRATED = ErrorMeaning(
    "telegram_chat_migrated",
    "the group became a supergroup: sent to its new chat id (in the log) instead; the group's "
    "conversation and reminders move to that id (`contact_moved`)",
    stops_batch=False,
)
#: A 429 whose `retry_after` is longer than a reply may wait (`MAX_RETRY_AFTER_S`).
RATE_LIMITED_TOO_LONG = ErrorMeaning(
    "telegram_rate_limited",
    "Telegram asked to wait longer than a reply may wait (retry_after in the log): not sent",
)


def meaning_of(error: TelegramError) -> ErrorMeaning:
    if error.migrate_to_chat_id is not None:
        return MIGRATED
    if error.status >= 500:
        return SERVER_ERROR
    text = error.description.lower()
    for fragment, meaning in _BY_DESCRIPTION.get(error.status, ()):
        if fragment in text:
            return meaning
    return _BY_STATUS.get(error.status, UNKNOWN)


#: The events of the two transport failures (`send.py`, which names them as literals: the
#: docs' scan of log events reads them there): no connection, no answer.
TRANSPORT_EVENTS = ("telegram_unreachable", "telegram_delivery_uncertain")
#: Every event a failed call can be counted under: the metric's label values are pre-created
#: from it, so an `increase()` alert sees the first one after a start.
EVENTS = tuple(
    sorted(
        {
            m.event
            for m in (
                *(meaning for rules in _BY_DESCRIPTION.values() for _, meaning in rules),
                *_BY_STATUS.values(),
                RATE_LIMITED,
                SERVER_ERROR,
                UNKNOWN,
                MIGRATED,
                RATE_LIMITED_TOO_LONG,
            )
        }
        | set(TRANSPORT_EVENTS)
    )
)
