"""Connector types: the tenant config's `type` -> settings model and factory, checked at boot.

Flows call connectors by category (`connector: calendar`); the tenant config binds each
category to a type (`connectors.calendar.type: caldav`). Everything wrong with a binding is a
`ConfigError` at boot naming the tenant file and key: an unknown type, a type of another
category, a missing or unknown setting, a bad `resilience` policy, and a flow calling an
operation the category does not have (`check_flow_connectors`). `connector_json_schemas()`
exports every type's binding schema (the control plane validates bindings with it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from botfleet.adapters.connectors import scripted
from botfleet.adapters.connectors.calendar import config, memory
from botfleet.adapters.connectors.notification import WebhookSettings
from botfleet.adapters.connectors.policy import RESILIENCE_KEY, ResiliencePolicy
from botfleet.domain.config_problems import describe
from botfleet.domain.errors import ConfigError, UnknownAdapterError
from botfleet.domain.tenant_config import Binding, TenantConfig
from botfleet.flows import schema
from botfleet.ports.clock import Clock
from botfleet.ports.connectors import Connector

#: Builds a connector: (settings without `type`... as given, category, time zone, clock).
Factory = Callable[[Mapping[str, Any], str, str, Clock], Connector]

#: Operations every connector of a category offers (flow-dsl.md, "Calendar connector operations").
CATEGORY_OPERATIONS: dict[str, frozenset[str]] = {
    "calendar": frozenset(
        {
            "get_available_days",
            "get_slots_for_day",
            "book_appointment",
            "get_future_appointments",
            "cancel_event",
            "list_appointments",
            "cancel_appointment",
            "reschedule_appointment",
        }
    ),
    # docs/connectors.md, "Notification category".
    "notification": frozenset({"send"}),
}
#: Categories with their own port, built elsewhere (the LLM fallback).
NOT_CONNECTORS = frozenset({"llm"})
#: The seed's `calendar: {type: mock}` is the in-memory calendar, open on weekdays.
DEFAULT_MOCK_SCHEDULE = {
    day: ["10:00-14:00", "17:00-20:00"] for day in ("mon", "tue", "wed", "thu", "fri")
}


@dataclass(frozen=True, slots=True)
class ConnectorType:
    """One `type` a binding may name. `category` None: usable under any category."""

    name: str
    category: str | None
    settings: type[BaseModel]
    factory: Factory
    summary: str


def _mock_calendar(settings: Mapping[str, Any], category: str, tz: str, clock: Clock) -> Connector:
    return memory.build(settings, timezone=tz, clock=clock)


# The Google Calendar and CalDAV adapters are imported when a tenant binds one (each data plane
# serves one tenant; their settings models, in `config`, are all the table needs).


def _google(settings: Mapping[str, Any], category: str, tz: str, clock: Clock) -> Connector:
    from botfleet.adapters.connectors.calendar import google

    return google.build(settings, timezone=tz, clock=clock)


def _caldav(settings: Mapping[str, Any], category: str, tz: str, clock: Clock) -> Connector:
    from botfleet.adapters.connectors.calendar import caldav

    return caldav.build(settings, timezone=tz, clock=clock)


def _webhook(settings: Mapping[str, Any], category: str, tz: str, clock: Clock) -> Connector:
    from botfleet.adapters.connectors.notification import webhook

    return webhook.build(settings, clock=clock, category=category)


def _scripted(settings: Mapping[str, Any], category: str, tz: str, clock: Clock) -> Connector:
    if category == "calendar":  # the seed's `calendar: {type: mock}`
        # Validated as `mock` (which `MockCalendarSettings` accepts), so an error names the
        # type the tenant wrote ("unknown setting for type 'mock'"), not `mock_calendar`.
        seeded = {"schedule": DEFAULT_MOCK_SCHEDULE, **settings, "type": "mock"}
        return memory.build(seeded, timezone=tz, clock=clock)
    return scripted.build(settings, category=category)


CONNECTOR_TYPES: dict[str, ConnectorType] = {
    t.name: t
    for t in (
        ConnectorType(
            "mock_calendar",
            "calendar",
            config.MockCalendarSettings,
            _mock_calendar,
            "in-memory calendar (tests, demos)",
        ),
        ConnectorType(
            "google_calendar",
            "calendar",
            config.GoogleCalendarSettings,
            _google,
            "Google Calendar with a service account",
        ),
        ConnectorType("caldav", "calendar", config.CalDavSettings, _caldav, "any CalDAV server"),
        ConnectorType(
            "webhook",
            "notification",
            WebhookSettings,
            _webhook,
            "POST each notification to a URL the business controls (signed, idempotent)",
        ),
        ConnectorType(
            "mock",
            None,
            scripted.ScriptedSettings,
            _scripted,
            "scripted mock (under `calendar`: the in-memory calendar)",
        ),
    )
}


def _config_error(source: str, where: str, exc: ValidationError, what: str) -> ConfigError:
    """A `ConfigError` keyed at the first problem; every problem named by its full key."""
    problems: list[tuple[str, str]] = []
    for error in exc.errors():
        key, message = describe(error, prefix=where)
        if error["type"] == "missing":
            message = f"missing required setting {what}"
        elif error["type"] == "extra_forbidden":
            message = f"unknown setting {what}"
        problems.append((key, message))
    return ConfigError.of(source, problems)


def build_connector(
    tenant: TenantConfig, category: str, binding: Binding, *, clock: Clock
) -> Connector:
    """One category's connector (raises `ConfigError` naming file and key on any problem)."""
    where = f"connectors.{category}"
    kind = binding.type
    connector_type = CONNECTOR_TYPES.get(kind)
    if connector_type is None:
        raise UnknownAdapterError(tenant.source, f"{where}.type", kind, CONNECTOR_TYPES)
    if connector_type.category not in (None, category):
        raise ConfigError(
            tenant.source,
            f"{where}.type",
            f"type {kind!r} is a {connector_type.category} connector: bind it under "
            f"connectors.{connector_type.category}",
        )
    settings = {"type": kind, **binding.settings()}
    settings.pop(RESILIENCE_KEY, None)  # the data plane's, not the adapter's
    timezone = str(settings.get("timezone") or tenant.timezone)
    try:
        return connector_type.factory(settings, category, timezone, clock)
    except ValidationError as exc:
        raise _config_error(tenant.source, where, exc, f"for type {kind!r}") from None
    except ValueError as exc:
        raise ConfigError(tenant.source, where, str(exc)) from None


