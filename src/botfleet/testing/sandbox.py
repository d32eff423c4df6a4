"""A tenant's bot in memory, for conversation tests and `botfleet chat`.

The real `bootstrap` and `ConversationRuntime` over in-memory stores, with a `FrozenClock`
driving a `ManualScheduler` (time moves only with `wait`), a `RecordingSender`, the tenant's
connectors replaced by mocks (`sandbox_config`: the in-memory calendar keeping the tenant's
schedule, a recorder in place of a `webhook` notification, or scripted connectors), and the
LLM adapter the caller gives. The bot is on a channel (`sandbox_channels`): its outputs are
degraded as that channel's are, and a press reaches it as that channel delivers it.

    config = sandbox_config(load_tenant_config(path), tenant_flow(config).spec)
    async with open_sandbox(config, llm=ScriptedLLM([...])) as bot:
        outputs = await bot.say("hola")
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError

from botfleet.adapters.connectors import scripted
from botfleet.adapters.connectors.calendar.config import CalendarSettings, with_tenant_timezone
from botfleet.adapters.connectors.calendar.pool_config import POOL_TYPE
from botfleet.adapters.connectors.catalog import CONNECTOR_TYPES, NOT_CONNECTORS, binding_policy
from botfleet.adapters.connectors.catalog import build_connector as build_binding
from botfleet.adapters.connectors.notification import payload as webhook_payload
from botfleet.adapters.connectors.notification.recorder import (
    NotificationRecorder,
    SentNotification,
)
from botfleet.adapters.connectors.notification.webhook import WebhookConnector
from botfleet.adapters.connectors.policy import RESILIENCE_KEY
from botfleet.adapters.scheduling.rules import STANDING
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.data_plane.runtime.task_outcome import TaskOutcome
from botfleet.domain.channel_ids import channel_kind, id_prefix, more_channel_ids, named_kind
from botfleet.domain.config_problems import describe
from botfleet.domain.errors import ConfigError
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import (
    Buttons,
    ListMenu,
    Option,
    Output,
    TemplateMessage,
    Text,
    options_of,
)
from botfleet.domain.tenant_config import Binding, TenantConfig
from botfleet.flows._issues import did_you_mean
from botfleet.flows.connector_names import connector_category, is_named_binding
from botfleet.flows.durations import parse_duration
from botfleet.flows.engine import StepResult, start_state
from botfleet.flows.load import Flow, load_flow, load_flow_text
from botfleet.flows.schema import FlowSpec, InvokeConnector, Transition
from botfleet.flows.state import ConversationState
from botfleet.flows.tenant_file import display_path
from botfleet.ports.connectors import Connector, LLMConnector
from botfleet.ports.scheduling import ScheduledJob, run_id
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import (
    MONDAY_MORNING,
    RecordingSender,
    bootstrap_test_runtime,
    make_settings,
)
from botfleet.testing.sandbox_channels import Press, SandboxChannel, sandbox_channel
from botfleet.testing.scheduling import ManualScheduler
from botfleet.testing.scripted_problems import scripted_problems

__all__ = [
    "ENTER_PAYLOAD",
    "Contact",
    "Sandbox",
    "SentNotification",
    "TaskFailure",
    "describe_notification",
    "describe_output",
    "fixture_is_binding",
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
#: The connector type the sandbox records instead of calling (`NotificationRecorder`).
RECORDED_TYPE = "webhook"
#: The category a flow run without a tenant file gets a recorder for (under each name it calls:
#: `notification`, `notification.crm`...).
NOTIFICATION = "notification"
#: Stands for a webhook `url` a tenant file leaves out (the control plane's credentials may
#: hold it): the sandbox never calls it, and `.invalid` never resolves.
_URL_LEFT_TO_CREDENTIALS = "https://url-left-to-credentials.invalid/"


@dataclass(frozen=True, slots=True)
class Contact:
    """Who talks to the bot (the `contact` template namespace). `language` reaches the bot
    only on a channel that sends one (`SandboxChannel.sends_language`)."""

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
    default_calendar: bool,
    bound: frozenset[str] = frozenset(),
) -> Binding:
    """The binding a sandbox uses: a scripted `mock` when the fixture scripts operations, else
    for a calendar the in-memory one built from the tenant's binding (`_calendar_binding`), for
    a `webhook` the tenant's binding, which `_connectors` replaces with a recorder. `category`
    is the binding's name (`calendar`, `notification.crm`...)."""
    calendar = connector_category(category) == "calendar"
    if fixture_is_binding(category, fixture):
        return Binding(type="mock", **{k: v for k, v in fixture.items() if k != "type"})
    if _recorded(category, binding, default=default_calendar):
        settings = binding.settings() if binding is not None else {}
        settings.pop(RESILIENCE_KEY, None)
        return Binding(type=RECORDED_TYPE, **settings)
    if calendar and (binding is not None or default_calendar or fixture):
        return _calendar_binding(binding, fixture, default=default_calendar)
    if binding is not None and binding.type == "mock":
        return binding
    if unmocked == "fail":  # every call fails as an unknown operation: the flow's on_error runs
        return Binding(type="mock", operations={})
    if calendar:  # a tenant file that binds no calendar: it would not start
        raise ConfigError(
            source,
            f"connectors.{category}",
            f"the flow calls {category!r}, which the tenant does not configure (the data plane "
            f"would not start): bind it, e.g. connectors: {{{category}: {{type: mock_calendar, "
            "schedule: {mon: ['10:00-14:00']}}}, or give the test a calendar fixture",
        )
    if binding is None and is_named_binding(category):  # most likely a slip in the name
        raise ConfigError(
            source,
            f"connectors.{category}",
            f"the flow calls {category!r}, which the tenant does not configure (the data plane "
            f"would not start){did_you_mean(category, bound)}: bind it under connectors, or "
            "give the test a fixture",
        )
    kind = binding.type if binding else "none"
    raise ConfigError(
        source,
        f"connectors.{category}",
        f"the flow calls {category!r} (type {kind!r}), which has no mock: give the test a "
        f"fixture, e.g. connectors: {{{category}: {{fixtures: {{operation: result}}}}}}",
    )


