"""What the sender's sends to each contact came to, remembered for two readers.

* The read receipt that follows a turn: when the turn's reply just failed because the token,
  the recipient or the Graph API is at fault, the receipt would fail the same way and be
  logged and counted a second time, so it is skipped (`Unreachable`).
* `POST /run-task`, which reports how many of a task's outputs were delivered: running totals
  per contact, read before and after the task's turn.

Only the most recently sent-to contacts are remembered (`REMEMBERED_CONTACTS`): a contact
forgotten starts again from nothing (no skip, totals from 0).
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


@dataclass(slots=True)
class _Contact:
    sent: int = 0
    failed: int = 0
    unreachable: Unreachable | None = None


class SendOutcomes:
    """Per contact: the outputs delivered and not delivered so far, and whether the last call
    failed in a way that a read receipt would too."""

    def __init__(self, remembered: int = REMEMBERED_CONTACTS) -> None:
        self._contacts: OrderedDict[str, _Contact] = OrderedDict()
        self._remembered = remembered

    def called(self, contact_id: str, failure: ErrorMeaning | None) -> None:
        """A call to the contact succeeded (`failure` None) or failed with `failure`."""
        blocks = failure is not None and failure.receipt_fails_too
        entry = self._entry(contact_id)
        entry.unreachable = Unreachable(failure.event) if failure and blocks else None

    def counted(self, contact_id: str, *, sent: int, failed: int) -> None:
        """A `send` delivered `sent` outputs and not `failed` others (refused or not tried)."""
        entry = self._entry(contact_id)
        entry.sent += sent
        entry.failed += failed

    def unreachable(self, contact_id: str) -> Unreachable | None:
        entry = self._contacts.get(contact_id)
        return None if entry is None else entry.unreachable

    def totals(self, contact_id: str) -> tuple[int, int]:
        """(delivered, not delivered) outputs to the contact, since it was last forgotten."""
        entry = self._contacts.get(contact_id)
        return (0, 0) if entry is None else (entry.sent, entry.failed)

    def _entry(self, contact_id: str) -> _Contact:
        entry = self._contacts.get(contact_id)
        if entry is None:
            entry = self._contacts[contact_id] = _Contact()
            if len(self._contacts) > self._remembered:
                self._contacts.popitem(last=False)
        else:
            self._contacts.move_to_end(contact_id)
        return entry
