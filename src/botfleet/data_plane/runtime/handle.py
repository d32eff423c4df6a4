"""The conversation runtime: journal -> per-contact order -> step loop -> commit -> send.

Exactly-once turns: an inbound message is journaled before it is acknowledged; its turn then
runs in the contact's order and ends with one `commit_turn` transaction (new state, outbox rows,
journal entry done). A crash before the commit leaves the entry pending and the state untouched,
so `recover()` runs the turn again from the same state; a crash after it leaves nothing to redo.
A synchronous channel (`handle`: the web chat) acknowledges a message only with its turn's
answer, so there the commit itself journals the message: a crash before it leaves nothing, and
the sender, who got no answer, sends it again (docs/decisions.md).
Outputs go to the channel after the commit: at least once to the provider (the web chat reads
the outbox, so exactly once there).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from time import monotonic, perf_counter
from typing import Any, NamedTuple, cast

import structlog

from botfleet.data_plane.runtime.cancellation import stray_cancellation_as_error
from botfleet.data_plane.runtime.contact_log import ContactLog
from botfleet.data_plane.runtime.contact_moves import ContactMove, move_records
from botfleet.data_plane.runtime.flow_holder import LiveConfig
from botfleet.data_plane.runtime.metrics import ChannelCounters, RuntimeMetrics
from botfleet.data_plane.runtime.redelivery import Redelivery
from botfleet.data_plane.runtime.sequencer import ContactSequencer
from botfleet.data_plane.runtime.state_cache import StateCache
from botfleet.data_plane.runtime.step_loop import (
    MAX_CALLS_PER_TURN,
    StepObserver,
    carry_out_held,
    run_steps,
)
from botfleet.data_plane.runtime.task_outcome import SKIPPED, TaskOutcome
from botfleet.data_plane.runtime.typing_shown import ShownTyping
from botfleet.domain.degrade import MenuTexts, degrade, menu_texts, repeated_options
from botfleet.domain.errors import (
    ConcurrentUpdate,
    MessageIdConflict,
    Overloaded,
    StoreError,
    StoreUnavailable,
    TaskAlreadyRan,
    TemplateError,
)
from botfleet.domain.messages import OPTION_MENU, InboundMessage, MessageType
from botfleet.domain.outputs import Output, output_from_dict, output_to_dict
from botfleet.flows.effects import Diagnostic
from botfleet.flows.engine import StepContext, start_state
from botfleet.flows.events import Event, MessageReceived, TaskFired
from botfleet.flows.schema import FlowSpec
from botfleet.flows.state import ConversationState
from botfleet.ports.channels import (
    NOTHING_SENT,
    Capabilities,
    OutboundSender,
    ReadReceipts,
    SendOutcome,
    TurnResult,
    TypingIndicator,
)
from botfleet.ports.clock import Clock
from botfleet.ports.connectors import ConnectorCaller, LLMFallback
from botfleet.ports.contact_records import ContactRecords
from botfleet.ports.scheduling import Claim, TaskScheduler, run_moment, runs_once
from botfleet.ports.stores import (
    JournalEntry,
    MessageJournal,
    OutboxStore,
    ReceivedMessage,
    StateStore,
    TurnStore,
)

__all__ = ["MAX_CALLS_PER_TURN", "ConversationRuntime"]

log = structlog.get_logger("botfleet.runtime")

#: Times a turn is run again when another writer changed the contact's state under it.
COMMIT_ATTEMPTS = 3
#: Messages acknowledged but not yet processed (queued or running) before new deliveries are
#: refused with 503: each holds memory until its turn, and a webhook flood or a slow
#: connector would otherwise grow the queue without bound (`DP_MAX_BACKLOG`).
DEFAULT_MAX_BACKLOG = 50_000
#: Seconds between two `backlog_full` warnings (every refused delivery is counted).
_BACKLOG_LOG_EVERY_S = 10.0
#: Erasures remembered to skip task runs handed over before them (runs wait seconds).
_ERASURES_REMEMBERED = 10_000
#: Moves remembered to send task runs handed over before them to the new contact.
_MOVES_REMEMBERED = 10_000
#: `settings.debounce_ms`: a contact who never pauses is answered at the latest this many
#: debounce periods after their first text, with what they sent until then.
MAX_DEBOUNCE_PERIODS = 5
#: ...and at the latest once this many texts wait: one turn never reads an unbounded text.
MAX_MERGED_TEXTS = 20
#: Seconds before a turn that met an unavailable store (locked, full, I/O error) is tried again,
#: doubling up to the second figure: a journaled message is not delivered again by anyone (its
#: provider got the 200), nor is a due task, so the turn is retried here, in the contact's order.
STORE_RETRY_PAUSES_S = (1.0, 60.0)


class _Answer(NamedTuple):
    """A turn's outputs as committed, and the outbox seq of each (None: the store gave none);
    `language`: the turn's `StepOutcome.language`, for `TurnResult.language`."""

    outputs: list[Output]
    seqs: tuple[int, ...] | None
    language: str = ""


#: What a text taken in by an earlier text's turn answers its own caller: nothing.
_NO_ANSWER = _Answer([], ())