#: Keys of the in-memory calendar's seeded events (`busy`, alias `events`).
_EVENT_KEYS = frozenset({"busy", "events"})


def _calendar_binding(
    binding: Binding | None, fixture: Mapping[str, Any], *, default: bool
) -> Binding:
    """The in-memory calendar a sandbox runs, as the data plane would build the tenant's.

    - `mock_calendar` and `mock` (not scripted) bindings stay what they are: same settings,
      same `busy` events, the same defaults (a `mock_calendar` without `schedule` is always
      closed, a `mock` one is open on weekdays);
    - another calendar type (`google_calendar`, `caldav`) becomes a `mock_calendar` with the
      settings every calendar shares (schedule, slot rules, notice, time zone);
    - no binding at all: for a flow run without a tenant file (`default`), a `mock` calendar,
      open 10-14 and 17-20 on weekdays (the catalog's `DEFAULT_MOCK_SCHEDULE`); for a tenant
      file that binds none, only what the test's fixture gives (closed without `schedule`).

    The test's fixture is merged over it, key by key (`busy`/`events` replace both).
    """
    if binding is None:
        base: dict[str, Any] = {"type": "mock" if default else "mock_calendar"}
    elif binding.type in ("mock_calendar", "mock"):
        base = {"type": binding.type, **binding.settings()}
    else:
        shared = set(CalendarSettings.model_fields) - {"type"}
        settings = binding.settings()
        base = {"type": "mock_calendar", **{k: v for k, v in settings.items() if k in shared}}
    base.pop(RESILIENCE_KEY, None)
    overrides = {k: v for k, v in fixture.items() if k != "type"}
    if _EVENT_KEYS & set(overrides):
        base = {k: v for k, v in base.items() if k not in _EVENT_KEYS}
    return Binding(**{**base, **overrides})


def _recorded(category: str, binding: Binding | None, *, default: bool) -> bool:
    """Whether the sandbox records this binding's notifications: a `webhook` binding, or, for a
    flow run without a tenant file (`default`), a `notification` (or `notification.<name>`)
    the tenant does not bind."""
    if binding is not None:
        return binding.type == RECORDED_TYPE
    return default and connector_category(category) == NOTIFICATION