def build_connectors(tenant: TenantConfig, *, clock: Clock) -> dict[str, Connector]:
    """Every configured connector by category (the LLM is built elsewhere)."""
    return {
        category: build_connector(tenant, category, binding, clock=clock)
        for category, binding in tenant.connectors.items()
        if category not in NOT_CONNECTORS
    }


def connector_policies(tenant: TenantConfig, *, timeout_s: float) -> dict[str, ResiliencePolicy]:
    """Each connector's resilience policy (`connectors.<category>.resilience`, else defaults
    with the process's `timeout_s`); a bad policy is a `ConfigError` naming the key."""
    policies: dict[str, ResiliencePolicy] = {}
    for category, binding in tenant.connectors.items():
        raw = binding.settings().get(RESILIENCE_KEY) or {}
        where = f"connectors.{category}.{RESILIENCE_KEY}"
        if not isinstance(raw, Mapping):
            raise ConfigError(tenant.source, where, "must be a mapping of policy settings")
        try:
            policies[category] = ResiliencePolicy.model_validate({"timeout_s": timeout_s, **raw})
        except ValidationError as exc:
            raise _config_error(tenant.source, where, exc, "of the policy") from None
    return policies


def _invocations(flow: schema.FlowSpec) -> Iterator[tuple[str, schema.InvokeConnector]]:
    for name, state in flow.states.items():
        for index, action in enumerate(state.on_enter):
            if isinstance(action, schema.InvokeConnector):
                yield f"states.{name}.on_enter[{index}]", action
    for task, actions in flow.tasks.items():
        for index, action in enumerate(actions):
            if isinstance(action, schema.InvokeConnector):
                yield f"tasks.{task}[{index}]", action


