"""A contact's data on request: everything this data plane holds about one contact, or its
erasure (a person's right to see, or to have erased, what a business keeps about them).

Both run in the contact's order (`ConversationRuntime.after_turns`): after the turns already
queued for the contact, never in the middle of one, so a turn cannot write back a state read
before its erasure. What it covers: the conversation state, the messages the contact sent (the
journal's 8 days) and what the bot sent (the outbox), and the contact's scheduled tasks.
Not covered, as they are not this data plane's: the tenant's calendar and the systems its
connectors call, and the logs, which name contacts by a keyed hash only.

A contact whose move is unfinished (a Telegram group become a supergroup: its conversation moved
to the new id, its reminders, in the job file, not yet: `contact_moves`): the move's record
names both ids, and both are the same person's. The new id's export and erasure cover the
reminders still under the old id (and an older one, for a chain of moves), as they would once the
move finished; the export lists the record (`moves`), so the old id, whose messages stay under it
(a move carries none), can be exported and erased too. The old id's erasure takes what is under
it, those reminders included, but not the moved conversation: that is the new id's, as once the
move finished (an erasure's reach must not depend on whether a job file write failed). The new
id's erasure then runs in the order of each id it reaches (`ConversationRuntime.in_orders`): a
reminder's turn under way under the old id ends before it, and none starts until it answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from botfleet.contact_hash import hash_contact
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.domain.number_ids import number_as_id
from botfleet.flows.state import ConversationState
from botfleet.ports.contact_records import ContactRecords, ErasedRecords
from botfleet.ports.redelivery import QueuedCall
from botfleet.ports.scheduling import ForgetsErasedJobs, ScheduledJob
from botfleet.ports.stores import JournalEntry, MovesConversations

log = structlog.get_logger("botfleet.data_plane.contacts")

#: Most entries of each kind an export lists (a contact's 8 days rarely come near it).
EXPORT_LIMIT = 10_000
_PAGE = 500


@dataclass(frozen=True, slots=True)
class CalendarAppointments:
    """The contact's upcoming appointments in one calendar binding, or why they are unknown."""

    connector: str
    appointments: list[dict[str, Any]] | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ContactExport:
    """Everything held about one contact, each list oldest first and at most `EXPORT_LIMIT`."""

    contact_id: str
    conversation: ConversationState | None
    received: list[JournalEntry]
    sent: list[dict[str, Any]]
    tasks: list[ScheduledJob]
    #: A list stopped at `EXPORT_LIMIT`: more is held than shown.
    truncated: bool
    #: Upcoming appointments, read from each calendar the tenant binds (the calendar keeps
    #: them, not this data plane: an erasure leaves them).
    appointments: list[CalendarAppointments] = field(default_factory=list)
    #: Notifications of the contact's turns kept to be sent again (`redeliver_for`).
    kept_calls: list[QueuedCall] = field(default_factory=list)
    #: (old id, new id) of the unfinished moves naming the contact (or an id whose reminders
    #: `tasks` lists: a chain's), in the order made.
    moves: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ContactErasure:
    """What an erasure removed."""

    records: ErasedRecords
    #: Scheduled tasks of the contact cancelled (reminders never sent), those an unfinished
    #: move still kept under the contact's earlier id included.
    tasks_cancelled: int
    #: Upcoming appointments of the contact the calendars still hold (an erasure leaves them:
    #: the calendar is the business's, and the booking may still be wanted); None when a
    #: calendar could not be read.
    appointments_left: int | None = 0


