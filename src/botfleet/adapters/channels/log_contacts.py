"""How a channel's log lines name a contact: as the runtime's lines do, never by its id.

The runtime's lines carry `tenant` and `contact`, the keyed hash of the contact id
(`botfleet.contact_hash`). A sender's line about the same contact (a refused send, a blocked
bot) must carry the same pair, or an operator cannot tell whose turn it belongs to; the raw
phone number or chat id must appear in neither. The sender learns its tenant when it is built.

Provider error texts quote numbers, and not only the contact's, nor only as the contact id
spells it: "while sending to 34600111222" in an error of a whole webhook change (no contact),
"+34 600 111 222" in a failed status. `scrub_numbers` is the one rule for every provider text a
channel logs: any run of 7 digits or more, with the `+`, spaces, dashes, dots and parentheses
people write between them, is replaced by a hash (`botfleet.contact_hash`: the runtime's error
texts go through it too). Error codes (131000), HTTP statuses (503) and dates stay readable.

They may quote the request back too, the channel's own token included ("invalid token
123:AAH..."): a sender names its secrets (`secrets`) and they are cut out before anything else.
"""

from __future__ import annotations

from botfleet.contact_hash import (
    MIN_SCRUBBED_LENGTH,
    hash_contact,
    scrub_contact,
    scrub_numbers,
)


class LogContacts:
    """Hashes the contacts of one tenant for log lines."""

    __slots__ = ("_secrets", "prefix", "tenant_id")

    def __init__(self, tenant_id: str, secrets: tuple[str, ...] = ()) -> None:
        self.tenant_id = tenant_id
        # Longest first: a secret that holds another (a bot token holds its key part) goes whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        #: The kind's prefix of a tenant's more channel (`telegram:`): the runtime knows its
        #: contacts by it, so their hashes are of the prefixed id (docs/channels.md).
        self.prefix = ""

    def hash(self, contact_id: str) -> str:
        return hash_contact(self.tenant_id, self.prefix + contact_id)

    def fields(self, contact_id: str) -> dict[str, str]:
        """`tenant` and the hashed `contact`, the fields of the runtime's lines."""
        return {"tenant": self.tenant_id, "contact": self.hash(contact_id)}

    def scrub(self, text: str, *contact_ids: str) -> str:
        """`text` (a provider's error text) with each of the raw ids replaced by its hash, and
        any other number in it as `scrub_numbers` does; the channel's secrets cut out first."""
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        # The ids whole first: a Telegram topic's id ("-100123:topic:4") holds its chat's.
        for contact_id in contact_ids:
            placed = f"<contact {self.hash(contact_id)}>"
            if self.prefix and len(contact_id) >= MIN_SCRUBBED_LENGTH:
                text = text.replace(contact_id, placed)  # the id as the provider quotes it
            else:
                text = scrub_contact(text, self.tenant_id, contact_id)
            text = text.replace(f"+{placed}", placed)  # a phone number written with its "+"
        return scrub_numbers(text, self.tenant_id, contact_ids, prefix=self.prefix)
