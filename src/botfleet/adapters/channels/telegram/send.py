"""Telegram Bot API sender: outputs -> `sendMessage`, callback answers, retries on 429/5xx.

A 429 waits the `retry_after` Telegram gives (up to a minute); 5xx and failed connections back
off exponentially with jitter. A request that may have reached Telegram (read timeout) is not
retried, to avoid duplicate messages. The bot token is part of every method URL, so URLs are
never logged here, and `redact_token_in_httpx_logs()` masks it in httpx's own request log.

A chat known to be unreachable (the contact blocked the bot, a group removed it: `ChatMemory`)
is not sent to until its people undo it. Lines about a contact carry the runtime's `tenant` and
hashed `contact`, never the chat id.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter

from botfleet.adapters.channels.api_retries import RetryLater, Sleep, with_retries
from botfleet.adapters.channels.log_contacts import LogContacts
from botfleet.adapters.channels.telegram.chat_memory import ChatMemory, chat_of
from botfleet.adapters.channels.telegram.contact_ids import chat_id_value, chat_target
from botfleet.adapters.channels.telegram.errors import (
    EVENTS,
    RATE_LIMITED,
    RATE_LIMITED_TOO_LONG,
    UNREACHABLE_CHAT,
    ErrorMeaning,
    TelegramError,
    meaning_of,
)
from botfleet.adapters.channels.telegram.parse import (
    ChatMemberChange,
    ChatMigration,
    group_to_supergroup,
)
from botfleet.adapters.channels.telegram.payloads import (
    TELEGRAM_CAPABILITIES,
    Payload,
    answer_callback_payload,
    message_payloads,
)
from botfleet.adapters.channels.telegram.settings import TelegramSettings
from botfleet.adapters.provider_api import (
    ProviderCallFailed,
    ProviderHttp,
    ProviderReply,
    ProviderUnreachable,
)
from botfleet.domain.degrade import degrade
from botfleet.domain.outputs import Output
from botfleet.ports.channels import Capabilities, SendOutcome, TypingRule

#: How long Telegram shows a chat action unless a message to the chat ends it first.
TYPING_LASTS_S = 5.0

log = structlog.get_logger("botfleet.channels.telegram")

#: Longest `retry_after` waited for inside a turn; a longer one fails the call at once.
MAX_RETRY_AFTER_S = 60.0
#: Seconds before getMe is asked again after it failed (group messages keep coming).
GET_ME_PAUSE_S = 60.0
#: Queues moving a contact's conversation and reminders to its new id, in the order of both
#: contacts, without waiting for it; a failure of the move is its own to log. The runtime's
#: `move_contact`, given at composition: the adapter never imports the data plane.
MoveContact = Callable[[str, str], object]
#: `ChatMemberChange.change` -> its log event.
MEMBER_EVENTS = {
    "blocked": "telegram_bot_blocked",
    "unblocked": "telegram_bot_unblocked",
    "removed": "telegram_bot_removed",
    "added": "telegram_bot_added",
    "other": "telegram_bot_status_changed",
}


class TelegramMetrics:
    """Counters exported by `/metrics`: API calls by method and outcome, errors, retries."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "botfleet_telegram_api_requests",
            "Bot API calls, by method and outcome",
            ["method", "outcome"],
            registry=r,
        )
        self.errors = Counter(
            "botfleet_telegram_errors", "Bot API errors, by meaning", ["event"], registry=r
        )
        for event in EVENTS:
            self.errors.labels(event)
        self.retries = Counter(
            "botfleet_telegram_retries",
            "Bot API calls retried (429, 5xx, no connection)",
            registry=r,
        )
        self.chat_members = Counter(
            "botfleet_telegram_chat_member_updates",
            "my_chat_member updates: the bot blocked, unblocked, removed from or added to a chat",
            ["change"],
            registry=r,
        )
        self.skipped_sends = Counter(
            "botfleet_telegram_sends_skipped",
            "Sends not attempted: the chat blocked or removed the bot",
            registry=r,
        )
        for change in MEMBER_EVENTS:
            self.chat_members.labels(change)


@dataclass(frozen=True, slots=True)
class CallOutcome:
    ok: bool
    error: TelegramError | None = None
    meaning: ErrorMeaning | None = None