def _tenant_webhook(
    config: TenantConfig, category: str, binding: Binding, clock: FrozenClock
) -> WebhookConnector:
    """The tenant's `webhook` binding built as the data plane builds it (no request is made), so
    a setting it would refuse (`format: teams`, an unknown key, a header that looks like a
    secret) is the same `ConfigError`. A `url` the binding leaves out is not asked for: the
    control plane may keep it in the tenant's credentials."""
    settings = binding.settings()
    settings.setdefault("url", _URL_LEFT_TO_CREDENTIALS)
    built = build_binding(config, category, Binding(type=binding.type, **settings), clock=clock)
    assert isinstance(built, WebhookConnector)  # the catalog's `webhook` type
    return built


def _check_tenant_calendar(config: TenantConfig, name: str, binding: Binding | None) -> None:
    """The tenant's calendar binding `name` (`calendar`, or a named one such as
    `calendar.chair_2`), checked as the data plane checks it at boot, so a setting
    it would refuse (`slot_minutes`, a bad `busy` event, an unknown type) is the same
    `ConfigError` here. An in-memory one is built; a `google_calendar` or `caldav` one, which
    the sandbox replaces, has its unknown keys, shared settings and `resilience` policy
    checked, not its connection settings nor credentials (the control plane may supply
    those)."""
    if binding is None:
        return
    connector_type = CONNECTOR_TYPES.get(binding.type)
    if (
        connector_type is None  # unknown: the data plane's error names the known types
        or connector_type.category != "calendar"  # of another category, or the seed's `mock`
        or binding.type == "mock_calendar"
    ):
        build_binding(config, name, binding, clock=FrozenClock(MONDAY_MORNING))
        return
    raw = {k: v for k, v in binding.settings().items() if k != RESILIENCE_KEY}
    settings = with_tenant_timezone({**raw, "type": binding.type}, config.timezone)
    problems: list[tuple[str, str]] = []
    try:
        connector_type.settings.model_validate(settings)
    except ValidationError as exc:
        shared = set(CalendarSettings.model_fields)
        problems = [
            describe(error, prefix=f"connectors.{name}")
            for error in exc.errors()
            if error["loc"] and (str(error["loc"][0]) in shared or str(error["loc"][0]) not in
                                 connector_type.settings.model_fields)
        ]  # fmt: skip
    # The mock standing in for it runs with `TEST_RESILIENCE`, but the boot would refuse the
    # binding's own bad policy: said after the settings' problems, as `build_binding` says it.
    problems += _policy_problems(config, name, binding)
    if problems:
        raise ConfigError.of(config.source, problems)


