"""How a channel's log lines name a contact: as the runtime's lines do, never by its id.

The runtime's lines carry `tenant` and `contact`, the keyed hash of the contact id
(`botfleet.contact_hash`). A sender's line about the same contact (a refused send, a blocked
bot) must carry the same pair, or an operator cannot tell whose turn it belongs to; the raw
phone number or chat id must appear in neither. The sender learns its tenant when it is built.

Provider error texts quote numbers, and not only the contact's, nor only as the contact id
spells it: "while sending to 34600111222" in an error of a whole webhook change (no contact),
"+34 600 111 222" in a failed status. `scrub_numbers` is the one rule for every provider text a
channel logs: any run of 7 digits or more, with the `+`, spaces, dashes, dots and parentheses
people write between them, is replaced by a hash. Error codes (131000), HTTP statuses (503) and
dates stay readable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from botfleet.contact_hash import hash_contact, scrub_contact

#: Fewer digits than a phone number has, with its country code, anywhere: Graph's error codes
#: (131000) and subcodes, HTTP statuses, counts.
MIN_NUMBER_DIGITS = 7
#: Digits with at most two of `+ ( ) - . space` between two of them, not inside a word or a
#: longer run (a wamid's letters and digits, a hex hash). Each repetition takes one digit: linear.
_NUMBER = r"(?<![\w+(])[+(]{0,2}\d(?:[ .()\-]{0,2}\d)*\)?(?!\w)"
#: A hash already put in, whose 12 hex characters may all be digits: left as it is.
_PLACED = r"<(?:contact|number) [0-9a-f]+>"
_NUMBER_OR_PLACED = re.compile(f"{_PLACED}|{_NUMBER}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: A contact id that is a number as people write it (a WhatsApp `wa_id`, a Telegram chat id).
_NUMBER_ID = re.compile(r"[+\-(). \d]+")


def scrub_numbers(text: str, tenant_id: str | None = None, contact_ids: Iterable[str] = ()) -> str:
    """`text` with each run of digits that may be a phone number replaced.

    A run with the digits of one of `contact_ids` becomes that contact's `<contact <hash>>`;
    another becomes `<number <hash>>`, the hash a contact of `tenant_id` whose id is those
    digits has (a WhatsApp contact's: the line can be matched with that contact's), or
    `<number>` without a tenant.
    """
    known: dict[str, str] = {}
    for contact_id in contact_ids:
        if _NUMBER_ID.fullmatch(contact_id):
            known.setdefault(_digits(contact_id), contact_id)

    def replace(match: re.Match[str]) -> str:
        run = match.group()
        digits = _digits(run)
        if run.startswith("<") or len(digits) < MIN_NUMBER_DIGITS or _ISO_DATE.fullmatch(run):
            return run
        if tenant_id is None:
            return "<number>"
        if digits in known:
            return f"<contact {hash_contact(tenant_id, known[digits])}>"
        return f"<number {hash_contact(tenant_id, digits)}>"

    return _NUMBER_OR_PLACED.sub(replace, text)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


class LogContacts:
    """Hashes the contacts of one tenant for log lines."""

    __slots__ = ("tenant_id",)

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def hash(self, contact_id: str) -> str:
        return hash_contact(self.tenant_id, contact_id)

    def fields(self, contact_id: str) -> dict[str, str]:
        """`tenant` and the hashed `contact`, the fields of the runtime's lines."""
        return {"tenant": self.tenant_id, "contact": self.hash(contact_id)}

    def scrub(self, text: str, *contact_ids: str) -> str:
        """`text` (a provider's error text) with each of the raw ids replaced by its hash, and
        any other number in it as `scrub_numbers` does."""
        # The ids whole first: a Telegram topic's id ("-100123:topic:4") holds its chat's.
        for contact_id in contact_ids:
            text = scrub_contact(text, self.tenant_id, contact_id)
            placed = f"<contact {self.hash(contact_id)}>"
            text = text.replace(f"+{placed}", placed)  # a phone number written with its "+"
        return scrub_numbers(text, self.tenant_id, contact_ids)
