"""Telegram webhook route: `POST /webhook`, authenticated by the secret-token header.

The secret is checked before the body is read; an update is answered 200 as soon as its message
is in the journal (`accept()`), and the turn runs afterwards. Telegram redelivers an update until
it gets a 2xx; the journal drops the second copy (same chat-prefixed message id). A pressed
button's callback query is answered right after the response, so its spinner stops at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Protocol

import structlog
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from botfleet.adapters.channels.telegram.parse import (
    ChatMigration,
    GroupAddress,
    ParsedUpdate,
    group_to_supergroup,
    parse_update,
    without_mention,
)
from botfleet.adapters.channels.telegram.send import TelegramBotSender
from botfleet.adapters.channels.telegram.settings import TelegramSettings
from botfleet.adapters.channels.telegram.signature import (
    SECRET_HEADER,
    MissingSecretToken,
    verify_secret_token,
)
from botfleet.adapters.channels.webhook_body import decode_json
from botfleet.domain.errors import InvalidSignature
from botfleet.domain.messages import InboundMessage
from botfleet.ports.clock import Clock
from botfleet.web import Operation, read_body

log = structlog.get_logger("botfleet.channels.telegram")

#: Largest update accepted (Telegram's are a few kilobytes).
MAX_UPDATE_BYTES = 1024 * 1024


class WebhookRuntime(Protocol):
    """What the webhook needs from the data plane runtime."""

    @property
    def sender(self) -> object:
        """The channel's sender (a `TelegramBotSender` outside of tests with fakes)."""
        ...

    async def accept(self, message: InboundMessage) -> bool:
        """Persist and queue a message; False when it was seen before."""
        ...

    def move_contact(self, old_contact_id: str, new_contact_id: str) -> asyncio.Future[Any]:
        """Queue moving a conversation and its reminders to the contact's new id, in the order
        of both contacts (`ConversationRuntime.move_contact`); a failure is the runtime's to
        log, and the future needs no awaiting."""
        ...


def build_routes(
    settings: TelegramSettings, runtime: WebhookRuntime, *, clock: Clock, path: str = "/webhook"
) -> list[Operation]:
    """The webhook route of one bot (give `<public url><path>` to setWebhook)."""
    secret = settings.webhook_secret.get_secret_value()

    async def receive(request: Request) -> Response:
        try:
            verify_secret_token(request.headers.get(SECRET_HEADER), secret)
        except MissingSecretToken:
            log.warning("telegram_secret_missing")
            raise HTTPException(401, detail=f"missing {SECRET_HEADER}") from None
        except InvalidSignature:
            log.warning("telegram_secret_invalid")
            raise HTTPException(403, detail=f"invalid {SECRET_HEADER}") from None
        body = await read_body(request, MAX_UPDATE_BYTES)
        update = parse_update(decode_json(body), received_at=clock.now())
        accepted, after = await deliver(update, runtime, settings)
        return Response(
            encode_answer(accepted),
            media_type=JSONResponse.media_type,
            background=BackgroundTask(after) if after is not None else None,
        )

    return [
        Operation(
            "POST",
            path,
            receive,
            summary="Telegram updates, authenticated by the secret token given to setWebhook",
            tags=("telegram",),
            responses={401: "No secret token", 403: "Wrong one"},
        )
    ]


def encode_answer(accepted: bool) -> bytes:
    """The 200 answer's body (the route's and `TelegramWebhookFastPath`'s)."""
    return json.dumps({"ok": True, "accepted": accepted}, separators=(",", ":")).encode()


async def deliver(
    update: ParsedUpdate, runtime: WebhookRuntime, settings: TelegramSettings
) -> tuple[bool, Callable[[], Awaitable[object]] | None]:
    """Journal and queue the update's message; (whether it was new, the job to run once the
    answer is sent: stopping a pressed button's spinner)."""
    sender = runtime.sender
    telegram = sender if isinstance(sender, TelegramBotSender) else None
    accepted = False
    message = update.message
    if update.migration is not None:
        _migrated(update.update_id, update.migration, runtime, telegram)
        return False, None
    if telegram is not None:
        if update.member_change is not None:
            telegram.chat_member_changed(update.update_id, update.member_change)
            return False, None
        if message is not None:
            telegram.chat_active(message.contact_id)
    if update.group is not None and message is not None:
        username = await _bot_username(update.group, settings, telegram)
        if not update.group.to_bot(settings.bot_id, username):
            # Group chatter the bot only overhears (privacy mode off): not stored, not answered,
            # and logged at debug level only (a busy group would fill the log).
            log.debug("telegram_update_skipped", update_id=update.update_id, reason="not_to_bot")
            return False, None
        if username:
            message = without_mention(message, username)
    if message is not None:
        accepted = await runtime.accept(message)
        if not accepted:
            log.info("telegram_duplicate_ignored", update_id=update.update_id)
    else:
        log.info("telegram_update_skipped", update_id=update.update_id, reason=update.skipped)
    # A redelivered callback was answered the first time; a data-less one still needs it.
    fresh = accepted or update.message is None
    if update.callback_query_id and fresh and telegram is not None and settings.answer_callbacks:
        contact_id = update.message.contact_id if update.message is not None else None
        answer = partial(
            telegram.answer_callback_query, update.callback_query_id, contact_id=contact_id
        )
        return accepted, answer
    return accepted, None


def _migrated(
    update_id: int | None,
    migration: ChatMigration,
    runtime: WebhookRuntime,
    telegram: TelegramBotSender | None,
) -> None:
    if not group_to_supergroup(migration):
        log.warning("telegram_update_skipped", update_id=update_id, reason="not_a_migration")
        return
    if telegram is not None:
        telegram.chat_migrated(migration)
    _move_conversation(migration, runtime)


def _move_conversation(migration: ChatMigration, runtime: WebhookRuntime) -> None:
    """The group's conversation follows it to the supergroup: queued now, so the supergroup's
    next message waits for it, and not awaited, so the answer does not wait for the turns
    queued before it. Each notice asks (both may come, in either order, and again after a
    restart): a move finds nothing to move once done. A failure is the runtime's to log."""
    runtime.move_contact(migration.old_chat_id, migration.new_chat_id)


async def _bot_username(
    group: GroupAddress, settings: TelegramSettings, telegram: TelegramBotSender | None
) -> str | None:
    """The bot's username if this message needs it; getMe is asked only then."""
    if settings.bot_username or not group.needs_username or telegram is None:
        return settings.bot_username
    return await telegram.bot_username()