def unbound_connector_calls(
    flow: schema.FlowSpec, configured: frozenset[str]
) -> list[tuple[str, str]]:
    """(flow place, category) of every `invoke_connector` naming a category not in
    `configured` (the control plane checks this before publishing a flow)."""
    return [
        (where, action.connector)
        for where, action in _invocations(flow)
        if action.connector not in configured and action.connector not in NOT_CONNECTORS
    ]


def check_flow_connectors(
    tenant: TenantConfig,
    flow: schema.FlowSpec,
    connectors: Mapping[str, Connector],
    *,
    unchecked: frozenset[str] = frozenset(),
) -> None:
    """Every `invoke_connector` of the flow must name a configured category and one of its
    operations; otherwise a `ConfigError` names the tenant file, the key and the flow place.
    Calls to `unchecked` categories (configured, but their binding failed) are checked against
    the operations of their category when it has a fixed set (`CATEGORY_OPERATIONS`)."""
    problems: list[tuple[str, str]] = []
    for where, action in _invocations(flow):
        category, operation = action.connector, action.operation
        connector = connectors.get(category)
        if category in unchecked:  # what every connector of the category offers, if known
            known = CATEGORY_OPERATIONS.get(category, frozenset({operation}))
        elif connector is None:
            if category not in NOT_CONNECTORS:
                problems.append(
                    (f"connectors.{category}", f"the flow ({where}) calls connector "
                     f"{category!r}, which the tenant does not configure")
                )  # fmt: skip
            continue
        else:
            known = connector.operations()
        if operation not in known:
            problems.append(
                (f"connectors.{category}", f"the flow ({where}) calls {category}.{operation}, "
                 f"an operation {category!r} does not have (known: {', '.join(sorted(known))})")
            )  # fmt: skip
    if problems:
        key = problems[0][0]
        raise ConfigError(tenant.source, key, "; ".join(detail for _, detail in problems))


def _binding_schema(connector_type: ConnectorType) -> dict[str, Any]:
    schema_ = connector_type.settings.model_json_schema()
    policy = ResiliencePolicy.model_json_schema()
    schema_.setdefault("properties", {})[RESILIENCE_KEY] = {
        **policy,
        "description": "timeout, retries and circuit breaker of every call",
    }
    # Filled in from the tenant when absent, so not required in a binding.
    required = [k for k in schema_.get("required", []) if k != "timezone"]
    schema_["required"] = required
    schema_["description"] = connector_type.summary
    return schema_


def connector_json_schemas() -> dict[str, dict[str, dict[str, Any]]]:
    """JSON Schema of every binding, as ``{category: {type: schema}}``.

    Types of one category are listed under it (``calendar``: ``mock_calendar``,
    ``google_calendar``, ``caldav`` and the seed's ``mock``); generic types (the scripted
    ``mock``) are listed under ``"any"``. Each schema includes the `resilience` policy.
    """
    schemas: dict[str, dict[str, dict[str, Any]]] = {}
    for connector_type in CONNECTOR_TYPES.values():
        group = connector_type.category or "any"
        schemas.setdefault(group, {})[connector_type.name] = _binding_schema(connector_type)
    calendar_mock = _binding_schema(CONNECTOR_TYPES["mock_calendar"])
    calendar_mock["properties"]["type"] = {"const": "mock", "type": "string"}
    calendar_mock["description"] = "the seed's name of the in-memory calendar"
    schemas["calendar"]["mock"] = calendar_mock
    return schemas
