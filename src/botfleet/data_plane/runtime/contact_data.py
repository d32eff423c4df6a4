"""A contact's data on request: everything this data plane holds about one contact, or its
erasure (a person's right to see, or to have erased, what a business keeps about them).

Both run in the contact's order (`ConversationRuntime.after_turns`): after the turns already
queued for the contact, never in the middle of one, so a turn cannot write back a state read
before its erasure. What it covers: the conversation state, the messages the contact sent (the
journal's 8 days) and what the bot sent (the outbox), and the contact's scheduled tasks.
Not covered, as they are not this data plane's: the tenant's calendar and the systems its
connectors call, and the logs, which name contacts by a keyed hash only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog

from botfleet.contact_hash import hash_contact
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.flows.state import ConversationState
from botfleet.ports.contact_records import ContactRecords, ErasedRecords
from botfleet.ports.scheduling import ForgetsErasedJobs, ScheduledJob
from botfleet.ports.stores import JournalEntry

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


@dataclass(frozen=True, slots=True)
class ContactErasure:
    """What an erasure removed."""

    records: ErasedRecords
    #: Scheduled tasks of the contact cancelled (reminders never sent).
    tasks_cancelled: int


@dataclass(frozen=True, slots=True)
class ContactData:
    """Export and erasure of a contact's data, in the contact's order."""

    runtime: ConversationRuntime
    records: ContactRecords

    def contact_hash(self, contact_id: str) -> str:
        """The contact as this data plane's log lines name it."""
        return hash_contact(self.runtime.ctx.tenant.id, contact_id)

    async def export(self, contact_id: str) -> ContactExport:
        async def read() -> ContactExport:
            return await self._read(contact_id)

        export: ContactExport = await self.runtime.after_turns(contact_id, read)
        return export

    async def erase(self, contact_id: str) -> ContactErasure:
        """Cancel the contact's scheduled tasks, then erase its records (`ContactRecords.erase`).

        Raises `StoreUnavailable` when the jobs or the store cannot be written now: calling
        again finishes the erasure (each step finds done what is done)."""

        async def erase() -> ContactErasure:
            cancelled = await self._cancel_tasks(contact_id)
            scheduler = self.runtime.scheduler
            if isinstance(scheduler, ForgetsErasedJobs):
                # Even with nothing cancelled: a reminder sent earlier left its row's pages.
                await scheduler.forget_erased()
            records = await self.records.erase(contact_id)
            self.runtime.contact_erased(contact_id)
            return ContactErasure(records, cancelled)

        erasure: ContactErasure = await self.runtime.after_turns(contact_id, erase)
        log.info(
            "contact_erased",
            tenant=self.runtime.ctx.tenant.id,
            contact=self.contact_hash(contact_id),
            conversation=erasure.records.conversation,
            messages_received=erasure.records.messages_received,
            messages_sent=erasure.records.messages_sent,
            tasks_cancelled=erasure.tasks_cancelled,
        )
        return erasure

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
        tasks = await self._tasks(contact_id, limit=EXPORT_LIMIT + 1)
        truncated = max(len(received), len(sent), len(tasks)) > EXPORT_LIMIT
        appointments = [await self._appointments(c, contact_id) for c in self._calendars()]
        return ContactExport(
            contact_id=contact_id,
            conversation=conversation,
            received=received[:EXPORT_LIMIT],
            sent=sent[:EXPORT_LIMIT],
            tasks=tasks[:EXPORT_LIMIT],
            truncated=truncated,
            appointments=appointments,
        )

    def _calendars(self) -> list[str]:
        """The tenant's connectors that list a contact's appointments (`calendar`, and named
        bindings such as `calendar.downtown`)."""
        operations = getattr(self.runtime.connectors, "operations", None)
        if operations is None:
            return []
        found: dict[str, frozenset[str]] = operations()
        return sorted(name for name, ops in found.items() if "list_appointments" in ops)

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