def _policy_problems(config: TenantConfig, name: str, binding: Binding) -> list[tuple[str, str]]:
    try:
        binding_policy(config, name, binding)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def unmocked_categories(
    config: TenantConfig, flow: FlowSpec, *, default_calendar: bool = False
) -> list[str]:
    """Categories `sandbox_config` has no mock for without a fixture (not calendars the tenant
    binds or `default_calendar` provides, not notifications it records, not a tenant's own
    `mock` bindings)."""
    categories = dict.fromkeys([*config.connectors, *_called_categories(flow)])
    return [
        c
        for c in categories
        if c not in NOT_CONNECTORS
        and not (
            connector_category(c) == "calendar" and (c in config.connectors or default_calendar)
        )
        and not _recorded(c, config.connectors.get(c), default=default_calendar)
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
    default_calendar: bool = False,
) -> TenantConfig:
    """The tenant with mock connector bindings (no retries) and the LLM switched as asked.

    The calendar is the tenant's, built as the data plane builds it (`_calendar_binding`: its
    settings and `busy` events; a setting the data plane refuses is the same `ConfigError`).
    A `webhook` binding is checked the same way (its `url` may be left to credentials) and
    recorded instead of called (`NotificationRecorder`, in `Sandbox.notifications`). Every
    binding's own `resilience` policy is checked as the boot checks it, though the mocks run
    with `TEST_RESILIENCE`.
    `default_calendar`: the config stands for a flow run without a tenant file, so a calendar
    the flow calls but the tenant does not bind is the in-memory one open on weekdays, and a
    `notification` it calls is recorded.

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
        calendar = connector_category(category) == "calendar"
        if binding is not None and binding.type == POOL_TYPE and not fixture:
            # Over the sandbox's member calendars (`_connectors` attaches them): not a calendar
            # of its own, which would have no opening hours.
            bindings[category] = Binding(
                **{**binding.model_dump(), RESILIENCE_KEY: TEST_RESILIENCE}
            )
            continue
        if calendar:
            _check_tenant_calendar(config, category, binding)
        mock = _mock_binding(
            config.source,
            category,
            binding,
            fixture,
            unmocked=unmocked,
            default_calendar=default_calendar,
            bound=frozenset(config.connectors) - NOT_CONNECTORS,
        )
        if mock.type == RECORDED_TYPE:  # refused here as the data plane would refuse it
            # The tenant's binding, not the mock: its `resilience` is checked with its settings.
            _tenant_webhook(config, category, binding or mock, FrozenClock(MONDAY_MORNING))
        elif binding is not None and not calendar:
            # A binding the sandbox replaces (a scripted `mock`, a test's fixture) is never
            # built with its own policy, which the boot would still refuse.
            binding_policy(config, category, binding)
        mocked = {**mock.model_dump(), RESILIENCE_KEY: TEST_RESILIENCE}
        keep = _redeliver_for(binding)
        if keep is not None and mock.type == "mock":
            # A test's failing fixture for a webhook that keeps what its receiver did not take:
            # the flow gets the kept answer, as the data plane gives it (`_KeptSends`).
            mocked[_REDELIVER_KEY] = keep
        bindings[category] = Binding(**mocked)
    # `enabled` only when asked: set, it would win over a `connectors.llm` binding's, which the
    # data plane reads (`llm_options`).
    switched = {} if llm_enabled is None else {"enabled": llm_enabled}
    llm = config.llm.model_copy(update={**switched, RESILIENCE_KEY: {"max_attempts": 1}})
    update: dict[str, Any] = {"connectors": bindings, "llm": llm}
    if knowledge is not None:
        update.update(knowledge=knowledge, knowledge_path=None)
    return config.model_copy(update=update)


#: Carries a webhook binding's `redeliver_for` to the scripted mock that stands in for it.
_REDELIVER_KEY = "redeliver_for"


def _redeliver_for(binding: Binding | None) -> str | None:
    """The `redeliver_for` of a tenant's webhook binding, None for any other binding."""
    if binding is None or binding.type != RECORDED_TYPE:
        return None
    value = binding.settings().get(_REDELIVER_KEY)
    return value if isinstance(value, str) else None


class _KeptSends:
    """A scripted `send` standing in for a webhook with `redeliver_for`: a failure its
    receiver's absence would cause is kept and answered as the data plane answers it
    (`Redeliverable`); the scripted connector answers everything else."""

    def __init__(self, inner: Connector, redeliver_for: str) -> None:
        #: The scripted connector answering (`conversation_calls` watches its calls).
        self.wrapped_script = inner
        self.category = inner.category
        self.redeliver_for = parse_duration(redeliver_for)
        self.redeliverable_operations = frozenset({"send"})
        self.creating_operations = frozenset({"send"})

    def operations(self) -> frozenset[str]:
        return self.wrapped_script.operations()

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        return await self.wrapped_script.call(operation, params, idempotency_key=idempotency_key)

    def queued_answer(self, operation: str, params: Mapping[str, Any], key: str) -> Any:
        return webhook_payload.queued_answer(key)


def _is_scripted(settings: Mapping[str, Any]) -> bool:
    return "operations" in settings or "fixtures" in settings


def fixture_is_binding(category: str, fixture: Mapping[str, Any]) -> bool:
    """Whether a test's fixture for `category` is the whole binding the sandbox runs (a scripted
    `mock`: it scripts operations, or it is not a calendar's), not settings merged over the
    tenant's calendar (`_calendar_binding`)."""
    calendar = connector_category(category) == "calendar"
    return _is_scripted(fixture) or (not calendar and bool(fixture))


