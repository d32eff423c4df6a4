"""A conversation test's `contact.language` against the channel it runs on. Pure.

Served, only Telegram tells a contact's language (`language_code`); on WhatsApp and the web chat
`contact.language` is the tenant's `language`. The sandbox sends a test's `language` only on a
channel that has one (`SandboxChannel.sends_language`), so a test cannot pass in a language the
tenant's contacts never get. Giving one on the test's own channel (its tenant's, or the web chat
for a flow test) is a mistake in the test: an error. On a channel asked with `--channel`, the
suite was written for another channel: the test runs as that channel's contacts would, with a
warning.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from botfleet.testing.conversation_format import LoadedTest
from botfleet.testing.sandbox_channels import CHANNELS, SandboxChannel, sandbox_channel

__all__ = ["LANGUAGE_CHANNELS", "unsent_language"]

#: The channels that tell a contact's language.
LANGUAGE_CHANNELS = tuple(c for c in CHANNELS if sandbox_channel(c).sends_language)

Severity = Literal["error", "warning"]


def unsent_language(
    test: LoadedTest,
    on: SandboxChannel,
    own: SandboxChannel,
    tenant_language: str,
    more_kinds: Collection[str] = (),
) -> tuple[Severity, str] | None:
    """What is wrong with the test's `contact.language` on the channel `on` (`own`: the test's
    own channel; `more_kinds`: the tenant's more channels' kinds), as `file:line
    contact.language: ...`, or None when nothing is."""
    language = test.spec.contact.language
    if not language or on.sends_language:
        return None
    where = f"{test.where('contact.language')} contact.language:"
    senders = " and ".join(LANGUAGE_CHANNELS)
    said = (
        f"{on.name} never sends a contact's language (only {senders} does): its contacts get "
        f"the tenant's `language` ({tenant_language!r}) as `contact.language`"
    )
    if on.name != own.name:
        return "warning", f"{where} [warning] {said}, so the test runs without {language!r}"
    if test.spec.flow is not None:
        other = "run the test with `--channel telegram`"
    elif "telegram" in more_kinds:  # the tenant's Telegram contacts: the test's to name
        other = "give the test `channel: telegram`"
    else:
        other = "test it with a Telegram tenant"
    return "error", (
        f"{where} {said}, so a test giving {language!r} would pass in a language they never "
        f"get: leave it out (to test a contact's own language, {other})"
    )