@dataclass(eq=False, slots=True)
class _MessageTurn:
    """A message's turn as the contact's sequencer runs it.

    With `settings.debounce_ms`, the turn of an earlier text may take this one in (`merged`):
    it answers both in one commit and leaves here the outcome this one's caller gets.
    """

    run: Callable[[_MessageTurn], Awaitable[_Answer]]
    message: InboundMessage
    #: When it was received, as its journal entry says (or will: see `recorded`). The turn's
    #: `delay`s count from it, so the turn run again after a crash asks for the same due times.
    received_at: datetime
    #: Journaled already (`accept`, recovery); if not (`handle`), the turn's commit records it.
    recorded: bool = True
    arrived: float = field(default_factory=monotonic)
    merged: bool = False
    outcome: _Answer | BaseException | None = None

    def __call__(self) -> Awaitable[_Answer]:
        return self.run(self)


@dataclass(frozen=True, slots=True)
class _MovedTo:
    """A task run handed over before its contact moved: it runs in the new contact's order."""

    contact_id: str


def _not_run(
    exc: Exception, contact_log: ContactLog, task: str, job_id: str, seen: list[Diagnostic]
) -> TaskOutcome:
    """A strict run refused (`TemplateError`), or its claim refused (`_Unclaimed`): nothing of
    it stored, scheduled or sent."""
    if isinstance(exc, TemplateError):
        contact_log.info(
            "task_refused_strict", task=task, job_id=job_id, where=exc.where, detail=exc.detail
        )
        return TaskOutcome("refused", diagnostics=tuple(seen))
    # Cancelled, or scheduled again, while the run waited for the contact's turn.
    contact_log.info("task_cancelled_while_due", task=task, job_id=job_id)
    return SKIPPED


def _once(claim: Claim | None) -> Claim | None:
    """`claim`, true from its first yes on."""
    if claim is None:
        return None
    claimed = False

    async def once() -> bool:
        nonlocal claimed
        claimed = claimed or await claim()
        return claimed

    return once


class _Unclaimed(Exception):
    """A run's `claim` said no: the job it stands for is no longer the one asked for."""


@dataclass(frozen=True, slots=True)
class _AfterTurns:
    """A job run after the contact's queued turns (a read receipt). It changes nothing in the
    conversation, so texts queued on either side of it may still be answered together."""

    job: Callable[[], Awaitable[object]]

    def __call__(self) -> Awaitable[object]:
        return self.job()


