"""How a channel's log lines name a contact: as the runtime's lines do, never by its id.

The runtime's lines carry `tenant` and `contact`, the keyed hash of the contact id
(`botfleet.contact_hash`). A sender's line about the same contact (a refused send, a blocked
bot) must carry the same pair, or an operator cannot tell whose turn it belongs to; the raw
phone number or chat id must appear in neither. The sender learns its tenant when it is built.
"""

from __future__ import annotations

from botfleet.contact_hash import hash_contact, scrub_contact


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
        """`text` with each of the raw ids replaced by its hash: providers quote the chat or the
        number they refused in their error texts."""
        for contact_id in contact_ids:
            text = scrub_contact(text, self.tenant_id, contact_id)
        return text
