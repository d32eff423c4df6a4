"""A tenant's bot in memory, for conversation tests and `botfleet chat`.

The real `bootstrap` and `ConversationRuntime` over in-memory stores, with a `FrozenClock`
driving a `ManualScheduler` (time moves only with `wait`), a `RecordingSender`, the tenant's
connectors replaced by mocks (`sandbox_config`: the in-memory calendar keeping the tenant's
schedule, or scripted connectors), and the LLM adapter the caller gives.

    config = sandbox_config(load_tenant_config(path), tenant_flow(config).spec)
    async with open_sandbox(config, llm=ScriptedLLM([...])) as bot:
        outputs = await bot.say("hola")
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError

from botfleet.adapters.connectors import scripted
from botfleet.adapters.connectors.calendar.config import CalendarSettings
from botfleet.adapters.connectors.catalog import DEFAULT_MOCK_SCHEDULE, NOT_CONNECTORS
from botfleet.adapters.connectors.catalog import build_connector as build_binding
from botfleet.adapters.connectors.policy import RESILIENCE_KEY
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.domain.errors import ConfigError
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import Buttons, ListMenu, Output, TemplateMessage, Text, options_of
from botfleet.domain.tenant_config import Binding, TenantConfig
from botfleet.flows._issues import did_you_mean
from botfleet.flows.engine import StepResult, start_state
from botfleet.flows.load import Flow, load_flow, load_flow_text
from botfleet.flows.schema import FlowSpec, InvokeConnector, Transition
from botfleet.flows.state import ConversationState
from botfleet.ports.connectors import Connector, LLMConnector
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import (
    MONDAY_MORNING,
    RecordingSender,
    bootstrap_test_runtime,
    make_settings,
)
from botfleet.testing.scheduling import ManualScheduler
from botfleet.testing.tenant_file import display_path

__all__ = [
    "ENTER_PAYLOAD",
    "Contact",
    "Sandbox",
    "describe_output",
    "open_sandbox",
    "output_kind",
    "output_text",
    "sandbox_config",
    "tenant_flow",
    "unmocked_categories",
]

#: Payload of the synthetic transition that enters a state when a test or chat starts there.
ENTER_PAYLOAD = "__botfleet_enter__"
#: Connector calls in tests never wait for retries nor trip a breaker: each failure is the flow's.
TEST_RESILIENCE: dict[str, Any] = {"max_attempts": 1, "failure_threshold": 1000}


@dataclass(frozen=True, slots=True)
class Contact:
    """Who talks to the bot (the `contact` template namespace)."""

    id: str = "contact-1"
    name: str = ""
    language: str = ""


def tenant_flow(config: TenantConfig) -> Flow:
    """The tenant's flow with its warnings and lines (as `bootstrap` would load it)."""
    if config.flow_yaml is not None:
        return load_flow_text(config.flow_yaml, source=f"{config.source}:flow")
    if config.flow is not None:
        return load_flow_text(yaml.safe_dump(config.flow), source=f"{config.source}:flow")
    assert config.flow_path is not None  # guaranteed by tenant_config_from_mapping
    return load_flow(display_path(config.resolve(config.flow_path)))


def _called_categories(flow: FlowSpec) -> list[str]:
    programs = [s.on_enter for s in flow.states.values()] + list(flow.tasks.values())
    found = [a.connector for p in programs for a in p if isinstance(a, InvokeConnector)]
    return [c for c in dict.fromkeys(found) if c not in NOT_CONNECTORS]


def _mock_binding(
    source: str,
    category: str,
    binding: Binding | None,
    fixture: Mapping[str, Any],
    *,
    unmocked: Literal["error", "fail"],
) -> Binding:
    """The binding a sandbox uses: a scripted `mock` when the fixture scripts operations, else
    for a calendar the in-memory one keeping the tenant's schedule and slot rules."""
    if _is_scripted(fixture) or (category != "calendar" and fixture):
        return Binding(type="mock", **{k: v for k, v in fixture.items() if k != "type"})
    if category == "calendar":
        shared = set(CalendarSettings.model_fields) - {"type"}
        base = {k: v for k, v in (binding.settings() if binding else {}).items() if k in shared}
        merged = {**base, **{k: v for k, v in fixture.items() if k != "type"}}
        merged.setdefault("schedule", DEFAULT_MOCK_SCHEDULE)
        return Binding(type="mock_calendar", **merged)
    if binding is not None and binding.type == "mock":
        return binding
    if unmocked == "fail":  # every call fails as an unknown operation: the flow's on_error runs
        return Binding(type="mock", operations={})
    kind = binding.type if binding else "none"
    raise ConfigError(
        source,
        f"connectors.{category}",
        f"the flow calls {category!r} (type {kind!r}), which has no mock: give the test a "
        f"fixture, e.g. connectors: {{{category}: {{fixtures: {{operation: result}}}}}}",
    )


