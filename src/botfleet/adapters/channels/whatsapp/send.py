"""WhatsApp Cloud API sender: outputs -> `POST /{phone_number_id}/messages`, with retries.

429, 5xx, Graph's throttling codes and failed connections are retried with exponential backoff
and jitter (`Retry-After` honoured; the per-contact pair rate limit, 131056, waits 6 s). A request
that may have reached Meta (a read timeout) is not retried: WhatsApp has no idempotency key, and
a duplicate message is worse than a log line. Permanent errors are logged under an event named
after their meaning (`whatsapp_template_needed` for the 24-hour rule, ...) and stop the rest of
the batch when the contact is unreachable (outside the 24-hour window, its templates still go).
The access token travels only in the Authorization header and is never logged. Lines about a
contact carry the runtime's `tenant` and hashed `contact`, never the number. A read receipt
whose message's reply just failed for a reason it shares (the token, the recipient, the API
down) is not sent: the failure is logged and counted once (`read_receipt`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import structlog

from botfleet.adapters.channels.api_retries import RetryLater, Sleep, with_retries
from botfleet.adapters.channels.log_contacts import LogContacts
from botfleet.adapters.channels.whatsapp.errors import (
    RATE_LIMITED,
    TEMPLATE_NEEDED,
    TEMPORARY,
    UNKNOWN,
    ErrorMeaning,
    meaning_of,
)
from botfleet.adapters.channels.whatsapp.metrics import WhatsAppMetrics, log_graph_error
from botfleet.adapters.channels.whatsapp.number_watch import OtherNumberWatch
from botfleet.adapters.channels.whatsapp.outcomes import SendOutcomes, Unreachable
from botfleet.adapters.channels.whatsapp.parse import GraphErrorInfo, StatusUpdate, parse_errors
from botfleet.adapters.channels.whatsapp.payloads import (
    TYPING_LASTS_S,
    WHATSAPP_CAPABILITIES,
    Payload,
    message_payloads,
    read_receipt_payload,
    typing_payload,
)
from botfleet.adapters.channels.whatsapp.settings import WhatsAppSettings
from botfleet.adapters.provider_api import (
    ProviderCallFailed,
    ProviderHttp,
    ProviderReply,
    ProviderUnreachable,
)
from botfleet.domain.degrade import degrade
from botfleet.domain.outputs import Output, TemplateMessage
from botfleet.ports.channels import Capabilities, SendOutcome, TypingRule

log = structlog.get_logger("botfleet.channels.whatsapp")

#: Messages remembered as marked read by a typing indicator (a few turns' worth at once).
_READ_KEPT = 1024

#: Longest `Retry-After` waited for inside a turn; a longer one fails the call at once.
MAX_RETRY_AFTER_S = 60.0


@dataclass(frozen=True, slots=True)
class CallOutcome:
    ok: bool
    message_id: str = ""
    error: GraphErrorInfo | None = None
    meaning: ErrorMeaning | None = None


class WhatsAppCloudSender:
    """`OutboundSender` for the WhatsApp Cloud API; also sends read receipts."""

    def __init__(
        self,
        settings: WhatsAppSettings,
        http: ProviderHttp,
        *,
        metrics: WhatsAppMetrics | None = None,
        sleep: Sleep = asyncio.sleep,
        tenant_id: str = "",
    ) -> None:
        self.settings = settings
        self.capabilities: Capabilities = WHATSAPP_CAPABILITIES
        self.metrics = metrics or WhatsAppMetrics()
        #: Hashes contacts as the runtime's lines do (`tenant_id` is the runtime's tenant).
        # Graph may quote the request back, its access token included.
        self.contacts = LogContacts(tenant_id, secrets=(settings.access_token.get_secret_value(),))
        self.outcomes = SendOutcomes()
        self.numbers = OtherNumberWatch(settings.phone_number_id)
        self._http = http
        self._sleep = sleep
        #: Messages a typing indicator marked read already: their receipt after the turn
        #: would say it again (the most recent `_READ_KEPT`).
        self._read_by_typing: OrderedDict[str, None] = OrderedDict()

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> SendOutcome:
        """Send each output in order; stop at an error that makes the contact unreachable.

        Outside the 24-hour window (131047) only templates can reach the contact: the turn's
        other messages are not attempted (each would fail the same way), its templates still
        are. Returns the outputs Graph accepted (`sent`) and the others (`failed`: refused, in
        whole or in part, or never tried after an error).
        """
        fitted = list(degrade(outputs, self.capabilities))  # a no-op for degraded outputs
        delivered = 0
        templates_only = False
        for output in fitted:
            if isinstance(output, TemplateMessage):
                self._warn_empty_params(contact_id, output)
            elif templates_only:
                continue
            outcome = await self._send_output(contact_id, output)
            meaning = outcome.meaning or UNKNOWN
            if outcome.ok:
                delivered += 1
            elif meaning is TEMPLATE_NEEDED:
                templates_only = True
            elif meaning.stops_batch:
                break
        return SendOutcome(sent=delivered, failed=len(fitted) - delivered)

    async def _send_output(self, contact_id: str, output: Output) -> CallOutcome:
        """Post the output's bodies (a text first for an interactive body over 1024
        characters); the first failure, or the error that ends them (see `send`), else a
        success."""
        result = CallOutcome(ok=True)
        for payload in message_payloads(
            contact_id, output, empty_body=self.settings.empty_body_text
        ):
            outcome = await self.call(payload, kind=str(payload["type"]), contact_id=contact_id)
            self.outcomes.called(contact_id, None if outcome.ok else outcome.meaning or UNKNOWN)
            meaning = outcome.meaning or UNKNOWN
            if not outcome.ok and (meaning is TEMPLATE_NEEDED or meaning.stops_batch):
                return outcome
            if result.ok:
                result = outcome
        return result

    @property
    def marks_read(self) -> bool:
        """`ReadReceipts`: the tenant's `mark_as_read` setting."""
        return self.settings.mark_as_read

    def typing_rule(self, contact_id: str) -> TypingRule | None:
        """`TypingIndicator`: after `typing_after_ms`, and only with `mark_as_read`: Graph shows
        "typing…" by marking the message read."""
        after_ms = self.settings.typing_after_ms
        if after_ms is None or not self.settings.mark_as_read:
            return None
        return TypingRule(after_ms / 1000, TYPING_LASTS_S)

    async def show_typing(self, contact_id: str, message_id: str) -> bool:
        """`TypingIndicator`: one attempt; skipped while the contact is unreachable (the
        failed send said so already)."""
        if self.outcomes.unreachable(contact_id) is not None:
            return False
        outcome = await self.call(
            typing_payload(message_id), kind="typing", contact_id=contact_id, attempts=1
        )
        if outcome.ok:
            self._read_by_typing[message_id] = None
            while len(self._read_by_typing) > _READ_KEPT:
                self._read_by_typing.popitem(last=False)
        return outcome.ok

    def read_receipt(self, message_id: str, contact_id: str) -> Callable[[], Awaitable[bool]]:
        """The read receipt of a message whose turn is still to run, to run after it: skipped
        when a send to the contact fails meanwhile in a way the receipt would too (an invalid
        token, an unreachable recipient, the Graph API down), so the failure is logged and
        counted once. A receipt after a delivered reply, or after a refused message content (a
        rejected template), is sent."""
        return partial(self._receipt, message_id, contact_id, self.outcomes.unreachable(contact_id))

    async def mark_read(self, message_id: str, *, contact_id: str | None = None) -> bool:
        """Mark an inbound message (of `contact_id`, when known) read; failures are logged,
        never raised. Skipped, as `read_receipt`'s, when the last send to the contact failed
        in a way the receipt would too."""
        return await self._receipt(message_id, contact_id, None)

    async def _receipt(
        self, message_id: str, contact_id: str | None, known: Unreachable | None
    ) -> bool:
        if message_id in self._read_by_typing:
            del self._read_by_typing[message_id]
            return True  # marked read by its typing indicator already
        unreachable = None if contact_id is None else self.outcomes.unreachable(contact_id)
        if contact_id is not None and unreachable is not None and unreachable is not known:
            log.debug(
                "whatsapp_read_receipt_skipped",
                message_id=message_id,
                reason=unreachable.event,
                **self.contacts.fields(contact_id),
            )
            return False
        outcome = await self.call(
            read_receipt_payload(message_id), kind="read", contact_id=contact_id
        )
        return outcome.ok

    def record_status(self, status: StatusUpdate) -> None:
        self.metrics.record_status(status, self.contacts)

    async def call(
        self,
        payload: Payload,
        *,
        kind: str,
        contact_id: str | None = None,
        attempts: int | None = None,
    ) -> CallOutcome:
        """POST one body to the messages endpoint with retries (`attempts`, else the tenant's
        `max_attempts`); never raises for API errors. Lines name `contact_id`, the contact the
        call is for, by its hash."""
        outcome = await with_retries(
            lambda: self._attempt(payload),
            max_attempts=attempts or self.settings.max_attempts,
            base_s=self.settings.retry_base_s,
            sleep=self._sleep,
            on_retry=self.metrics.retries.inc,
        )
        self.metrics.requests.labels(kind, "ok" if outcome.ok else "error").inc()
        fields = self.contacts.fields(contact_id) if contact_id is not None else {}
        if outcome.ok:
            log.debug("whatsapp_sent", kind=kind, message_id=outcome.message_id, **fields)
        elif outcome.error is not None:
            log_graph_error(
                outcome.error,
                self.metrics,
                meaning=outcome.meaning,
                contacts=self.contacts,
                contact_id=contact_id,
                kind=kind,
                retried=attempts != 1,
                **_template_fields(payload),
            )
        return outcome

    def _warn_empty_params(self, contact_id: str, output: TemplateMessage) -> None:
        empty = [i for i, p in enumerate(output.params, start=1) if not p.strip()]
        if empty:
            # Sent as EMPTY_TEMPLATE_PARAM: the flow most likely printed a value it does not
            # have.
            log.warning(
                "whatsapp_template_param_empty",
                template=output.name,
                positions=empty,
                **self.contacts.fields(contact_id),
            )

    async def _attempt(self, payload: Payload) -> CallOutcome:
        headers = {"Authorization": f"Bearer {self.settings.access_token.get_secret_value()}"}
        try:
            response = await self._http.post(
                self.settings.messages_url,
                json=payload,
                headers=headers,
                timeout=self.settings.timeout_s,
            )
        except ProviderUnreachable as exc:
            raise RetryLater(_transport_failure(exc, "whatsapp_unreachable")) from None
        except ProviderCallFailed as exc:
            # The request may have been delivered: do not risk sending it twice.
            return _transport_failure(exc, "whatsapp_delivery_uncertain")
        return _classify(response)


