"""The working copy of one engine step: mutable inside `step`, frozen into a StepResult after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from botfleet.domain.built_in_texts import (
    ENGLISH_TEXTS,
    built_in_language,
    built_in_texts,
    well_formed_tag,
)
from botfleet.domain.channel_ids import misplaced_prefix, named_kind, served_kind
from botfleet.domain.degrade import MenuTexts, menu_texts
from botfleet.domain.messages import InboundMessage
from botfleet.domain.outputs import (
    Buttons,
    ListMenu,
    Option,
    Output,
    TemplateMessage,
    Text,
    options_of,
)
from botfleet.domain.timezones import check_zone_name
from botfleet.flows.effects import Diagnostic, Effect
from botfleet.flows.render import Renderer
from botfleet.flows.schedule_window import SchedulerInfo
from botfleet.flows.schema import FlowSpec
from botfleet.flows.state import HISTORY_LIMIT, ConversationState, Resume, Turn
from botfleet.flows.texts import TEXTS
from botfleet.flows.turn_texts import TextsView, TurnTexts

#: The English apology (`error_text` gives the one of the turn's or tenant's language).
DEFAULT_ERROR_TEXT = ENGLISH_TEXTS.error

#: The `data` key counting a state's unanswered LLM questions in a row (`llm_unanswered_after`,
#: `engine._on_llm_reply`); entering any state removes it (`TurnBuilder.result`).
LLM_UNANSWERED_COUNT = "llm_unanswered_count"


@dataclass(frozen=True, slots=True)
class TenantInfo:
    """What the engine needs to know about the tenant (the `tenant` template namespace)."""

    id: str = "default"
    name: str = ""
    timezone: str = "UTC"
    language: str = "en"

    def __post_init__(self) -> None:
        # Refused here, not at each turn: `_zone` would otherwise read `localtime` as the
        # host's clock, and an unknown name as UTC, without a word.
        try:
            check_zone_name(self.timezone)
        except ValueError as exc:
            raise ValueError(f"tenant.timezone: {exc}") from None

    def local_time(self, now: datetime) -> datetime:
        """`now` on the tenant's clock: a turn's `data.today` and the day a typed "tomorrow"
        counts from both come from here, so they cannot disagree."""
        return now.astimezone(_zone(self.timezone))


@dataclass(frozen=True, slots=True)
class StepContext:
    tenant: TenantInfo = field(default_factory=TenantInfo)
    llm_available: bool = False
    strict: bool = False
    #: The tenant's scheduler as a `schedule_task`'s `result_key` reports on it.
    scheduling: SchedulerInfo = field(default_factory=SchedulerInfo)
    #: The kind of the tenant's `channel` (`webchat`, `whatsapp`, `telegram`; "" unknown), and
    #: (id prefix, kind) of each of its `more_channels`: a contact's `contact.channel`.
    channel: str = ""
    more_channels: tuple[tuple[str, str], ...] = ()

    def channel_of(self, contact_id: str) -> str:
        """The kind of the channel the contact talks on (docs/channels.md, "Several
        channels")."""
        # A channel the tenant no longer has still names its contacts' ids (`telegram:555`).
        served = served_kind(contact_id, self.more_channels)
        return served or named_kind(contact_id) or self.channel

    def misplaced(self, contact_id: str) -> str | None:
        """`misplaced_prefix` of `contact_id` on this tenant's channels: why nothing may be
        sent to it, or None."""
        return misplaced_prefix(contact_id, self.channel, [kind for _, kind in self.more_channels])


@dataclass(frozen=True, slots=True)
class StepResult:
    state: ConversationState
    outputs: tuple[Output, ...] = ()
    effects: tuple[Effect, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    #: Paths of what fired, e.g. "states.MENU.transitions[0]", "states.MENU.fallback"
    fired: tuple[str, ...] = ()
    #: States entered during this step, in order (for coverage reports and logs)
    entered: tuple[str, ...] = ()
    #: The language of the platform's own words for this turn, before the tenant's (see
    #: `TurnBuilder.language`): the shell takes it for the words it adds (menus it degrades,
    #: the LLM's safe text, its own apologies) so they match the ones the engine chose.
    language: str = ""

    @property
    def awaiting(self) -> Resume | None:
        return self.state.awaiting


def flow_error_text(flow: FlowSpec, language: str, tenant_language: str) -> str:
    """The flow's `settings.error_text`, else the built-in apology of `language` (the turn's,
    `StepResult.language`), else of the tenant's (the engine's and the runtime's failures
    alike)."""
    return flow.settings.error_text or built_in_texts(language, tenant_language).error


def turn_language(
    flow: FlowSpec,
    state: ConversationState,
    now: datetime,
    ctx: StepContext,
    message: InboundMessage | None,
) -> str:
    """`StepResult.language` of a turn in `state` for `message`: for a shell whose step failed
    before it gave a result (a strict template's error), to apologise in the same language."""
    return TurnBuilder(flow, state, now, ctx, message).language()


class TurnBuilder:
    """Accumulates the new state, outputs, effects and diagnostics of one step."""

    def __init__(
        self,
        flow: FlowSpec,
        state: ConversationState,
        now: datetime,
        ctx: StepContext,
        message: InboundMessage | None = None,
        overlay: Mapping[str, Any] | None = None,
        *,
        resumed: bool = False,
        delay_from: datetime | None = None,
    ) -> None:
        self.flow, self.ctx, self.now, self.message = flow, ctx, now, message
        #: What a `schedule_task` `delay` counts from: the moment the turn stands for (see
        #: `engine.step`), in the clock's zone; `now` when the caller gives none.
        if delay_from is None:
            delay_from = now
        elif delay_from.tzinfo is not now.tzinfo:
            delay_from = delay_from.astimezone(now.tzinfo)
        self.delay_from = delay_from
        self.resumed = resumed  # the message was already handled (and remembered) by a prior step
        self.node = state.node
        self.data: dict[str, Any] = dict(state.data)
        self.overlay: dict[str, Any] = dict(overlay or {})
        self.last_options = state.last_options
        self.last_options_list = state.last_options_list
        self._options_node = state.node  # the state `last_options` belong to
        #: The options offered before this turn moved anywhere (restored by `return_to`).
        self.origin_options = state.last_options
        self.origin_options_list = state.last_options_list
        self.outputs: list[Output] = []
        self.effects: list[Effect] = []
        self.diagnostics: list[Diagnostic] = []
        self.fired: list[str] = []
        self.entered: list[str] = []
        self.awaiting: Resume | None = None
        self.original = state
        self.local_now = ctx.tenant.local_time(now)
        self.data["today"] = self.local_now.date().isoformat()
        # Built once and rebuilt after `set_data`: a turn renders many templates against it.
        self._variables: dict[str, Any] | None = None
        self._renderer: Renderer | None = None
        self._message_namespace: dict[str, Any] | None = None
        self._language: str | None = None  # `language()`, until `set_data`
        self._spoken: str | None = None  # `settings.language` rendered, until `set_data`

    # ---------------------------------------------------------------- templates

    def variables(self) -> dict[str, Any]:
        """The template namespaces; change `data` through `set_data` only, so this stays true."""
        if self._variables is None:
            self._variables = self._build_variables()
        return self._variables

    def _build_variables(self) -> dict[str, Any]:
        msg = self.message
        contact_name = (msg.contact_name if msg else "") or str(self.data.get("contact_name", ""))
        if self._message_namespace is None:  # the message never changes within a turn
            self._message_namespace = _message_namespace(msg) if msg else {}
        namespaces = {
            "data": {**self.data, **self.overlay},
            "message": self._message_namespace,
            "contact": {
                "id": self.original.contact_id,
                "channel": self.ctx.channel_of(self.original.contact_id),
                "name": contact_name,
                "language": (msg.language if msg else "") or self.ctx.tenant.language,
            },
            "tenant": {
                "id": self.ctx.tenant.id,
                "name": self.ctx.tenant.name,
                "timezone": self.ctx.tenant.timezone,
            },
            "today": self.data["today"],
            "now": self.local_now,
        }
        table = self.flow.text_table if self.flow.texts else None  # a field: the cheap test
        if table is None:
            return namespaces
        strict = self.ctx.strict or self.flow.settings.strict_templates
        texts = TurnTexts(
            table, namespaces, self._text_languages, strict=strict, sink=self.diagnostics
        )
        return {**namespaces, TEXTS: TextsView(texts)}

    def _text_languages(self) -> tuple[str, ...]:
        """The languages `texts` is read in, first the table has first: the one the flow
        chose (`settings.language`, any the table has, not only those the platform writes),
        the contact's, the tenant's."""
        contact = self.message.language if self.message is not None else ""
        return self._spoken_language(), contact, self.ctx.tenant.language

    def _spoken_language(self) -> str:
        """`settings.language` as it renders on this turn, "" without it."""
        spoken = self._spoken
        if spoken is None:
            source = self.flow.settings.language
            spoken = ""
            if source:
                # Never strict and never reported: a contact who has not chosen yet (an
                # undefined `data.lang`) is the common case, not a mistake, and would warn on
                # every turn; the validator checks the template itself.
                quiet = Renderer(self.variables(), sink=[])
                spoken = quiet.text(source, "settings.language").strip()
            self._spoken = spoken
        return spoken

    def renderer(self) -> Renderer:
        """The renderer of the current namespaces (a new one after `set_data`)."""
        renderer = self._renderer
        if renderer is None:
            strict = self.ctx.strict or self.flow.settings.strict_templates
            renderer = Renderer(self.variables(), strict=strict, sink=self.diagnostics)
            self._renderer = renderer
        return renderer

    # ---------------------------------------------------------------- results

    def say(self, output: Output) -> None:
        self.outputs.append(output)

    def language(self) -> str:
        """The language of the platform's own words (menu words, the apology, the LLM's safe
        text), tried before the tenant's: the flow's `settings.language` when it renders to one
        the platform writes, else the contact's (the message's, when the channel gives it).

        Rendered against the namespaces of the moment (a transition that sets `data.lang`
        changes it for what follows), at most once per change of `data`; a flow without the
        setting renders nothing."""
        language = self._language
        if language is None:
            language = self._language = self._choose_language()
        return language

    def _choose_language(self) -> str:
        return self._flow_language() or (self.message.language if self.message else "")

    def _flow_language(self) -> str:
        """`settings.language` as rendered now, when it is a language the platform writes; a
        language without its region (`pt`) in the tenant's (`pt-PT`) takes the tenant's: a
        Lisbon tenant's flow choosing `pt` from `contact.language[:2]` means Portugal's words,
        not Brazil's, which `pt` alone gets."""
        chosen = self._spoken_language()
        if not (well_formed_tag(chosen) and built_in_language(chosen)):
            return ""
        tenant = self.ctx.tenant.language
        if "-" not in chosen and tenant.partition("-")[0].lower() == chosen.lower():
            return tenant
        return chosen

    def chosen_language(self) -> str:
        """The language the contact chose, which an LLM answer must be in: `settings.language`
        when it is a template (`{{ data.lang }}`) rendering to a language; else "". A literal
        `settings.language` is the flow's own language, not the contact's choice: the answer
        then follows the language the question is written in."""
        source = self.flow.settings.language
        if not source or "{" not in source:
            return ""
        return self._flow_language()

    def error_text(self) -> str:
        """`settings.error_text`, else the built-in apology of the turn's `language()`, else
        of the tenant's, as `menu_texts` picks its words. Asked only when something failed: no
        work on a turn that goes well."""
        return flow_error_text(self.flow, self.language(), self.ctx.tenant.language)

    def menu_texts(self) -> MenuTexts:
        """The words degradation adds to this turn's menus: `settings.menu_texts`, else the
        built-in ones of the turn's `language()`, else of the tenant's.

        The data plane takes the same language for the turn's outputs (`StepResult.language`),
        so a list the flow sends and one a channel makes of buttons carry the same label."""
        own = self.flow.settings.menu_texts
        language = self.language()
        return menu_texts(language, self.ctx.tenant.language, own.list_button, own.number_hint)

    def diagnose(self, level: str, event: str, where: str, detail: str) -> None:
        self.diagnostics.append(Diagnostic(level, event, where, detail))

    def return_to(self, node: str, options: tuple[Option, ...], *, from_list: bool) -> None:
        """Back in `node` with the options it had offered (a failed call undoes the move)."""
        self.node = node
        self.last_options = options
        self.last_options_list = from_list
        self._options_node = node

    def set_data(self, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            self.data[key] = value
            self.overlay.pop(key, None)
        self._data_changed()

    def unset_data(self, key: str) -> None:
        """Remove `key` from `data` (nothing when it is not there)."""
        if key in self.data:
            del self.data[key]
            self._data_changed()

    def _data_changed(self) -> None:
        self._variables = None
        self._renderer = None
        self._language = None
        self._spoken = None

    def result(self) -> StepResult:
        if self.entered:
            # "In a row" means in one stay: a state entered (left, or entered again) starts the
            # count of unanswered questions again (flow-dsl.md, `llm_unanswered_after`).
            self.unset_data(LLM_UNANSWERED_COUNT)
        shown = [o for o in self.outputs if options_of(o)]
        if shown:
            last_options: tuple[Option, ...] = options_of(shown[-1])
            last_options_list = isinstance(shown[-1], ListMenu)
        elif self.node != self._options_node or (self.message is None and self.outputs):
            # A task's message that offers nothing (a reminder's text) is now the last thing the
            # contact saw: a "yes" or "1" typed after it answers it, not the older menu (a
            # "Yes, cancel it" left unanswered would cancel). Pressed buttons still match by id.
            last_options, last_options_list = (), False
        else:
            last_options, last_options_list = self.last_options, self.last_options_list
        awaiting = self.awaiting
        if awaiting is not None and awaiting.origin_options_list != self.origin_options_list:
            # `Resume` is built where the call is made, which knows the origin's options but
            # not whether they were a list; a failed call restores both.
            awaiting = replace(awaiting, origin_options_list=self.origin_options_list)
        original = self.original
        history = (*original.history, *self._history())[-HISTORY_LIMIT:]
        # Built directly: `dataclasses.replace` inspects the fields on every call.
        state = ConversationState(
            tenant_id=original.tenant_id,
            contact_id=original.contact_id,
            node=self.node,
            created_at=original.created_at,
            updated_at=self.now,
            data=self.data,
            history=history,
            version=original.version,
            awaiting=awaiting,
            last_options=last_options,
            flow_id=self.flow.id,
            last_options_list=last_options_list,
            last_inbound_at=(
                self.now
                if self.message is not None and not self.resumed
                else original.last_inbound_at
            ),
        )
        return StepResult(
            state=state,
            outputs=tuple(self.outputs),
            effects=tuple(self.effects),
            diagnostics=tuple(self.diagnostics),
            fired=tuple(self.fired),
            entered=tuple(self.entered),
            language=self.language(),
        )

    def _history(self) -> list[Turn]:
        turns: list[Turn] = []
        msg = self.message
        if msg is not None and not self.resumed and (msg.text or msg.payload):
            turns.append(Turn("user", msg.text or msg.payload, self.now))
        for out in self.outputs:
            text = out.text if isinstance(out, Text) else ""
            if isinstance(out, Buttons | ListMenu):
                text = out.body
            elif isinstance(out, TemplateMessage):
                # What the contact read, as near as the flow knows it: a reminder sent as a
                # template is a line of the LLM's history, and its quick replies, asked after
                # the contact's last message, open a session (`engine._asked_since`).
                text = out.fallback_text or f"[{out.name}]"
            if text:
                turns.append(Turn("bot", text, self.now))
        return turns


#: The last message's namespace: the steps of one turn (the message, then each connector
#: reply) see the same message. Templates cannot change it (immutable sandbox).
_last_namespace: tuple[InboundMessage, dict[str, Any]] | None = None


def _message_namespace(message: InboundMessage) -> dict[str, Any]:
    global _last_namespace
    last = _last_namespace
    if last is not None and last[0] is message:
        return last[1]
    namespace = message.as_namespace()
    _last_namespace = (message, namespace)
    return namespace


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")
