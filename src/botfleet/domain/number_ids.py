"""A contact id typed as people write a phone number, and the id a channel stores. Pure.

WhatsApp names a contact by its number's digits with the country code (`wa_id`, "4915112223334");
people write "+49 151 1222 3334", "+49-151-12223334" or "0049 151 12223334". Where an operator
names a contact (an export, an erasure), the written form finds nothing: these are its digits.
A national number ("0151 12223334") has no country code to add, and stays as written.
"""

from __future__ import annotations

import re

#: What a written number holds besides digits, once at most between two of them.
_WRITTEN = re.compile(r"\(?(?:\+|00)?\d+(?:[ .()\-]{1,2}\d+)*\)?")
#: A kind prefix of a tenant's more channel (`whatsapp:`): kept as it is.
_PREFIX = re.compile(r"[a-z]+:")


def number_as_id(contact_id: str) -> str | None:
    """The digits a written international number stands for, with a kind prefix kept
    (`whatsapp:+49 151...` -> `whatsapp:49151...`); None when `contact_id` is no such number,
    or is already digits only."""
    found = _PREFIX.match(contact_id)
    prefix = found.group() if found else ""
    written = contact_id[len(prefix) :].strip()
    if not written.startswith(("+", "00", "(+", "(00")) or not _WRITTEN.fullmatch(written):
        return None
    digits = "".join(c for c in written if c.isdigit())
    if written.lstrip("(").startswith("00"):
        digits = digits[2:]
    return prefix + digits if len(digits) >= 7 else None