def _template_fields(payload: Payload) -> dict[str, str]:
    """The template a refused call sent, by name and language: Graph's error texts seldom name
    it (132000 counts parameters, 132012 names a component), and a flow may send several."""
    template = payload.get("template")
    if payload.get("type") != "template" or not isinstance(template, dict):
        return {}
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    return {"template": str(template.get("name", "")), "language": str(code or "")}


def _classify(response: ProviderReply) -> CallOutcome:
    body = _json(response)
    if response.is_success:
        messages = body.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else {}
        wamid = first.get("id") if isinstance(first, dict) else None
        return CallOutcome(ok=True, message_id=wamid if isinstance(wamid, str) else "")
    status = response.status_code
    errors = parse_errors(body.get("error"))
    error = errors[0] if errors else GraphErrorInfo(code=0, title=f"HTTP {status}")
    if errors:
        meaning = meaning_of(error)
    else:
        meaning = RATE_LIMITED if status == 429 else TEMPORARY if status >= 500 else UNKNOWN
    outcome = CallOutcome(ok=False, error=error, meaning=meaning)
    if status == 429 or status >= 500 or meaning.retryable:
        retry_after = _retry_after(response)
        if retry_after is None:
            retry_after = meaning.wait_s
        if retry_after is not None and retry_after > MAX_RETRY_AFTER_S:
            return outcome  # waiting that long would hold up the contact's next turns
        raise RetryLater(outcome, retry_after)
    return outcome


#: The hints of the two transport failures, once the retries are over: the request never left
#: (no connection: retried), or it was sent and no answer came back (a read timeout, a dropped
#: connection: not retried).
UNREACHABLE_HINT = "the Graph API could not be reached: the request was not sent"
UNCERTAIN_HINT = (
    "the request was sent but no answer came back: the message may have been delivered; "
    "it is not retried, to avoid sending it twice"
)


def _transport_failure(exc: ProviderCallFailed, event: str) -> CallOutcome:
    # What happened, never the URL: it is not for logs.
    error = GraphErrorInfo(code=0, title=event, message=exc.cause)
    unreachable = isinstance(exc, ProviderUnreachable)
    hint = UNREACHABLE_HINT if unreachable else UNCERTAIN_HINT
    # A read timeout says nothing of the next call (Meta may have been slow once): the read
    # receipt after it is still tried.
    meaning = ErrorMeaning(event, hint, retryable=True, receipt_fails_too=unreachable)
    return CallOutcome(ok=False, error=error, meaning=meaning)


def _retry_after(response: ProviderReply) -> float | None:
    raw = response.headers.get("retry-after", "")
    return float(raw) if raw.isascii() and raw.isdigit() else None


def _json(response: ProviderReply) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