class TelegramBotSender:
    """`OutboundSender` for the Telegram Bot API; also answers callback queries."""

    def __init__(
        self,
        settings: TelegramSettings,
        http: ProviderHttp,
        *,
        metrics: TelegramMetrics | None = None,
        sleep: Sleep = asyncio.sleep,
        tenant_id: str = "",
        move_contact: MoveContact | None = None,
    ) -> None:
        self.settings = settings
        self.capabilities: Capabilities = TELEGRAM_CAPABILITIES
        self.metrics = metrics or TelegramMetrics()
        #: Hashes contacts as the runtime's lines do (`tenant_id` is the runtime's tenant).
        token = settings.bot_token.get_secret_value()
        # Telegram may quote the request back: the token, and its key part after the bot id.
        self.contacts = LogContacts(tenant_id, secrets=(token, token.partition(":")[2]))
        self.chats = ChatMemory()
        self._http = http
        self._sleep = sleep
        self._username = settings.bot_username
        self._username_lock = asyncio.Lock()
        self._ask_username_at = 0.0
        self._move_contact = move_contact

    def queue_moves_with(self, move_contact: MoveContact) -> None:
        """Have a group that a refused send says became a supergroup take its conversation
        and reminders there with `move_contact` (the runtime's, built after its sender)."""
        self._move_contact = move_contact

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> SendOutcome:
        """Send each output in order (into the contact's forum topic, if it is one; to the
        supergroup a group became, once known); stop at an error that makes the chat
        unreachable. Nothing is sent to a chat known to be unreachable (`ChatMemory`). Returns
        the outputs Telegram accepted (`sent`) and the others (`failed`: refused, in whole or
        in part, or not tried)."""
        fitted = list(degrade(outputs, self.capabilities))  # a no-op for degraded outputs
        moved = self.chats.moved_to(contact_id)
        # The chat written to decides: a migrated group's supergroup, else the contact's chat.
        target = moved or contact_id
        reason = self.chats.unreachable(target)
        if reason is not None:
            self.metrics.skipped_sends.inc()
            log.info(
                "telegram_send_skipped",
                reason=reason,
                outputs=len(fitted),
                **self.contacts.fields(contact_id),
            )
            return SendOutcome(sent=0, failed=len(fitted))
        moved_to = None if moved is None else chat_id_value(moved)
        if moved is not None:
            # Still sent under the old id: a move that could not be queued then is asked again.
            retry = self.chats.take_unqueued_move(contact_id)
            if retry is not None:
                self._queue_move(contact_id, retry)
        delivered = 0
        for output in fitted:
            refused = False
            for payload in message_payloads(
                contact_id, output, empty_body=self.settings.empty_body_text
            ):
                if moved_to is not None:
                    payload = {**payload, "chat_id": moved_to}
                outcome = await self.call("sendMessage", payload, contact_id=contact_id)
                if outcome.error is not None and outcome.error.migrate_to_chat_id is not None:
                    # Telegram names the supergroup the group became: the message reaches
                    # the same people there, instead of being lost.
                    moved_to = outcome.error.migrate_to_chat_id
                    target = str(moved_to)
                    self.chats.mark_moved(contact_id, target)
                    self._follow_migration(contact_id, target)
                    outcome = await self.call(
                        "sendMessage", {**payload, "chat_id": moved_to}, contact_id=contact_id
                    )
                if outcome.ok:
                    continue
                refused = True
                gone = UNREACHABLE_CHAT.get(outcome.meaning.event if outcome.meaning else "")
                if gone is not None:
                    # Every later send would be refused the same way, reminders included.
                    self.chats.mark_unreachable(target, gone)
                if outcome.meaning is None or outcome.meaning.stops_batch:
                    # This output and those after it, never tried, are not delivered.
                    return SendOutcome(sent=delivered, failed=len(fitted) - delivered)
            if not refused:
                delivered += 1
        return SendOutcome(sent=delivered, failed=len(fitted) - delivered)

    def chat_active(self, contact_id: str) -> None:
        """Someone wrote in the contact's chat (the webhook got a message from it): whatever
        blocked the bot there was undone, as only members of a chat write in it."""
        reason = self.chats.mark_reachable(contact_id)
        if reason is not None:
            chat = chat_of(contact_id)
            log.info("telegram_chat_reachable_again", reason=reason, **self.contacts.fields(chat))

    def chat_member_changed(self, update_id: int | None, change: ChatMemberChange) -> None:
        """A `my_chat_member` update: logged, counted (once per update) and remembered."""
        if not self.chats.first_time(("chat_member", update_id, change.chat_id)):
            return
        self.metrics.chat_members.labels(change.change).inc()
        if change.change in ("blocked", "removed"):
            self.chats.mark_unreachable(change.chat_id, change.change)
        elif change.change in ("unblocked", "added"):
            self.chats.mark_reachable(change.chat_id)
        log.info(
            MEMBER_EVENTS[change.change],
            old_status=change.old_status,
            new_status=change.new_status,
            **self.contacts.fields(change.chat_id),
        )

    def chat_migrated(self, migration: ChatMigration) -> None:
        """A group became a supergroup: logged once (each of the two chats gets a notice), and
        remembered, so that what is sent to the old chat goes to the new one at once (the
        webhook has the runtime move the conversation itself)."""
        if not self.chats.first_time(("migration", migration.old_chat_id, migration.new_chat_id)):
            return
        self.chats.mark_moved(migration.old_chat_id, migration.new_chat_id)
        log.info(
            "telegram_group_migrated",
            new_contact=self.contacts.hash(migration.new_chat_id),
            hint="the group's conversation and reminders move to the supergroup's chat id "
            "(`contact_moved`); what is still sent to the old id goes to the supergroup",
            **self.contacts.fields(migration.old_chat_id),
        )

    def _follow_migration(self, contact_id: str, new_chat_id: str) -> None:
        """A send refused because the group became a supergroup: its conversation and
        reminders follow it, as on the migration notice, which the webhook may never have got
        (down then, or the notice lost); else the supergroup's next message would start over.

        Telegram's answer is checked as a notice is (`group_to_supergroup`). Queued, never
        awaited: this send runs inside the group's turn or reminder, which the move waits for.
        Asked once per pair: concurrent sends may each be refused, and a later send goes to the
        new id at once (`ChatMemory`); after a restart the first refusal asks again, and a move
        already done finds nothing left to move."""
        migration = ChatMigration(contact_id, new_chat_id)
        if self._move_contact is None or not group_to_supergroup(migration):
            return
        if not self.chats.first_time(("move", contact_id, new_chat_id)):
            return
        self._queue_move(contact_id, new_chat_id)

    def _queue_move(self, contact_id: str, new_chat_id: str) -> None:
        assert self._move_contact is not None
        try:
            self._move_contact(contact_id, new_chat_id)
        except Exception as exc:  # too many moves waiting (`Overloaded`): the send goes on
            # Remembered, so that the next send still made under the old id (the group's next
            # turn or reminder, which goes to the supergroup at once) asks again.
            self.chats.mark_move_unqueued(contact_id, new_chat_id)
            log.warning(
                "telegram_contact_move_not_queued",
                error=type(exc).__name__,
                new_contact=self.contacts.hash(new_chat_id),
                hint="the group's conversation and reminders stay at its old chat id (sends "
                "there reach the supergroup); the next send under the old id asks again, as "
                "does the migration notice",
                **self.contacts.fields(contact_id),
            )

    def typing_rule(self, contact_id: str) -> TypingRule | None:
        """`TypingIndicator`: after `typing_after_ms`."""
        after_ms = self.settings.typing_after_ms
        return None if after_ms is None else TypingRule(after_ms / 1000, TYPING_LASTS_S)

    async def show_typing(self, contact_id: str, message_id: str) -> bool:
        """`TypingIndicator`: `sendChatAction` into the contact's chat (or topic; the
        supergroup a group became), one attempt; not to a chat known to be unreachable."""
        moved = self.chats.moved_to(contact_id)
        if self.chats.unreachable(moved or contact_id) is not None:
            return False
        target = chat_target(contact_id) if moved is None else {"chat_id": chat_id_value(moved)}
        payload = {**target, "action": "typing"}
        outcome = await self.call("sendChatAction", payload, contact_id=contact_id, attempts=1)
        return outcome.ok

    async def answer_callback_query(self, query_id: str, *, contact_id: str | None = None) -> bool:
        """Stop the pressed button's spinner; failures are logged (with `contact_id`, whose
        button it was), never raised."""
        outcome = await self.call(
            "answerCallbackQuery", answer_callback_payload(query_id), contact_id=contact_id
        )
        return outcome.ok

    async def bot_username(self) -> str | None:
        """The bot's username: `bot_username`, else getMe's answer (asked once; again at most
        once a minute while it fails). None while unknown."""
        if self._username is not None:
            return self._username
        async with self._username_lock:  # concurrent group messages: one getMe
            if self._username is None and monotonic() >= self._ask_username_at:
                self._username = await self._get_me_username()
                if self._username is None:
                    self._ask_username_at = monotonic() + GET_ME_PAUSE_S
        return self._username

    async def _get_me_username(self) -> str | None:
        # One attempt, no retries: the webhook's answer waits for it.
        try:
            response = await self._http.post(
                self.settings.method_url("getMe"), json={}, timeout=self.settings.timeout_s
            )
        except ProviderCallFailed as exc:
            return self._username_unknown(exc.cause)
        result = _json(response).get("result")
        username = result.get("username") if isinstance(result, dict) else None
        if not response.is_success or not isinstance(username, str) or not username:
            return self._username_unknown(f"HTTP {response.status_code}")
        self.metrics.requests.labels("getMe", "ok").inc()
        return username

    def _username_unknown(self, cause: str) -> str | None:
        self.metrics.requests.labels("getMe", "error").inc()
        log.warning(
            "telegram_username_unknown",
            cause=cause,
            hint="getMe failed: until it answers, group messages that mention the bot are not "
            "answered (set channel.bot_username to need no getMe)",
        )
        return None

    async def call(
        self,
        method: str,
        payload: Payload,
        *,
        contact_id: str | None = None,
        attempts: int | None = None,
    ) -> CallOutcome:
        """POST one Bot API method with retries (`attempts`, else the tenant's `max_attempts`);
        never raises for API or network errors. A failure is logged with `contact_id` hashed,
        the contact the call is for."""
        outcome = await with_retries(
            lambda: self._attempt(method, payload),
            max_attempts=attempts or self.settings.max_attempts,
            base_s=self.settings.retry_base_s,
            sleep=self._sleep,
            on_retry=self.metrics.retries.inc,
        )
        self.metrics.requests.labels(method, "ok" if outcome.ok else "error").inc()
        if not outcome.ok and outcome.meaning is not None:
            self._log_failure(method, outcome, contact_id)
        return outcome

    def _log_failure(self, method: str, outcome: CallOutcome, contact_id: str | None) -> None:
        meaning, error = outcome.meaning, outcome.error
        assert meaning is not None and error is not None
        self.metrics.errors.labels(meaning.event).inc()
        extra: dict[str, Any] = {}
        known = () if contact_id is None else (contact_id, chat_of(contact_id))
        detail = self.contacts.scrub(error.description, *known)
        if contact_id is not None:
            extra.update(self.contacts.fields(contact_id))
        if error.migrate_to_chat_id is not None:
            # The supergroup's chat id is the contact of its conversations from now on.
            extra["new_contact"] = self.contacts.hash(str(error.migrate_to_chat_id))
        if error.retry_after is not None:
            extra["retry_after"] = error.retry_after
        log.warning(
            meaning.event,
            method=method,
            status=error.status,
            detail=detail[:300],
            hint=meaning.hint,
            **extra,
        )

    async def _attempt(self, method: str, payload: Payload) -> CallOutcome:
        try:
            response = await self._http.post(
                self.settings.method_url(method), json=payload, timeout=self.settings.timeout_s
            )
        except ProviderUnreachable as exc:
            raise RetryLater(_transport_failure(exc, "telegram_unreachable")) from None
        except ProviderCallFailed as exc:
            return _transport_failure(exc, "telegram_delivery_uncertain")
        return _classify(response)