@dataclass
class ConversationRuntime:
    """Implements `InboundHandler` for every channel of one tenant."""

    live: LiveConfig
    ctx: StepContext
    states: StateStore
    journal: MessageJournal
    outbox: OutboxStore
    turns: TurnStore
    sender: OutboundSender
    connectors: ConnectorCaller
    clock: Clock
    llm: LLMFallback | None = None
    scheduler: TaskScheduler | None = None
    #: A contact's records for export and erasure (`contact_data`); None: not offered.
    records: ContactRecords | None = None
    metrics: RuntimeMetrics = field(default_factory=RuntimeMetrics)
    sequencer: ContactSequencer = field(default_factory=ContactSequencer)
    #: Last committed states: a turn then reads nothing (its commit still checks the version).
    #: Anything else that writes a state must `state_cache.forget(contact_id)`.
    state_cache: StateCache = field(default_factory=StateCache)
    #: The channel pushes to a provider (not the web chat, which reads the outbox): track each
    #: turn's outputs until sent, so outputs committed just before a crash are sent at start.
    #: A sender over several channels (`confirms_delivery(contact_id)`) narrows it per contact.
    confirm_delivery: bool = False
    #: Called with each engine step's result (the conversation-test runner's coverage).
    step_observer: StepObserver | None = None
    #: Keeps the failed calls of bindings that redeliver (`redelivery`); None: none do.
    redelivery: Redelivery | None = None
    #: Honour the flow's `settings.debounce_ms` (the conversation-test sandbox turns it off).
    debounce: bool = True
    #: `accept()` refuses new messages (`Overloaded`) while this many wait for their turns.
    max_backlog: int = DEFAULT_MAX_BACKLOG
    #: First and longest pause before a turn that met an unavailable store runs again.
    store_retry_pauses: tuple[float, float] = STORE_RETRY_PAUSES_S
    #: Message ids queued or running in this process, with their contacts (so recovery never
    #: queues one twice, and a duplicate of one not journaled yet waits for its answer).
    _in_flight: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    #: The "typing…" of each contact whose message's turn is running (`_show_typing`).
    _typing: dict[str, ShownTyping] = field(default_factory=dict, init=False, repr=False)
    _backlog_logged_at: float = field(default=-_BACKLOG_LOG_EVERY_S, init=False, repr=False)
    #: Contacts erased lately -> when (monotonic): task runs handed over before it are skipped.
    _erased_at: OrderedDict[str, float] = field(default_factory=OrderedDict, init=False, repr=False)
    #: Contacts moved lately -> (their new id, when): task runs handed over before it follow.
    _moved_at: OrderedDict[str, tuple[str, float]] = field(
        default_factory=OrderedDict, init=False, repr=False
    )
    #: Moves queued and not started yet, by (old id, new id): a notice repeated meanwhile
    #: shares the queued one (the moves held by a blocked contact stay bounded).
    _moves_queued: dict[tuple[str, str], asyncio.Future[Any]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        self.metrics.start_channels(self.ctx.channel, self.ctx.more_channels)

    def _counters(self, contact_id: str) -> ChannelCounters:
        """The per-channel counters of the contact's channel (read from `ctx` each time: the
        conversation-test sandbox swaps it for the channel it plays)."""
        return self.metrics.of(contact_id, self.ctx.channel, self.ctx.more_channels)

    # ---------------------------------------------------------------- InboundHandler

    async def handle(self, message: InboundMessage) -> TurnResult:
        """Run the message's turn in the contact's order and return the outputs.

        The answer is the acknowledgement, so the message is journaled by its turn's commit
        (one write fewer than `accept`'s journal-first): a message seen before, or still
        running here, is a duplicate and gets the first one's replies.
        """
        self._counters(message.contact_id).messages_in.inc()
        received_at = self.clock.now()
        entry = await self.journal.get(message.message_id)
        # No await between this check and `_submit`: one of two copies runs, the other waits.
        if entry is not None or message.message_id in self._in_flight:
            self.metrics.duplicates.inc()
            return await self._duplicate(message, entry)
        answer: _Answer = await self._submit(message, received_at, recorded=False)
        return TurnResult(
            message.message_id, tuple(answer.outputs), seqs=answer.seqs, language=answer.language
        )

    async def accept(self, message: InboundMessage, *, admitted: bool = False) -> bool:
        """Journal the message and run its turn in the background; False for a duplicate.

        Raises `Overloaded` (nothing stored) while `max_backlog` messages wait for their turns,
        unless `admitted`: a later message of a delivery whose first one was let in (a delivery
        is stored whole or refused whole, so the provider's redelivery is all new or all seen).
        """
        if not admitted and len(self._in_flight) >= self.max_backlog:
            self._refuse(message)
        if message.message_id in self._in_flight:
            # Running here already, maybe not journaled yet (`handle`'s turn records it in its
            # commit): recording it now would make that commit fail.
            self._counters(message.contact_id).messages_in.inc()
            self.metrics.duplicates.inc()
            return False
        received_at = self.clock.now()
        if not await self._record(message, received_at):
            await self._adopt_orphan(message.message_id)
            return False
        # The turn logs its own failure; retrieving the error keeps asyncio from reporting it.
        self._submit(message, received_at).add_done_callback(_consume_error)
        return True

    async def run_task(
        self,
        contact_id: str | None,
        task: str,
        data: dict[str, Any],
        job_id: str,
        *,
        strict: bool = False,
        claim: Claim | None = None,
    ) -> TaskOutcome:
        """A due scheduled task, run in the contact's order (never inside one of its turns): the
        scheduler's `TaskRunner`. Returns whether it ran and what became of its turn's messages,
        as the sender's send of that turn returned it (`POST /run-task`): not another turn's of
        the contact, queued before or after it.

        `strict` (a manual run's): its templates render strictly; a value one lacks refuses the
        run (`refused`) before anything is stored, scheduled or sent. `claim`: awaited once the
        turn rendered, before any of that; False skips the run (a pending job run by id: it is
        taken out of the job file then, so a refused run leaves it pending)."""
        if contact_id is None:
            log.warning("task_without_contact", tenant=self.ctx.tenant.id, task=task, job_id=job_id)
            return SKIPPED
        handed_at = monotonic()
        job = partial(
            self._task,
            contact_id,
            task,
            data,
            job_id,
            handed_at=handed_at,
            strict=strict,
            claim=claim,
        )
        outcome: TaskOutcome | _MovedTo = await self.sequencer.submit(contact_id, job)
        followed = {contact_id}
        while isinstance(outcome, _MovedTo):  # (moved again meanwhile: followed again)
            # Submitted from here, not from the old contact's job: that one waiting for the new
            # contact's order could wait for a move waiting for the old contact's. A contact
            # met twice (moved there and back) keeps the run, which never goes round for good.
            to = outcome.contact_id
            handed = None if to in followed else handed_at
            followed.add(to)
            job = partial(
                self._task, to, task, data, job_id, handed_at=handed, strict=strict, claim=claim
            )
            outcome = await self.sequencer.submit(to, job)
        return outcome

    def contact_erased(self, contact_id: str) -> None:
        """The contact's records were just erased (in its order): its cached state goes, and a
        task run handed over before now (a reminder that fell due while the erasure waited for
        the contact's turns, no longer among the stored jobs it cancelled) is skipped."""
        self.state_cache.forget(contact_id)
        self._erased_at[contact_id] = monotonic()
        self._erased_at.move_to_end(contact_id)
        while len(self._erased_at) > _ERASURES_REMEMBERED:
            self._erased_at.popitem(last=False)

    def contact_moved(self, old_contact_id: str, new_contact_id: str) -> None:
        """The contact's conversation or jobs were just moved to a new id (in both contacts'
        order): cached states go, and a task run handed over before now (no longer among the
        stored jobs the move took along) runs in the new contact's conversation."""
        self.state_cache.forget(old_contact_id)
        self.state_cache.forget(new_contact_id)
        self._moved_at[old_contact_id] = (new_contact_id, monotonic())
        self._moved_at.move_to_end(old_contact_id)
        while len(self._moved_at) > _MOVES_REMEMBERED:
            self._moved_at.popitem(last=False)

    def _moved_to(self, contact_id: str) -> str:
        """Where the contact's moves took it (itself if none); a move back ends the walk."""
        seen = {contact_id}
        while (moved := self._moved_at.get(contact_id)) is not None and moved[0] not in seen:
            contact_id = moved[0]
            seen.add(contact_id)
        return contact_id

    def move_contact(self, old_contact_id: str, new_contact_id: str) -> asyncio.Future[Any]:
        """Move the contact's conversation and pending jobs to its new id (`contact_moves`),
        once the turns queued for either id are done; turns queued after this wait for it.
        The future's result is a `ContactMove`; a failure is logged (`contact_move_failed`)
        and raised by it, and needs no awaiting (a webhook queues the move and answers). The
        same move asked again before it starts gets the queued one's future. Raises
        `Overloaded` while `max_backlog` other moves wait to start."""
        if old_contact_id == new_contact_id:
            raise ValueError(f"contact {old_contact_id!r} cannot be moved onto itself")
        pair = (old_contact_id, new_contact_id)
        queued = self._moves_queued.get(pair)
        if queued is not None:
            return queued
        if len(self._moves_queued) >= self.max_backlog:
            self.metrics.refused_backlog.inc()
            raise Overloaded(f"{len(self._moves_queued)} contact moves wait to start")

        async def move() -> ContactMove:
            # Started: a notice from now on queues a move of its own (this one may fail).
            self._moves_queued.pop(pair, None)
            try:
                return await move_records(self, old_contact_id, new_contact_id)
            except Exception as exc:
                contact_log = ContactLog(log, self.ctx.tenant.id, old_contact_id)
                contact_log.failure("contact_move_failed", exc)
                raise

        moving = self.in_orders((old_contact_id, new_contact_id), move)
        self._moves_queued[pair] = moving
        # Cancelled before it started (a shutdown): not left behind as queued.
        moving.add_done_callback(lambda _: self._forget_queued_move(pair, moving))
        moving.add_done_callback(_consume_error)  # logged above
        return moving

    def _forget_queued_move(self, pair: tuple[str, str], moving: asyncio.Future[Any]) -> None:
        if self._moves_queued.get(pair) is moving:
            del self._moves_queued[pair]

    def in_orders(
        self, contacts: Sequence[str], job: Callable[[], Awaitable[Any]]
    ) -> asyncio.Future[Any]:
        """Run `job` in the order of each of `contacts`: once every one reaches it, none
        running a turn; `job` runs in the last one's order, the others wait until it ends.

        Every place is taken now, with no await in between: each contact's queue then holds
        such jobs in the order they were asked, the same for all, so any two of them on shared
        contacts hold those in the same order and neither waits for the other for good (the
        order of `contacts` does not matter). An id named twice is held once."""
        keys = list(dict.fromkeys(contacts))
        if not keys:
            raise ValueError("in_orders: no contact named")
        done = asyncio.Event()
        reached = [asyncio.Event() for _ in keys[:-1]]

        def holding(place: asyncio.Event) -> Callable[[], Awaitable[None]]:
            async def hold() -> None:
                place.set()
                await done.wait()

            return hold

        async def run() -> Any:
            try:
                for place in reached:
                    await place.wait()
                return await job()
            finally:
                done.set()  # also when cancelled: the other contacts' later turns go on

        for key, place in zip(keys, reached, strict=False):
            self.sequencer.submit(key, holding(place)).add_done_callback(_consume_error)
        return self.sequencer.submit(keys[-1], run)

    def after_turns(
        self, contact_id: str, job: Callable[[], Awaitable[object]]
    ) -> asyncio.Future[Any]:
        """Run `job` after the contact's queued turns, in the contact's order (read receipts)."""
        return self.sequencer.submit(contact_id, _AfterTurns(job))

    async def recover(self) -> int:
        """After a crash: send committed outputs the channel never got, then queue the turns of
        messages acknowledged but never processed. Returns how many messages; everything runs in
        the background, each contact's in order, before any message that arrives later."""
        if self.confirm_delivery:
            await self._redeliver()
        pending = [
            e for e in await self.journal.pending() if e.message.message_id not in self._in_flight
        ]
        receipts = self.sender if isinstance(self.sender, ReadReceipts) else None
        for entry in pending:
            # Received when first journaled: the replayed turn's delays count from then. A
            # message of a contact whose move this start finished (`finish_moves`: it came after
            # the move, which a crash cut short) runs in the moved conversation, under the new id.
            message = entry.message
            moved_to = self._moved_to(message.contact_id)
            if moved_to != message.contact_id:
                message = replace(message, contact_id=moved_to)
            self._submit(message, entry.received_at).add_done_callback(_consume_error)
            if receipts is not None and receipts.marks_read:
                # As the webhook does after a turn: the crash kept the receipt from being sent.
                receipt = partial(
                    receipts.mark_read,
                    entry.message.message_id,
                    contact_id=entry.message.contact_id,  # its failure names the contact
                )
                self.after_turns(entry.message.contact_id, receipt).add_done_callback(
                    _consume_error
                )
        if pending:
            self.metrics.recovered.inc(len(pending))
            log.info("recovering_messages", tenant=self.ctx.tenant.id, count=len(pending))
        return len(pending)

    # ---------------------------------------------------------------- inbound messages

    async def _record(self, message: InboundMessage, received_at: datetime) -> bool:
        self._counters(message.contact_id).messages_in.inc()
        is_new = await self.journal.record(message, received_at)
        if not is_new:
            self.metrics.duplicates.inc()
        return is_new

    def _refuse(self, message: InboundMessage) -> None:
        self.metrics.refused_backlog.inc()
        now = monotonic()
        if now >= self._backlog_logged_at + _BACKLOG_LOG_EVERY_S:
            self._backlog_logged_at = now
            log.warning(
                "backlog_full",
                tenant=self.ctx.tenant.id,
                waiting=len(self._in_flight),
                limit=self.max_backlog,
            )
        raise Overloaded(
            f"{len(self._in_flight)} messages wait for their turns (limit {self.max_backlog}); "
            f"message {message.message_id!r} was not stored"
        )

    def _submit(
        self, message: InboundMessage, received_at: datetime, *, recorded: bool = True
    ) -> asyncio.Future[Any]:
        self._in_flight[message.message_id] = message.contact_id
        job = _MessageTurn(self._turn, message, received_at, recorded)
        return self.sequencer.submit(message.contact_id, job)

    async def _adopt_orphan(self, message_id: str) -> JournalEntry | None:
        """A redelivered message's entry; queues its turn if it is pending but not queued here
        (the request that journaled it was cancelled before it could queue the turn)."""
        entry = await self.journal.get(message_id)
        self._queue_orphan(entry)
        return entry

    def _queue_orphan(self, entry: JournalEntry | None) -> None:
        if entry is None or entry.status != "pending":
            return
        if entry.message.message_id not in self._in_flight:
            self._submit(entry.message, entry.received_at).add_done_callback(_consume_error)

    async def _duplicate(self, message: InboundMessage, entry: JournalEntry | None) -> TurnResult:
        # `entry` as `handle` just read it (read once: an unreadable one is logged once).
        self._queue_orphan(entry)
        owner = entry.message.contact_id if entry is not None else None
        owner = owner or self._in_flight.get(message.message_id)  # not journaled yet
        if owner is not None and owner != message.contact_id:
            # Ids are unique per tenant, not per contact: answering would hand one contact
            # another's replies, and dropping it silently would lose this message.
            raise MessageIdConflict(
                f"message_id {message.message_id!r} was already used by another contact; "
                "send each message with a new id"
            )
        if owner is not None and message.message_id in self._in_flight:
            # Still queued or running here: answer once it is done (the same contact's queue).
            entry = await self.after_turns(owner, partial(self.journal.get, message.message_id))
            if entry is None:
                # Its turn could not commit (the first copy got a 503): nothing answered it,
                # and a "duplicate" with no replies would stop this copy's client retrying.
                raise StoreUnavailable(
                    f"message {message.message_id!r} could not be stored; send it again",
                    cause="the turn of an earlier copy could not be committed",
                )
        return TurnResult(
            message.message_id,
            _replies_of(entry),
            duplicate=True,
            seqs=None if entry is None else entry.reply_seqs,
        )

    async def _turn(self, job: _MessageTurn) -> _Answer:
        message = job.message
        if job.merged:  # an earlier text's turn answered this one too
            self._in_flight.pop(message.message_id, None)
            if isinstance(job.outcome, BaseException):
                # The turn's own error, raised once more here: without the frames it collected
                # in the turn that took this message in.
                raise job.outcome.with_traceback(None)
            return job.outcome or _NO_ANSWER
        started = perf_counter()
        later: list[_MessageTurn] = []
        contact_log = ContactLog(log, self.ctx.tenant.id, message.contact_id)
        try:
            debounce_ms = self.live.flow.settings.debounce_ms
            if debounce_ms and self.debounce and _mergeable(message):
                later = await self._quiet(job, debounce_ms / 1000)
                started = perf_counter()  # the turn's own time, not the contact's pause
            batch = [job.message, *(t.message for t in later)]
            # Two ids: the engine keys the turn's connector calls with the message's, the first
            # text's (`_joined`); the answer goes to the last text's entry, whose caller gets it.
            turn_message = batch[0] if len(batch) == 1 else _joined(batch)
            answered_id = batch[-1].message_id
            self._show_typing(answered_id, contact_log)
            unrecorded = [
                ReceivedMessage(t.message, t.received_at) for t in (job, *later) if not t.recorded
            ]
            failures = 0
            while True:
                try:
                    answer, _ = await self._process(
                        message.contact_id,
                        MessageReceived(turn_message),
                        answered_id,
                        contact_log,
                        merged_ids=[m.message_id for m in batch[:-1]],
                        unrecorded=unrecorded,
                        # Merged texts: the first one's, the only one sure to start the batch
                        # again when the turn is replayed (later texts may join it then).
                        delay_from=job.received_at,
                    )
                    break
                except (StoreUnavailable, ConcurrentUpdate) as exc:
                    # A caller waiting for the answer (`handle`) gets the error and retries;
                    # a journaled message has nobody to send it again: its turn runs again.
                    failures += 1
                    if len(unrecorded) == len(batch) or not await self._paused_for_retry(
                        exc, failures, contact_log, message_id=message.message_id
                    ):
                        raise
        except Exception as exc:
            self.metrics.turn_errors.inc()
            contact_log.failure("turn_failed", exc, message_id=message.message_id)
            for taken in later:
                taken.outcome = exc
            if not isinstance(exc, StoreUnavailable | ConcurrentUpdate):
                # A store that cannot commit now may later: the entry stays pending, so the
                # message's redelivery (or the next start's recovery) runs the turn again.
                for failed in (job, *later):
                    await self._mark_failed(failed, contact_log)
            raise
        finally:
            self._turn_ended(message)
        self.metrics.turn_seconds.observe(perf_counter() - started)
        if later:
            # The answer belongs to the last text, as in the journal; the others get none.
            later[-1].outcome = answer
            self.metrics.merged.inc(len(later))
            contact_log.info("messages_merged", count=len(later) + 1, message_id=answered_id)
            return _NO_ANSWER
        return answer

    def _turn_ended(self, message: InboundMessage) -> None:
        self._in_flight.pop(message.message_id, None)
        shown = self._typing.pop(message.contact_id, None)
        if shown is not None:  # no replies were sent (`_send` ends it before sending)
            shown.abandon()

    def _show_typing(self, message_id: str, contact_log: ContactLog) -> None:
        """Arm the channel's "typing…" for the turn of `message_id` (`typing_shown`)."""
        contact_id = contact_log.contact_id
        rule_of = getattr(self.sender, "typing_rule", None)
        if rule_of is None or self.ctx.misplaced(contact_id) is not None:
            return
        rule = rule_of(contact_id)
        if rule is not None:
            indicator = cast(TypingIndicator, self.sender)  # it has `typing_rule`
            self._typing[contact_id] = ShownTyping(indicator, rule, message_id, contact_log)

    async def _quiet(self, job: _MessageTurn, seconds: float) -> list[_MessageTurn]:
        """`settings.debounce_ms`: wait until the contact's last text is `seconds` old (at most
        `MAX_DEBOUNCE_PERIODS` of them after `job`'s, or until `MAX_MERGED_TEXTS` wait), then
        take in the texts queued right behind `job`. A message of another type, a press, or a
        task ends the run of texts, and the wait with it: no later text could join the turn,
        and the press would only be answered later."""
        contact_id = job.message.contact_id
        deadline = job.arrived + seconds * MAX_DEBOUNCE_PERIODS
        while True:
            later, closed = self._texts_behind(job)
            wake = min((later[-1] if later else job).arrived + seconds, deadline)
            if closed or monotonic() >= wake:
                break
            # Woken by the contact's next message (or task) as well: it may close the run.
            await self.sequencer.next_submission(contact_id, wake - monotonic())
        for taken in later:  # before any await: their jobs must not start on their own
            taken.merged = True
        return later

    def _texts_behind(self, job: _MessageTurn) -> tuple[list[_MessageTurn], bool]:
        """The texts queued right behind `job`, and whether the run is closed (something else
        queued behind them, or `MAX_MERGED_TEXTS` reached): waiting cannot add to it."""
        texts: list[_MessageTurn] = []
        for queued in self.sequencer.queued(job.message.contact_id):
            if isinstance(queued, _AfterTurns):
                continue
            if not isinstance(queued, _MessageTurn) or not _mergeable(queued.message):
                return texts, True
            if len(texts) == MAX_MERGED_TEXTS - 1:
                return texts, True
            texts.append(queued)
        return texts, len(texts) >= MAX_MERGED_TEXTS - 1

    async def _mark_failed(self, job: _MessageTurn, contact_log: ContactLog) -> None:
        message_id = job.message.message_id
        try:
            with stray_cancellation_as_error("the journal's write", error=StoreUnavailable):
                await self._write_failure(job, message_id)
        except StoreError as exc:
            contact_log.failure("turn_failure_not_recorded", exc, message_id=message_id)

    async def _write_failure(self, job: _MessageTurn, message_id: str) -> None:
        if not job.recorded:
            # As a journaled message's entry is: a copy sent again gets no second run. One
            # write: recorded pending first, a crash before its failure was written would
            # have the next start run again a message whose caller was given the error.
            await self.journal.record_failed(job.message, job.received_at)
            return
        entry = await self.journal.get(message_id)
        if entry is not None and entry.status == "pending":
            await self.journal.complete(message_id, [], status="failed")

    # ---------------------------------------------------------------- scheduled tasks

    async def _task(
        self,
        contact_id: str,
        task: str,
        data: dict[str, Any],
        job_id: str,
        *,
        handed_at: float | None = None,
        strict: bool = False,
        claim: Claim | None = None,
    ) -> TaskOutcome | _MovedTo:
        contact_log = ContactLog(log, self.ctx.tenant.id, contact_id)
        moved = self._moved_at.get(contact_id)
        if moved is not None and handed_at is not None and moved[1] >= handed_at:
            return _MovedTo(moved[0])
        erased_at = self._erased_at.get(contact_id)
        if erased_at is not None and handed_at is not None and erased_at >= handed_at:
            contact_log.info("task_skipped_contact_erased", task=task, job_id=job_id)
            return SKIPPED
        if self.scheduler is not None and not self.scheduler.wanted(job_id):
            # Cancelled or scheduled again by a turn it waited behind ("cancel my booking"
            # while its reminder fell due): the contact must not get the old reminder.
            contact_log.info("task_cancelled_while_due", task=task, job_id=job_id)
            return SKIPPED
        # A one-off job's run is recorded by its turn's commit: a job stored again after its run
        # (by the turn that scheduled it, replayed after a crash; or left in the job file by a
        # crash before its removal was written) has a run with the same id, which must not send
        # the reminder twice.
        once = runs_once(job_id)
        event, failures = TaskFired(task, data, job_id), 0
        claim = _once(claim)  # a turn run again after its claim does not claim again
        seen: list[Diagnostic] = []  # the last attempt's diagnostics (`_process` fills it)
        try:
            while True:
                try:
                    if once and await self._task_ran(job_id):
                        contact_log.info("task_already_ran", task=task, job_id=job_id)
                        return SKIPPED
                    _, sends = await self._process(
                        contact_id,
                        event,
                        None,
                        contact_log,
                        task_run=job_id if once else None,
                        delay_from=run_moment(job_id),
                        diagnostics=seen,
                        strict=strict,
                        claim=claim,
                    )
                    return TaskOutcome("done", sends, diagnostics=tuple(seen))
                except TaskAlreadyRan:  # recorded since the check (another process)
                    contact_log.info("task_already_ran", task=task, job_id=job_id)
                    return SKIPPED
                except (TemplateError, _Unclaimed) as exc:
                    if isinstance(exc, TemplateError) and not strict:
                        raise  # the conversation-test runner's strict context: a failure
                    return _not_run(exc, contact_log, task, job_id, seen)
                except (StoreUnavailable, ConcurrentUpdate) as exc:
                    # The job left the job file when it fell due: nobody runs it again.
                    failures += 1
                    if not await self._paused_for_retry(
                        exc, failures, contact_log, task=task, job_id=job_id
                    ):
                        raise
        except Exception as exc:
            contact_log.failure("task_failed", exc, task=task, job_id=job_id)
            return TaskOutcome("failed", error=exc, diagnostics=tuple(seen))

    async def _task_ran(self, run_id: str) -> bool:
        with stray_cancellation_as_error("the store's read", error=StoreUnavailable):
            return await self.turns.task_ran(run_id)

    async def _paused_for_retry(
        self, exc: StoreError, failures: int, contact_log: ContactLog, **fields: Any
    ) -> bool:
        """Wait before a turn that met an unavailable store runs again (in the contact's order:
        its later messages wait too); False, at once, while the runtime drains for a shutdown
        (the journal entry stays pending for the next start's recovery)."""
        draining = self.sequencer.draining
        if draining.is_set():
            return False
        first, longest = self.store_retry_pauses
        pause = min(first * 2 ** min(failures - 1, 32), longest)
        self.metrics.turn_errors.inc()
        contact_log.warning(
            "turn_retry_later",
            error=type(exc).__name__,
            detail=str(exc),
            failures=failures,
            pause_s=pause,
            **fields,
        )
        with suppress(TimeoutError):  # a drain ends the pause: one more try, then it gives up
            await asyncio.wait_for(draining.wait(), pause)
        return True

    # ---------------------------------------------------------------- one turn

    async def _process(
        self,
        contact_id: str,
        event: Event,
        message_id: str | None,
        contact_log: ContactLog,
        *,
        merged_ids: Sequence[str] = (),
        unrecorded: Sequence[ReceivedMessage] = (),
        task_run: str | None = None,
        delay_from: datetime | None = None,
        diagnostics: list[Diagnostic] | None = None,
        strict: bool = False,
        claim: Claim | None = None,
    ) -> tuple[_Answer, SendOutcome | None]:
        """Step, commit state + outbox + journal (or the task's run) in one transaction, then
        send. `delay_from`: what the turn's `delay`s count from (`run_steps`). Returns the
        outputs with their outbox seqs, and what the send made of them (`_send`);
        `diagnostics`, when given, is set to the steps' diagnostics (the last attempt's, as far
        as it went). `strict`, `claim`: a strict task run's (`run_task`)."""
        flow = self.live.flow
        state = self.state_cache.get(contact_id)
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            if state is None:
                state = await self._load(flow, contact_id)
            if diagnostics is not None:
                diagnostics.clear()
            try:
                outcome = await run_steps(
                    self,
                    flow,
                    state,
                    event,
                    contact_log,
                    delay_from=delay_from,
                    strict=strict,
                    diagnostics=diagnostics,
                )
                if claim is not None and not await claim():
                    raise _Unclaimed
                if outcome.held:  # a strict run's scheduling, now that it will commit
                    await carry_out_held(self, outcome, contact_log)
                _warn_repeated_options(outcome.outputs, outcome.state.node, contact_log)
                texts = _menu_texts(flow, outcome.language, self.ctx.tenant.language)
                fitted = list(degrade(outcome.outputs, self._capabilities(contact_id), texts))
                # A stray cancellation of the commit (the group it waited for was cancelled)
                # left nothing written: the turn runs again, as after a locked file.
                seqs: list[int] = []  # filled by the commit: each output's outbox seq
                with stray_cancellation_as_error("the store's commit", error=StoreUnavailable):
                    saved = await self.turns.commit_turn(
                        outcome.state,
                        expected_version=state.version,
                        message_id=message_id,
                        outputs=[output_to_dict(o) for o in fitted],
                        at=self.clock.now(),
                        undelivered=bool(fitted) and self._confirms(contact_id),
                        merged_ids=merged_ids,
                        unrecorded=unrecorded,
                        task_run=_recorded_run(task_run, outcome.scheduled_runs),
                        seqs=seqs,
                    )
            except ConcurrentUpdate:
                # Another writer (a second process on the file) moved the state: run again
                # from the stored state. Connector calls repeat with the same idempotency keys.
                self.state_cache.forget(contact_id)
                if attempt == COMMIT_ATTEMPTS:
                    raise
                contact_log.warning("turn_state_moved", attempt=attempt)
                state = None
                continue
            except BaseException:
                # A template may have changed the cached state's lists in place: drop it.
                self.state_cache.forget(contact_id)
                raise
            self.state_cache.put(saved)
            break
        sends = await self._send(contact_id, fitted, contact_log) if fitted else NOTHING_SENT
        # A store that numbers nothing (a test double of the port) leaves the seqs unknown.
        known = tuple(seqs) if len(seqs) == len(fitted) else None
        return _Answer(fitted, known, outcome.language), sends

    def _capabilities(self, contact_id: str) -> Capabilities:
        """What the contact's channel takes (a tenant on several channels: the router's word)."""
        by_contact = getattr(self.sender, "capabilities_for", None)
        if by_contact is None:
            return self.sender.capabilities
        capabilities: Capabilities = by_contact(contact_id)
        return capabilities

    def _confirms(self, contact_id: str) -> bool:
        """Whether the contact's sends are confirmed (`confirm_delivery`, per channel)."""
        if not self.confirm_delivery:
            return False
        by_contact = getattr(self.sender, "confirms_delivery", None)
        return True if by_contact is None else bool(by_contact(contact_id))

    async def _load(self, flow: FlowSpec, contact_id: str) -> ConversationState:
        with stray_cancellation_as_error("the store's load", error=StoreUnavailable):
            loaded = await self.states.load(contact_id)
        return loaded or start_state(flow, self.ctx.tenant.id, contact_id, self.clock.now())

    async def _send(
        self,
        contact_id: str,
        fitted: Sequence[Output],
        contact_log: ContactLog,
        *,
        up_to: int | None = None,
    ) -> SendOutcome | None:
        """After the commit: a failed send never undoes the turn (its replies are stored).

        A send the channel refused counts as handed over too: the sender has its own retries,
        and resending at the next start could deliver it hours late. So does one that ended in
        a stray `CancelledError`: the turn is committed, and its caller still gets its replies.
        Returns what the sender says became of the outputs; None when it cannot tell, or raised.
        """
        shown = self._typing.pop(contact_id, None)
        if shown is not None:
            await shown.stop()
        sends: SendOutcome | None = None
        if self.ctx.misplaced(contact_id) is not None:
            # A channel the tenant no longer has (its contacts' reminders stay behind): sent,
            # `channel` would get the whole id as its recipient. Refused, like a refused send.
            contact_log.warning("send_skipped_channel_gone", outputs=len(fitted))
            sends = SendOutcome(sent=0, failed=len(fitted))
        else:
            try:
                with stray_cancellation_as_error("the channel's send"):
                    sends = await self.sender.send(contact_id, fitted)
            except Exception as exc:
                self._counters(contact_id).send_errors.inc()
                contact_log.failure("send_failed", exc, outputs=len(fitted))
            else:
                self._counters(contact_id).messages_out.inc(len(fitted))
        if self._confirms(contact_id):
            try:
                with stray_cancellation_as_error(
                    "the delivery's confirmation", error=StoreUnavailable
                ):
                    await self.turns.confirm_delivered(contact_id, up_to=up_to)
            except StoreError as exc:  # sent already; at worst it is sent again after a crash
                contact_log.failure("delivery_not_confirmed", exc)
        return sends

    async def _redeliver(self) -> None:
        """Queue each contact's committed but unconfirmed outputs, in order."""
        rows = await self.turns.pending_deliveries()
        by_contact: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_contact.setdefault(row["contact_id"], []).append(row)
        for contact_id, own in by_contact.items():
            outputs = [output_from_dict(r["output"]) for r in own]
            contact_log = ContactLog(log, self.ctx.tenant.id, contact_id)
            job = partial(self._send, contact_id, outputs, contact_log, up_to=own[-1]["seq"])
            self.sequencer.submit(contact_id, job).add_done_callback(_consume_error)
        if rows:
            self.metrics.redelivered.inc(len(rows))
            log.info("redelivering_outputs", tenant=self.ctx.tenant.id, count=len(rows))


def _recorded_run(task_run: str | None, scheduled_runs: set[str]) -> str | None:
    """The run a task's commit records as done: none when the task stored its own run again
    (its key for the moment it is due), which asks for one more run. Live, time has moved on
    and the new run differs; `botfleet test`'s still clock reports the loop instead of
    stopping it silently."""
    return None if task_run in scheduled_runs else task_run


def _menu_texts(flow: FlowSpec, language: str, tenant_language: str) -> MenuTexts:
    """The words degradation adds to this turn's menus: the flow's `settings.menu_texts`, else
    the built-in ones of the turn's `language` (the engine's choice, `StepOutcome.language`:
    the flow's `settings.language`, else the contact's), else of the tenant's. Cached by
    `menu_texts`: no work per turn beyond a lookup."""
    own = flow.settings.menu_texts
    return menu_texts(language, tenant_language, own.list_button, own.number_hint)


def _warn_repeated_options(outputs: Sequence[Output], node: str, contact_log: ContactLog) -> None:
    """Degradation leaves out options whose id an earlier one has; say where, never the ids or
    titles (connector data about the contact)."""
    for index, output in enumerate(outputs):
        repeated = repeated_options(output)
        if repeated:
            contact_log.warning(
                "option_ids_repeated", state=node, output=index, kind=output.kind, left_out=repeated
            )


def _mergeable(message: InboundMessage) -> bool:
    """A typed text. An option sent by position (`#opt<n>.<fingerprint>`) comes as the typed
    answer "<n>" with its menu's fingerprint: joined to other texts it would read as text, and
    the press would be lost, so it is a press like a button."""
    return message.type is MessageType.TEXT and OPTION_MENU not in message.extra


def _joined(batch: Sequence[InboundMessage]) -> InboundMessage:
    """The texts of one contact sent within `debounce_ms`, as one message: the last one's,
    with every text on a line of its own, under the first one's id.

    The engine keys the turn's connector calls with the message id. A replay after a crash
    starts the batch with the same first text, but texts that arrived meanwhile may join its
    end: under the last one's id the replay would book again, under a new key.
    """
    text = "\n".join(m.text for m in batch if m.text.strip())
    return replace(batch[-1], message_id=batch[0].message_id, text=text)


def _replies_of(entry: JournalEntry | None) -> tuple[Output, ...]:
    return () if entry is None else tuple(output_from_dict(r) for r in entry.replies)


def _consume_error(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
