"""Graph API error codes -> log events that say what happened and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from botfleet.adapters.channels.whatsapp.parse import GraphErrorInfo


@dataclass(frozen=True, slots=True)
class ErrorMeaning:
    event: str  # the structured log event name (also the metric label)
    hint: str  # what an operator should do
    retryable: bool = False
    #: The contact cannot be reached right now: skip the rest of this batch.
    stops_batch: bool = True
    #: Seconds to wait before retrying when Meta names no wait (`Retry-After`): a limit that
    #: the usual backoff (a second or two) would only hit again.
    wait_s: float | None = None
    #: The hint when Meta reports the error in a webhook (a failed status, a change's
    #: `errors`), where nothing is retried; empty: `hint` says nothing about retries.
    reported_hint: str = ""
    #: Not the message's fault but the token's, the number's or the API's: a read receipt for
    #: the contact sent now would fail the same way (and be logged and counted again).
    receipt_fails_too: bool = False

    def hint_for(self, source: str) -> str:
        """The hint of an error from `source`: "send" (our API call) or a webhook's."""
        return self.reported_hint if source != "send" and self.reported_hint else self.hint


#: Meta's pair rate: one message every 6 seconds to the same contact, after a burst.
PAIR_RATE_WAIT_S = 6.0

TEMPLATE_NEEDED = ErrorMeaning(
    "whatsapp_template_needed",
    "more than 24 hours since the contact last wrote: only an approved template can be sent",
)
#: A retryable error Meta reported after accepting the message: nobody retries it.
NOT_RESENT = "Meta reported it after accepting the message, which is not sent again"
RATE_LIMITED = ErrorMeaning(
    "whatsapp_rate_limited",
    "Meta is throttling this app or number; retried with backoff",
    retryable=True,
    reported_hint=f"Meta is throttling this app or number; {NOT_RESENT}",
    receipt_fails_too=True,
)
TEMPORARY = ErrorMeaning(
    "whatsapp_temporary_error",
    "a transient Meta error; retried with backoff",
    retryable=True,
    reported_hint=(
        f"a transient Meta error; {NOT_RESENT}: if it keeps coming, see Meta's status page"
    ),
    receipt_fails_too=True,
)
TEMPLATE_PROBLEM = ErrorMeaning(
    "whatsapp_template_rejected",
    "the template name, language or parameters do not match an approved template",
    stops_batch=False,
)
PERMISSION = ErrorMeaning(
    "whatsapp_permission_denied",
    "the access token lacks whatsapp_business_messaging or the number is not in this account",
    receipt_fails_too=True,
)
TOKEN_INVALID = ErrorMeaning(
    "whatsapp_token_expired",
    "the access token expired or was revoked: issue a new one",
    receipt_fails_too=True,
)
#: Why a token is refused (190), by `error_subcode`: Graph's "Authentication error subcodes".
TOKEN_SUBCODES = {
    458: "the app was removed from the account that issued the token",
    459: "the token's user must log in to Facebook to clear a security checkpoint",
    460: "the token's user changed their password",
    463: "the token expired",
    464: "the token's user is not confirmed",
    467: "the token is invalid: revoked, or not a token of this app",
    492: "the token's session is invalid",
}
TOKEN_MEANINGS = {
    subcode: replace(TOKEN_INVALID, hint=f"{why} (subcode {subcode}): issue a new access token")
    for subcode, why in TOKEN_SUBCODES.items()
}
INVALID_REQUEST = ErrorMeaning(
    "whatsapp_invalid_request",
    "Meta rejected the message shape (a bug: please report the output that caused it)",
    stops_batch=False,
)