def _connectors(
    config: TenantConfig,
    clock: FrozenClock,
    notifications: list[SentNotification] | None = None,
) -> dict[str, Connector]:
    """The bound connectors; a `mock` that scripts operations stays scripted under any category
    (the catalog would make a `calendar: {type: mock}` the in-memory calendar), and a `webhook`
    is a `NotificationRecorder` appending to `notifications`: the sandbox never calls out."""
    built: dict[str, Connector] = {}
    sent: list[SentNotification] = [] if notifications is None else notifications
    pools: list[tuple[str, Binding]] = []
    for category, binding in config.connectors.items():
        if binding.type == POOL_TYPE:
            pools.append((category, binding))  # last: over the members built here
            continue
        settings = {k: v for k, v in binding.settings().items() if k != RESILIENCE_KEY}
        if category in NOT_CONNECTORS:
            continue
        if binding.type == "mock" and _is_scripted(settings):
            keep = settings.pop(_REDELIVER_KEY, None)
            try:
                mock: Connector = scripted.build(settings, category=category)
            except ValidationError as exc:
                problems = scripted_problems(exc, f"connectors.{category}")
                raise ConfigError.of(config.source, problems) from None
            built[category] = mock if keep is None else _KeptSends(mock, keep)
        elif binding.type == RECORDED_TYPE:
            webhook = _tenant_webhook(config, category, binding, clock)
            built[category] = NotificationRecorder(
                clock=clock, category=category, format=webhook.settings.format, sent=sent
            )
        else:
            built[category] = build_binding(config, category, binding, clock=clock)
    for category, binding in pools:
        built[category] = build_binding(config, category, binding, clock=clock, members=built)
    return built


@dataclass(frozen=True, slots=True)
class TaskFailure:
    """A scheduled task's run that raised: nothing of its turn was committed (`task_failed`)."""

    task: str
    contact_id: str | None
    run_id: str
    error: Exception

    def describe(self) -> str:
        """`the task 'reminder' failed (run once:reminder:c1@...): TemplateError: ...`"""
        error = f"{type(self.error).__name__}: {self.error}"
        return f"the task {self.task!r} failed (run {self.run_id}): {error}"