def _classify(response: ProviderReply) -> CallOutcome:
    body = _json(response)
    if response.is_success and body.get("ok") is True:
        return CallOutcome(ok=True)
    parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    assert isinstance(parameters, dict)
    error = TelegramError(
        status=response.status_code,
        description=str(body.get("description") or f"HTTP {response.status_code}"),
        retry_after=_seconds(parameters.get("retry_after")),
        migrate_to_chat_id=_int(parameters.get("migrate_to_chat_id")),
    )
    meaning = meaning_of(error)
    outcome = CallOutcome(ok=False, error=error, meaning=meaning)
    if response.status_code == 429 or error.retry_after is not None:
        if error.retry_after is not None and error.retry_after > MAX_RETRY_AFTER_S:
            # Waiting that long would hold up the contact's next turns.
            return CallOutcome(False, error, RATE_LIMITED_TOO_LONG)
        raise RetryLater(CallOutcome(False, error, RATE_LIMITED), error.retry_after)
    if response.status_code >= 500:
        raise RetryLater(outcome)
    return outcome


#: The hints of the two transport failures, once the retries are over: the request never left
#: (no connection: retried), or it was sent and no answer came back (a read timeout, a dropped
#: connection: not retried).
UNREACHABLE_HINT = "Telegram could not be reached: the request was not sent"
UNCERTAIN_HINT = (
    "the request was sent but no answer came back: the message may have been delivered; "
    "it is not retried, to avoid sending it twice"
)


def _transport_failure(exc: ProviderCallFailed, event: str) -> CallOutcome:
    # What happened, never the URL: it holds the bot token.
    error = TelegramError(status=0, description=exc.cause)
    hint = UNREACHABLE_HINT if isinstance(exc, ProviderUnreachable) else UNCERTAIN_HINT
    return CallOutcome(False, error, ErrorMeaning(event, hint, True))


def _json(response: ProviderReply) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# ---------------------------------------------------------------- log hygiene

_TOKEN_IN_URL = re.compile(r"/bot[0-9]+:[A-Za-z0-9_-]+")


class RedactBotToken(logging.Filter):
    """Masks `/bot<token>` in log records (httpx logs every request URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_IN_URL.sub("/bot<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_token_in_httpx_logs() -> None:
    """Install `RedactBotToken` on the `httpx` logger once per process."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactBotToken) for f in logger.filters):
        logger.addFilter(RedactBotToken())