def unmocked_categories(config: TenantConfig, flow: FlowSpec) -> list[str]:
    """Categories `sandbox_config` has no mock for without a fixture (not calendars, not a
    tenant's own `mock` bindings)."""
    categories = dict.fromkeys([*config.connectors, *_called_categories(flow)])
    return [
        c
        for c in categories
        if c not in NOT_CONNECTORS
        and c != "calendar"
        and getattr(config.connectors.get(c), "type", None) != "mock"
    ]


def sandbox_config(
    config: TenantConfig,
    flow: FlowSpec,
    fixtures: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    llm_enabled: bool | None = None,
    knowledge: str | None = None,
    unmocked: Literal["error", "fail"] = "error",
) -> TenantConfig:
    """The tenant with mock connector bindings (no retries) and the LLM switched as asked.

    A category with no mock and no fixture is a `ConfigError` (`unmocked="error"`), or gets a
    connector whose every call fails (`unmocked="fail"`, for `botfleet chat`).
    """
    fixtures = fixtures or {}
    categories = [c for c in config.connectors if c not in NOT_CONNECTORS]
    categories += [c for c in [*_called_categories(flow), *fixtures] if c not in categories]
    bindings = {k: v for k, v in config.connectors.items() if k in NOT_CONNECTORS}
    for category in categories:
        fixture = fixtures.get(category, {})
        binding = config.connectors.get(category)
        mock = _mock_binding(config.source, category, binding, fixture, unmocked=unmocked)
        bindings[category] = Binding(**{**mock.model_dump(), RESILIENCE_KEY: TEST_RESILIENCE})
    llm = config.llm.model_copy(
        update={
            "enabled": config.llm.enabled if llm_enabled is None else llm_enabled,
            RESILIENCE_KEY: {"max_attempts": 1},
        }
    )
    update: dict[str, Any] = {"connectors": bindings, "llm": llm}
    if knowledge is not None:
        update.update(knowledge=knowledge, knowledge_path=None)
    return config.model_copy(update=update)


def _is_scripted(settings: Mapping[str, Any]) -> bool:
    return "operations" in settings or "fixtures" in settings


def _connectors(config: TenantConfig, clock: FrozenClock) -> dict[str, Connector]:
    """The bound connectors; a `mock` that scripts operations stays scripted under any category
    (the catalog would make a `calendar: {type: mock}` the in-memory calendar)."""
    built: dict[str, Connector] = {}
    for category, binding in config.connectors.items():
        settings = {k: v for k, v in binding.settings().items() if k != RESILIENCE_KEY}
        if category in NOT_CONNECTORS:
            continue
        if binding.type == "mock" and _is_scripted(settings):
            try:
                built[category] = scripted.build(settings, category=category)
            except ValidationError as exc:
                raise ConfigError(config.source, f"connectors.{category}", str(exc)) from None
        else:
            built[category] = build_binding(config, category, binding, clock=clock)
    return built


