"""Reading a provider's reply defensively: whatever shape it has, the adapter returns an `Answer`.

A reply that is not a well-formed structured answer (no JSON object, no `answer` tool call,
fields missing or of the wrong type, an empty choice list) is out of scope, as before, but as a
`MalformedAnswer` carrying a short `reason` (never the model's text), so the data plane's
`llm_question` line says `outcome=malformed_reply` instead of passing it off as a question the
document does not answer. A model that keeps failing the format (a local model without JSON
mode, `max_tokens` too small for the answer) is then visible in the logs.

Token counts of any type other than a non-negative integer count as 0, so an odd `usage`
object never turns a reply into an adapter crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botfleet.ports.connectors import Answer, LLMUsage

_STOP_LIMIT = 40


@dataclass(frozen=True, slots=True)
class MalformedAnswer(Answer):
    """Out of scope because the reply was not a well-formed structured answer."""

    reason: str = ""


def malformed(reason: str, usage: LLMUsage, stop: Any = None) -> MalformedAnswer:
    """A `MalformedAnswer`; `stop` is the provider's finish/stop reason when it gave one."""
    if isinstance(stop, str) and stop:
        reason = f"{reason} (stopped: {stop[:_STOP_LIMIT]})"
    return MalformedAnswer(text="", in_scope=False, usage=usage, reason=reason)


def token_count(value: Any) -> int:
    """A token count from a reply: a non-negative int, anything else 0."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return 0
