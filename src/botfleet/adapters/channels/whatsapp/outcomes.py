"""What the sender's last call to each contact came to, remembered for the read receipt that
follows a turn: when the turn's reply just failed because the token, the recipient or the Graph
API is at fault, the receipt would fail the same way and be logged and counted a second time, so
it is skipped (`Unreachable`).

(What a turn's outputs came to is not remembered: `send` returns it, a `SendOutcome`.)

Only the most recently sent-to contacts are remembered (`REMEMBERED_CONTACTS`): a contact
forgotten starts again from nothing (no skip).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from botfleet.adapters.channels.whatsapp.errors import ErrorMeaning

REMEMBERED_CONTACTS = 10_000


@dataclass(frozen=True, slots=True, eq=False)
class Unreachable:
    """The last call to the contact failed as a read receipt would too; a new one each time,
    so a receipt can tell a failure since its message arrived from an older one."""

    event: str


class SendOutcomes:
    """Per contact: whether the last call failed in a way that a read receipt would too."""

    def __init__(self, remembered: int = REMEMBERED_CONTACTS) -> None:
        self._contacts: OrderedDict[str, Unreachable | None] = OrderedDict()
        self._remembered = remembered

    def called(self, contact_id: str, failure: ErrorMeaning | None) -> None:
        """A call to the contact succeeded (`failure` None) or failed with `failure`."""
        blocks = failure is not None and failure.receipt_fails_too
        self._contacts[contact_id] = Unreachable(failure.event) if failure and blocks else None
        self._contacts.move_to_end(contact_id)
        if len(self._contacts) > self._remembered:
            self._contacts.popitem(last=False)

    def unreachable(self, contact_id: str) -> Unreachable | None:
        return self._contacts.get(contact_id)