@dataclass(frozen=True, slots=True)
class ContactData:
    """Export and erasure of a contact's data, in the contact's order."""

    runtime: ConversationRuntime
    records: ContactRecords

    def contact_hash(self, contact_id: str) -> str:
        """The contact as this data plane's log lines name it."""
        return hash_contact(self.runtime.ctx.tenant.id, contact_id)

    async def holds(self, contact_id: str) -> bool:
        """Whether anything is stored under `contact_id`: a conversation, a message either way,
        a scheduled task (not the calendars, which an erasure leaves)."""
        if await self.runtime.states.load(contact_id) is not None:
            return True
        if await self.records.received(contact_id, limit=1):
            return True
        if await self.runtime.outbox.since(contact_id=contact_id, since=0, limit=1):
            return True
        return bool(await self._tasks(contact_id, limit=1))

    async def stored_id(self, contact_id: str) -> str:
        """The id the contact's data is stored under: `contact_id`, unless nothing is stored
        under it and it is a number written as people write it ("+49 151 1222 3334",
        "0049-151-..."), whose digits are, on a WhatsApp channel: WhatsApp names a contact by
        them (a `wa_id`). An erasure asked with the number as the practice writes it erased
        nothing, and said so with zeros that read like success."""
        digits = number_as_id(contact_id)
        # Only a WhatsApp contact's id is its number: a Telegram chat id or a web chat page's
        # own id of the same digits is someone else.
        if digits is None or self.runtime.ctx.channel_of(digits) != "whatsapp":
            return contact_id
        # Nothing under either: the digits still, so a repeated erasure names (and hashes, in
        # the audit and the logs) the same person as the first.
        return contact_id if await self.holds(contact_id) else digits

    async def export(self, contact_id: str) -> ContactExport:
        async def read() -> ContactExport:
            return await self._read(contact_id)

        export: ContactExport = await self.runtime.after_turns(contact_id, read)
        # Who read a person's data is the controller's to know: the control plane's relay
        # audits it (`contact.export`), and a read straight from this data plane (its internal
        # token) leaves this line.
        log.info(
            "contact_exported",
            tenant=self.runtime.ctx.tenant.id,
            contact=self.contact_hash(contact_id),
            messages_received=len(export.received),
            messages_sent=len(export.sent),
            tasks=len(export.tasks),
        )
        return export

    async def erase(self, contact_id: str) -> ContactErasure:
        """Cancel the contact's scheduled tasks, then erase its records (`ContactRecords.erase`).

        Raises `StoreUnavailable` when the jobs or the store cannot be written now: calling
        again finishes the erasure (each step finds done what is done)."""
        held: tuple[str, ...] = (contact_id,)
        while True:
            done = await self._erase_holding(contact_id, held)
            if isinstance(done, ContactErasure):
                break
            held = done  # each time more ids: moves are few, and made one by one
        erasure = replace(done, appointments_left=await self._appointments_left(contact_id))
        if erasure.records.calls_kept and self.runtime.redelivery is not None:
            # `/health` and the gauge at once, not at the next pass.
            await self.runtime.redelivery.recount(gone_as="erased")
        log.info(
            "contact_erased",
            tenant=self.runtime.ctx.tenant.id,
            contact=self.contact_hash(contact_id),
            conversation=erasure.records.conversation,
            messages_received=erasure.records.messages_received,
            messages_sent=erasure.records.messages_sent,
            tasks_cancelled=erasure.tasks_cancelled,
            kept_notifications=erasure.records.calls_kept,
        )
        return erasure

    async def _erase_holding(
        self, contact_id: str, held: tuple[str, ...]
    ) -> ContactErasure | tuple[str, ...]:
        """The erasure, run in the order of each id of `held` (the contact's alone: as any
        erasure of a contact with no unfinished move, which costs nothing more), or the ids to
        hold when it reaches further: then it did nothing, and is to be asked again holding them.

        An unfinished move makes the erasure reach an earlier id's reminders, which run in that
        id's order: one under way there (waiting for a connector) would write, schedule again or
        send after the erasure answered. So the erasure also waits for, and holds off, the turns
        of every earlier id. It learns them only in the contact's order (a move to the contact
        runs there too), and cannot take another order while holding one (a move queued in both
        could wait for it as it waits for the move): it lets the contact's order go and is asked
        again in all of them at once (`in_orders`), where the moves are read again. A message
        queued for the contact meanwhile is answered before it, and erased with the rest."""

        async def erase() -> ContactErasure | tuple[str, ...]:
            moves = await self._unfinished_moves()
            earlier = _earlier_ids(contact_id, moves)
            missing = [contact for contact in earlier if contact not in held]
            if missing:  # a move made since the ids were read: hold its ids too
                return (*held, *missing)
            # The reminders an unfinished move still keeps under an earlier id are the erased
            # conversation's (the move's commit took the conversation, the job file refused
            # them). The move's record is the only link from this id to them, and this
            # erasure's commit deletes it: left, they would fire under the earlier id, reaching
            # the supergroup with the erased person's data. So they are cancelled where they
            # are, rather than the move finished first and then cancelled: the result is the
            # same (none left), but an erasure should not rewrite the person's data once more
            # (each moved job, its data included, written anew in the job file and its log),
            # nor hang on the step of the move that failed. Cancelled before the store's
            # commit: a failure here leaves the record, and the erasure asked again finds it.
            cancelled = 0
            for contact in (contact_id, *earlier):
                cancelled += await self._cancel_tasks(contact)
            scheduler = self.runtime.scheduler
            if isinstance(scheduler, ForgetsErasedJobs):
                # Even with nothing cancelled: a reminder sent earlier left its row's pages.
                await scheduler.forget_erased()
            await self._close_moves(moves, earlier)
            records = await self.records.erase(contact_id)
            for contact in (contact_id, *earlier):
                self.runtime.contact_erased(contact)
            return ContactErasure(records, cancelled)

        if len(held) == 1:
            done: ContactErasure | tuple[str, ...] = await self.runtime.after_turns(
                contact_id, erase
            )
        else:
            # Ending in the contact's own order, as an erasure of its own would.
            done = await self.runtime.in_orders((*held[1:], contact_id), erase)
        return done

    async def _read(self, contact_id: str) -> ContactExport:
        runtime = self.runtime
        conversation = await runtime.states.load(contact_id)
        received = await self.records.received(contact_id, limit=EXPORT_LIMIT + 1)
        sent: list[dict[str, Any]] = []
        while len(sent) <= EXPORT_LIMIT:
            after = sent[-1]["seq"] if sent else 0
            page = await runtime.outbox.since(contact_id=contact_id, since=after, limit=_PAGE)
            sent += page
            if len(page) < _PAGE:
                break
        moves = await self._unfinished_moves()
        earlier = _earlier_ids(contact_id, moves)
        tasks: list[ScheduledJob] = []
        # What the erasure would cancel: with the reminders an unfinished move still keeps
        # under an earlier id (each names its `contact_id`).
        for contact in (contact_id, *earlier):
            tasks += await self._tasks(contact, limit=EXPORT_LIMIT + 1 - len(tasks))
            if len(tasks) > EXPORT_LIMIT:
                break
        truncated = max(len(received), len(sent), len(tasks)) > EXPORT_LIMIT
        appointments = [await self._appointments(c, contact_id) for c in self._calendars()]
        redelivery = runtime.redelivery
        kept = [] if redelivery is None else await redelivery.queue.of_contact(contact_id)
        truncated = truncated or len(kept) > EXPORT_LIMIT
        return ContactExport(
            contact_id=contact_id,
            conversation=conversation,
            received=received[:EXPORT_LIMIT],
            sent=sent[:EXPORT_LIMIT],
            tasks=tasks[:EXPORT_LIMIT],
            truncated=truncated,
            appointments=appointments,
            kept_calls=kept[:EXPORT_LIMIT],
            moves=[m for m in moves if m[0] == contact_id or m[1] in (contact_id, *earlier)],
        )

    async def _appointments_left(self, contact_id: str) -> int | None:
        """How many upcoming appointments the calendars hold for the contact after an
        erasure (said in its answer: it is not the erasure of everything); None when a
        calendar could not be read."""
        found = [await self._appointments(c, contact_id) for c in self._calendars()]
        if any(listed.appointments is None for listed in found):
            return None
        return sum(len(listed.appointments or []) for listed in found)

    def _calendars(self) -> list[str]:
        """The tenant's connectors that list a contact's appointments (`calendar`, and named
        bindings such as `calendar.downtown`)."""
        operations = getattr(self.runtime.connectors, "operations", None)
        if operations is None:
            return []
        found: dict[str, frozenset[str]] = operations()
        # A pool of calendars (`calendar_pool`) lists its members' appointments: each is
        # listed once, under its member, and the pool is not asked (nor its breaker touched).
        bare = getattr(self.runtime.connectors, "get", None)
        pooled = set() if bare is None else {n for n in found if _answers_for_others(bare(n))}
        return sorted(
            name for name, ops in found.items() if "list_appointments" in ops and name not in pooled
        )

    async def _appointments(self, connector: str, contact_id: str) -> CalendarAppointments:
        try:
            listed = await self.runtime.connectors.call(
                connector,
                "list_appointments",
                {"contact_id": contact_id},
                idempotency_key=f"export:{connector}:{contact_id}",
            )
        except Exception as exc:  # the export still answers with what this data plane holds
            log.warning(
                "contact_export_calendar_failed",
                tenant=self.runtime.ctx.tenant.id,
                contact=self.contact_hash(contact_id),
                connector=connector,
                error=type(exc).__name__,
            )
            return CalendarAppointments(connector, None, f"{type(exc).__name__}: {exc}")
        return CalendarAppointments(connector, list(listed or []))

    async def _unfinished_moves(self) -> list[tuple[str, str]]:
        records = self.records
        if not isinstance(records, MovesConversations):
            return []
        return await records.unfinished_moves()

    async def _close_moves(self, moves: list[tuple[str, str]], earlier: list[str]) -> None:
        """The records of a chain's earlier moves (a -> b of a -> b -> contact): their
        reminders were cancelled, nothing is left for them to finish, and they name the
        person's ids. The contact's own moves go with its records (`ContactRecords.erase`)."""
        records = self.records
        if not isinstance(records, MovesConversations):
            return
        for old, new in moves:
            if new in earlier:
                await records.move_finished(old, new)

    async def _tasks(self, contact_id: str, *, limit: int | None = None) -> list[ScheduledJob]:
        scheduler = self.runtime.scheduler
        if scheduler is None:
            return []
        return await scheduler.jobs(contact_id=contact_id, limit=limit)

    async def _cancel_tasks(self, contact_id: str) -> int:
        scheduler = self.runtime.scheduler
        if scheduler is None:
            return 0
        cancelled = 0
        for job in await self._tasks(contact_id):
            if job.kind == "one_off" and await scheduler.cancel(job.key):
                cancelled += 1
        return cancelled


def _answers_for_others(connector: object) -> bool:
    """Whether `connector` answers for other bindings (a `calendar_pool`'s `answers_for`)."""
    return bool(getattr(connector, "answers_for", None))


def _earlier_ids(contact_id: str, moves: list[tuple[str, str]]) -> list[str]:
    """The ids an unfinished move still has to bring reminders from to `contact_id`: the old id
    of each move to it, and theirs in turn (a chain), nearest first; never `contact_id`."""
    found = [contact_id]
    for contact in found:  # grows while walked: each id's own earlier ids
        for old, new in moves:
            if new == contact and old not in found:
                found.append(old)
    return found[1:]