class Sandbox:
    """A tenant's bot in memory: send messages as contacts, move time, look at state."""

    def __init__(
        self,
        runtime: ConversationRuntime,
        clock: FrozenClock,
        sender: RecordingSender,
        scheduler: ManualScheduler,
        contact: Contact,
        notifications: list[SentNotification] | None = None,
        channel: SandboxChannel | None = None,
    ) -> None:
        self.runtime, self.clock, self.sender, self.scheduler = runtime, clock, sender, scheduler
        self.contact = contact
        self.channel = channel or sandbox_channel("webchat")
        #: Every notification the flow sent (`notification.send` on a recorded `webhook`), in
        #: order, whichever contact's turn or task sent it.
        self.notifications: list[SentNotification] = [] if notifications is None else notifications
        self.fired: list[str] = []
        self.entered: list[str] = []
        # contact -> option id -> (its menu, the option): what the contact can press
        self._offered: dict[str, dict[str, tuple[Output, Option]]] = {}
        self._ids = 0
        self._entering = False
        runtime.step_observer = self._observe
        # A conversation test sends one message at a time and waits for its answer, so nothing
        # could merge: `settings.debounce_ms` would only make every text step wait in real time.
        runtime.debounce = False

    @property
    def flow(self) -> FlowSpec:
        return self.runtime.live.flow

    @property
    def task_failures(self) -> list[TaskFailure]:
        """Every run of a scheduled task that failed, in the order they ended, whichever step or
        contact's turn it ran after. A live bot only logs them (`task_failed`), and a failed
        reminder sends nothing, which a step expecting nothing would take for success."""
        return [
            TaskFailure(run.task, run.contact_id, run.run_id, outcome.error)
            for run, outcome in self.scheduler.outcomes
            if isinstance(outcome, TaskOutcome) and outcome.error is not None
        ]

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
            # As served: a channel that never tells the contact's language sends none, so
            # `contact.language` is the tenant's there, whatever the contact stands for.
            language=self.contact.language if self.channel.sends_language else "",
            **fields,
        )

    async def _turn(self, message: InboundMessage) -> list[Output]:
        before = len(self.sender.sent)
        await self.runtime.handle(message)
        # A task the turn scheduled for now, or for a moment ago within the misfire grace
        # window (a reminder "in 0 minutes"), runs at once in a live bot, right after the turn
        # (the contact's turns are sequenced): so here too, in order, before the next message.
        await self.scheduler.advance()
        return self._since(before, message.contact_id)

    def _since(self, before: int, contact: str) -> list[Output]:
        """`contact`'s outputs since `before`; what every contact sent a menu since can press
        is noted, not only `contact`'s: a task run during another contact's `wait` (a survey's
        buttons) is what its contact presses next."""
        sent: dict[str, list[Output]] = {}
        for c, output in self.sender.sent[before:]:
            sent.setdefault(c, []).append(output)
        for receiver, outputs in sent.items():
            menus = [o for o in outputs if options_of(o)]
            if menus:  # the options of every menu sent since (a later one wins an id they share)
                self._offered[receiver] = {o.id: (m, o) for m in menus for o in options_of(m)}
        return sent.get(contact, [])

    def offered(self, contact: str | None = None) -> list[Option] | None:
        """The options last shown to the contact (every menu of the last turn that showed any),
        or None when none was shown yet (or since `reset`)."""
        shown = self._offered.get(contact or self.contact.id)
        return None if shown is None else [option for _, option in shown.values()]

    async def say(self, text: str, *, contact: str | None = None) -> list[Output]:
        return await self._turn(self._message(contact, MessageType.TEXT, text=text))

    async def press(self, payload: str, *, contact: str | None = None) -> list[Output]:
        """Press a button or pick a list row as the channel delivers the press (`press_of`)."""
        return await self.deliver(await self.press_of(payload, contact=contact), contact=contact)

    async def press_of(self, payload: str, *, contact: str | None = None) -> Press:
        """What the channel delivers when the contact presses the option `payload`, from what
        it was last shown (`SandboxChannel.press_of`); nothing is sent."""
        contact_id = contact or self.contact.id
        shown = self._offered.get(contact_id, {}).get(payload)
        # Only a press of no menu shown needs the engine's options (was it numbered text?).
        last = () if shown is not None else (await self.state(contact_id)).last_options
        return self.channel.press_of(payload, shown, last)

    async def deliver(self, press: Press, *, contact: str | None = None) -> list[Output]:
        """Send the message a press delivers (`press_of`)."""
        message = self._message(
            contact, press.kind, text=press.text, payload=press.payload, extra=dict(press.extra)
        )
        return await self._turn(message)

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

    async def run_task(
        self, task: str, data: Mapping[str, Any] | None = None, *, contact: str | None = None
    ) -> list[Output]:
        """Run the flow's `task` now for the contact, as the control plane's "run now" does
        (`POST /run-task`: a manual run, in the contact's order); its outputs, then those of a
        task it scheduled for at once. Raises `ValueError` for a task the flow does not have,
        and what a run that failed raised (`task_failed`)."""
        if task not in self.flow.tasks:
            raise ValueError(no_such_task(task, self.flow.tasks, listing=True))
        contact_id = contact or self.contact.id
        before = len(self.sender.sent)
        run = run_id(f"manual:{task}", self.clock.now())
        outcome = await self.runtime.run_task(contact_id, task, dict(data or {}), run)
        if outcome.error is not None:
            raise outcome.error
        await self.scheduler.advance()
        return self._since(before, contact_id)

    async def pending_tasks(self, contact: str | None = None) -> list[ScheduledJob]:
        """The jobs pending for the contact (what its flow scheduled: reminders...) and the
        standing schedules, soonest first, as `GET /tasks` lists them."""
        contact_id = contact or self.contact.id
        return [
            job
            for job in await self.scheduler.jobs()
            if job.kind == STANDING or job.contact_id == contact_id
        ]

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
    channel: SandboxChannel | None = None,
) -> AsyncIterator[Sandbox]:
    """The tenant's bot over in-memory stores (pass a `sandbox_config` for mock connectors).

    `at`: the frozen clock's start (naive: the tenant's zone); `llm`: the LLM adapter used when
    the tenant's LLM fallback is enabled; `strict`: a missing template value fails the turn;
    `channel`: the channel the bot is on (default the web chat, `sandbox_channels`): every
    turn's outputs are degraded to its capabilities as a served bot's are, and a press reaches
    the bot as that channel delivers it.
    """
    at = at or MONDAY_MORNING
    zone = ZoneInfo(config.timezone)
    if at.tzinfo is None:
        # Through UTC and back: a wall time the clocks skip (02:30 on a spring-forward day) is
        # the instant it would be read as, shown as the zone's clocks show it (03:30), as a
        # task's `run_at` in the gap is.
        at = at.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    else:
        # One given with an offset (the only way to start in the second pass of a repeated
        # hour) is that instant on the tenant's clocks, as `now` reads it: the lines that show
        # the clock (`:wait`) read as `now` does.
        at = at.astimezone(zone)
    clock = FrozenClock(at)
    settings = make_settings()
    # The window bootstrap gives the engine too: a flow's `schedule_task` `result_key` and
    # the scheduler judge a past `run_at` alike.
    grace = timedelta(seconds=settings.scheduler_grace_s)
    scheduler = ManualScheduler(clock, tenant_id=config.tenant_id, grace=grace)
    channel = channel or sandbox_channel("webchat")
    # Given at opening, not swapped afterwards: bootstrap reads the capabilities (`max_text` for
    # the LLM's answers) when it builds the runtime.
    sender = RecordingSender(channel.capabilities)
    fakes: dict[str, Any] = {"clock": clock, "sender": sender, "scheduler": scheduler}
    notifications: list[SentNotification] = []
    fakes["connectors"] = _connectors(config, clock, notifications)
    if llm is not None:
        fakes["llm_connector"] = llm
    contact = contact or Contact()
    played = channel_kind(channel.name)
    more = more_channel_ids(b.type for b in config.more_channels)
    async with bootstrap_test_runtime(config, settings=settings, **fakes) as runtime:
        if played != channel_kind(config.channel.type) and (id_prefix(played), played) in more:
            # One of the tenant's more channels: its contact is named as the data plane names
            # it (`telegram:contact-1`; docs/channels.md, "Several channels").
            if named_kind(contact.id) is None:
                contact = replace(contact, id=id_prefix(played) + contact.id)
            runtime.ctx = replace(runtime.ctx, strict=strict)
        else:
            # The channel played, whatever the tenant's (`contact.channel`).
            runtime.ctx = replace(runtime.ctx, strict=strict, channel=played, more_channels=())
        yield Sandbox(runtime, clock, sender, scheduler, contact, notifications, channel)


# ---------------------------------------------------------------- outputs as text


def no_such_task(name: str, tasks: Iterable[str], *, listing: bool = False) -> str:
    """`the flow has no task 'remindr' (did you mean 'reminder'?)`, with `; its tasks: ...`
    (`listing`) where the step asked to run it."""
    tasks = list(tasks)
    text = f"the flow has no task {name!r}{did_you_mean(name, tasks)}"
    return text + (f"; its tasks: {', '.join(tasks) or 'none'}" if listing else "")


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


def describe_notification(notification: SentNotification) -> str:
    """A notification as a transcript line: ``(notification: handoff_requested {...})``, named
    by the binding it went to (``(notification.crm: booking_created {...})``)."""
    return f"({notification.category}: {notification.describe()})"


def describe_output(output: Output) -> list[str]:
    """An output as the lines a person reads: its text, then numbered choices."""
    kind = output_kind(output)
    lines = [output_text(output) if kind == "text" else f"[{kind}] {output_text(output)}"]
    for number, option in enumerate(options_of(output), start=1):
        detail = f" - {option.description}" if option.description else ""
        lines.append(f"  {number}. {option.title}{detail}  ({option.id})")
    return lines