class Sandbox:
    """A tenant's bot in memory: send messages as contacts, move time, look at state."""

    def __init__(
        self,
        runtime: ConversationRuntime,
        clock: FrozenClock,
        sender: RecordingSender,
        scheduler: ManualScheduler,
        contact: Contact,
    ) -> None:
        self.runtime, self.clock, self.sender, self.scheduler = runtime, clock, sender, scheduler
        self.contact = contact
        self.fired: list[str] = []
        self.entered: list[str] = []
        self._offered: dict[str, dict[str, Output]] = {}  # contact -> option id -> its menu
        self._ids = 0
        self._entering = False
        runtime.step_observer = self._observe
        # A conversation test sends one message at a time and waits for its answer, so nothing
        # could merge: `settings.debounce_ms` would only make every text step wait in real time.
        runtime.debounce = False

    @property
    def flow(self) -> FlowSpec:
        return self.runtime.live.flow

    def _observe(self, result: StepResult) -> None:
        fired = result.fired
        if self._entering:  # the synthetic transition of `enter` is not the flow's
            fired = tuple(f for f in fired if f != "global_transitions[0]")
        self.fired.extend(fired)
        self.entered.extend(result.entered)

    def _message(self, contact: str | None, kind: MessageType, **fields: Any) -> InboundMessage:
        self._ids += 1
        return InboundMessage(
            message_id=f"sandbox-{self._ids}",
            contact_id=contact or self.contact.id,
            type=kind,
            timestamp=self.clock.now(),
            contact_name=self.contact.name,
            language=self.contact.language,
            **fields,
        )

    async def _turn(self, message: InboundMessage) -> list[Output]:
        before = len(self.sender.sent)
        await self.runtime.handle(message)
        return self._since(before, message.contact_id)

    def _since(self, before: int, contact: str) -> list[Output]:
        outputs = [o for c, o in self.sender.sent[before:] if c == contact]
        for output in outputs:
            if options_of(output):
                self._offered[contact] = {o.id: output for o in options_of(output)}
        return outputs

    async def say(self, text: str, *, contact: str | None = None) -> list[Output]:
        return await self._turn(self._message(contact, MessageType.TEXT, text=text))

    async def press(self, payload: str, *, contact: str | None = None) -> list[Output]:
        """Press a button or pick a list row (the kind of the menu that offered `payload`)."""
        menu = self._offered.get(contact or self.contact.id, {}).get(payload)
        kind = MessageType.LIST_REPLY if isinstance(menu, ListMenu) else MessageType.BUTTON_REPLY
        title = next((o.title for o in options_of(menu) if o.id == payload), "") if menu else ""
        return await self._turn(self._message(contact, kind, payload=payload, text=title))

    async def send(
        self,
        kind: str,
        *,
        text: str = "",
        payload: str = "",
        extra: Mapping[str, Any] | None = None,
        contact: str | None = None,
    ) -> list[Output]:
        """Any message type (`location`, `image`...), by the DSL's names."""
        fields = {"text": text, "payload": payload, "extra": dict(extra or {})}
        return await self._turn(self._message(contact, MessageType.parse(kind), **fields))

    async def wait(self, delta: timedelta, *, contact: str | None = None) -> list[Output]:
        """Move the clock; scheduled tasks due on the way run (their outputs are returned)."""
        before = len(self.sender.sent)
        await self.scheduler.advance(delta)
        return self._since(before, contact or self.contact.id)

    async def state(self, contact: str | None = None) -> ConversationState:
        contact_id = contact or self.contact.id
        stored = await self.runtime.states.load(contact_id)
        now = self.clock.now()
        return stored or start_state(self.flow, self.runtime.ctx.tenant.id, contact_id, now)

    async def reset(self, contact: str | None = None) -> None:
        contact_id = contact or self.contact.id
        await self.runtime.states.delete(contact_id)
        self.runtime.state_cache.forget(contact_id)
        self._offered.pop(contact_id, None)

    async def enter(
        self,
        state: str | None,
        data: Mapping[str, Any] | None = None,
        *,
        contact: str | None = None,
    ) -> list[Output]:
        """Put `data` in place, then enter `state` as a transition would (its `on_enter` runs)."""
        flow = self.flow
        if state is not None and state not in flow.states:
            hint = did_you_mean(state, flow.states)
            raise ValueError(f"the flow has no state {state!r}{hint}")
        current = await self.state(contact)
        placed = replace(current, data={**current.data, **(data or {})}, awaiting=None)
        await self.runtime.states.save(placed, expected_version=current.version)
        self.runtime.state_cache.forget(current.contact_id)
        if state is None:
            return []
        entry = Transition(on_payload=ENTER_PAYLOAD, target=state)
        globals_ = [entry, *flow.global_transitions]
        self.runtime.live.flow = flow.model_copy(update={"global_transitions": globals_})
        self._entering = True
        try:
            return await self._turn(
                self._message(contact, MessageType.BUTTON_REPLY, payload=ENTER_PAYLOAD)
            )
        finally:
            self._entering = False
            self.runtime.live.flow = flow


@asynccontextmanager
async def open_sandbox(
    config: TenantConfig,
    *,
    at: datetime | None = None,
    llm: LLMConnector | None = None,
    strict: bool = False,
    contact: Contact | None = None,
) -> AsyncIterator[Sandbox]:
    """The tenant's bot over in-memory stores (pass a `sandbox_config` for mock connectors).

    `at`: the frozen clock's start (naive: the tenant's zone); `llm`: the LLM adapter used when
    the tenant's LLM fallback is enabled; `strict`: a missing template value fails the turn.
    """
    at = at or MONDAY_MORNING
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(config.timezone))
    clock = FrozenClock(at)
    scheduler = ManualScheduler(clock, tenant_id=config.tenant_id)
    sender = RecordingSender()
    fakes: dict[str, Any] = {"clock": clock, "sender": sender, "scheduler": scheduler}
    fakes["connectors"] = _connectors(config, clock)
    if llm is not None:
        fakes["llm_connector"] = llm
    async with bootstrap_test_runtime(config, settings=make_settings(), **fakes) as runtime:
        runtime.ctx = replace(runtime.ctx, strict=strict)
        yield Sandbox(runtime, clock, sender, scheduler, contact or Contact())


# ---------------------------------------------------------------- outputs as text


def output_kind(output: Output) -> str:
    return {Buttons: "buttons", ListMenu: "list", TemplateMessage: "template"}.get(
        type(output), "text"
    )


def output_text(output: Output) -> str:
    if isinstance(output, Text):
        return output.text
    if isinstance(output, Buttons | ListMenu):
        return output.body
    return output.fallback_text or output.name


def describe_output(output: Output) -> list[str]:
    """An output as the lines a person reads: its text, then numbered choices."""
    kind = output_kind(output)
    lines = [output_text(output) if kind == "text" else f"[{kind}] {output_text(output)}"]
    for number, option in enumerate(options_of(output), start=1):
        detail = f" - {option.description}" if option.description else ""
        lines.append(f"  {number}. {option.title}{detail}  ({option.id})")
    return lines