#: Codes from https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
MEANINGS: dict[int, ErrorMeaning] = {
    131047: TEMPLATE_NEEDED,
    470: TEMPLATE_NEEDED,  # the pre-2022 code for the same rule
    131026: ErrorMeaning(
        "whatsapp_undeliverable",
        "the number is not on WhatsApp, runs an old version, or has not accepted the terms",
        receipt_fails_too=True,
    ),
    # The business blocked this user (Block Users API, WhatsApp Manager); Meta: do not retry.
    130403: ErrorMeaning(
        "whatsapp_user_blocked_by_business",
        "this business blocked the contact (Block Users API or WhatsApp Manager): nothing "
        "reaches them until they are unblocked",
    ),
    190: TOKEN_INVALID,
    # Meta: "wait and retry". After a burst a number may send one message to the same
    # contact every 6 seconds; only when every attempt hit the limit is the message dropped.
    131056: ErrorMeaning(
        "whatsapp_pair_rate_limited",
        "too many messages to this contact in a short time: retried every 6 s, dropped (with "
        "the rest of the turn) when max_attempts all hit the limit; send fewer messages a turn",
        retryable=True,
        wait_s=PAIR_RATE_WAIT_S,
        reported_hint=(
            f"too many messages to this contact in a short time; {NOT_RESENT}: send fewer "
            "messages a turn"
        ),
    ),
    131048: ErrorMeaning(
        "whatsapp_spam_rate_limited",
        "messages from this number were reported or blocked too often; quality is too low",
    ),
    131049: ErrorMeaning(
        "whatsapp_ecosystem_limited",
        "Meta chose not to deliver this marketing message to keep engagement healthy",
    ),
    131050: ErrorMeaning("whatsapp_user_opted_out", "the contact stopped marketing messages"),
    131021: ErrorMeaning("whatsapp_recipient_is_sender", "the bot tried to message its own number"),
    131031: ErrorMeaning(
        "whatsapp_account_locked", "the business account is locked by Meta", receipt_fails_too=True
    ),
    133010: ErrorMeaning(
        "whatsapp_number_not_registered",
        "the phone number is not registered on the Cloud API",
        receipt_fails_too=True,
    ),
    131042: ErrorMeaning("whatsapp_payment_issue", "the business account has a payment problem"),
    # Set-up problems of the number itself, each with its own fix in WhatsApp Manager.
    131037: ErrorMeaning(
        "whatsapp_display_name_not_approved",
        "the number's display name needs Meta's approval before it may send (WhatsApp Manager)",
        receipt_fails_too=True,
    ),
    131045: ErrorMeaning(
        "whatsapp_number_not_registered",
        "the phone number's registration failed (incorrect certificate): register it again "
        "(POST /{phone_number_id}/register)",
        receipt_fails_too=True,
    ),
    # The account is in maintenance mode (a throughput upgrade, Meta says): it passes.
    131057: TEMPORARY,
    368: ErrorMeaning(
        "whatsapp_policy_blocked",
        "the account is temporarily blocked for policy violations",
        receipt_fails_too=True,
    ),
    131051: ErrorMeaning(
        "whatsapp_unsupported_type", "Meta does not support this message type", stops_batch=False
    ),
    131052: ErrorMeaning(
        "whatsapp_media_download_failed", "the contact's media could not be downloaded", False
    ),
    131053: ErrorMeaning(
        "whatsapp_media_upload_failed", "a media file could not be uploaded", stops_batch=False
    ),
    132000: TEMPLATE_PROBLEM,
    132001: TEMPLATE_PROBLEM,
    132005: TEMPLATE_PROBLEM,
    132007: TEMPLATE_PROBLEM,
    132012: TEMPLATE_PROBLEM,
    132015: TEMPLATE_PROBLEM,
    132016: TEMPLATE_PROBLEM,
    132018: TEMPLATE_PROBLEM,  # a parameter with line breaks, tabs or 5+ spaces in a row
    100: INVALID_REQUEST,
    131008: INVALID_REQUEST,
    131009: INVALID_REQUEST,
    10: PERMISSION,
    200: PERMISSION,
    131005: PERMISSION,  # "Access denied": the permission was never granted or was removed
    4: RATE_LIMITED,
    80007: RATE_LIMITED,
    130429: RATE_LIMITED,
    1: TEMPORARY,
    2: TEMPORARY,
    131000: TEMPORARY,
    131016: TEMPORARY,
}

UNKNOWN = ErrorMeaning("whatsapp_send_failed", "see the Graph error code and message")


def meaning_of(error: GraphErrorInfo) -> ErrorMeaning:
    """What a Graph error means for us (permission codes 200-299 share one meaning; a refused
    token's hint says why, when its subcode does)."""
    if error.code == 190 and error.subcode in TOKEN_MEANINGS:
        return TOKEN_MEANINGS[error.subcode]
    if error.code in MEANINGS:
        return MEANINGS[error.code]
    if 200 <= error.code <= 299:
        return PERMISSION
    return UNKNOWN


#: Every event `meaning_of` can return (metric label values are pre-created from it).
EVENTS = tuple(sorted({m.event for m in (*MEANINGS.values(), UNKNOWN)}))
