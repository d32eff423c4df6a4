"""Connector types: the tenant config's `type` -> settings model and factory, checked at boot.

Flows call connectors by the name the tenant config binds them under: a category
(`connector: calendar`, `connectors.calendar.type: caldav`) or a named binding of one
(`connector: notification.crm`, `connectors.notification.crm.type: webhook`), so a tenant may
bind several connectors of one category (`flows.connector_names`). Everything wrong with a
binding is a `ConfigError` at boot naming the tenant file and key: a malformed name, an unknown
type, a type of another category, a missing or unknown setting, a bad `resilience` policy, and
a flow calling a name the tenant does not bind or an operation it does not have
(`check_flow_connectors`). `connector_json_schemas()` exports every type's binding schema (the
control plane validates bindings with it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from botfleet.adapters.connectors import scripted
from botfleet.adapters.connectors.calendar import config, memory, pool, pool_config
from botfleet.adapters.connectors.notification import WebhookSettings
from botfleet.adapters.connectors.policy import RESILIENCE_KEY, ResiliencePolicy, parse_policy
from botfleet.domain.config_problems import describe
from botfleet.domain.errors import ConfigError, UnknownAdapterError
from botfleet.domain.tenant_config import Binding, TenantConfig
from botfleet.flows import schema
from botfleet.flows._issues import did_you_mean
from botfleet.flows.connector_categories import CATEGORY_OPERATIONS as CATEGORY_OPERATIONS
from botfleet.flows.connector_categories import NOT_CONNECTORS as NOT_CONNECTORS
from botfleet.flows.connector_names import binding_name_problem, connector_category
from botfleet.ports.clock import Clock
from botfleet.ports.connectors import Connector

#: Builds a connector: (settings as given, the binding's name, time zone, clock). The name is
#: the key under `connectors:` (`notification`, `notification.crm`): adapters name themselves
#: by it in errors; `connector_category` of it is the category.
Factory = Callable[[Mapping[str, Any], str, str, Clock], Connector]

# `CATEGORY_OPERATIONS` (the operations every connector of a category offers) and
# `NOT_CONNECTORS` (categories with their own port, built elsewhere: the LLM fallback) are the
# flow validator's too: defined with the flows, so it checks a flow alone against them.
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
    return memory.build(settings, timezone=tz, clock=clock, binding=category)


# The Google Calendar and CalDAV adapters are imported when a tenant binds one (each data plane
# serves one tenant; their settings models, in `config`, are all the table needs).


def _google(settings: Mapping[str, Any], category: str, tz: str, clock: Clock) -> Connector:
    from botfleet.adapters.connectors.calendar import google

    return google.build(settings, timezone=tz, clock=clock)


def _caldav(settings: Mapping[str, Any], category: str, tz: str, clock: Clock) -> Connector:
    from botfleet.adapters.connectors.calendar import caldav

    return caldav.build(settings, timezone=tz, clock=clock, binding=category)


def _calendar_pool(settings: Mapping[str, Any], name: str, tz: str, clock: Clock) -> Connector:
    # Its members are attached by `build_connector`, which knows the tenant's other bindings.
    return pool.build(settings, binding=name)


def _webhook(settings: Mapping[str, Any], category: str, tz: str, clock: Clock) -> Connector:
    from botfleet.adapters.connectors.notification import webhook

    return webhook.build(settings, clock=clock, category=category)


def _scripted(settings: Mapping[str, Any], category: str, tz: str, clock: Clock) -> Connector:
    if connector_category(category) == "calendar":  # the seed's `calendar: {type: mock}`
        # Validated as `mock` (which `MockCalendarSettings` accepts), so an error names the
        # type the tenant wrote ("unknown setting for type 'mock'"), not `mock_calendar`.
        seeded = {"schedule": DEFAULT_MOCK_SCHEDULE, **settings, "type": "mock"}
        return memory.build(seeded, timezone=tz, clock=clock, binding=category)
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
            pool_config.POOL_TYPE,
            "calendar",
            pool_config.CalendarPoolSettings,
            _calendar_pool,
            'several calendar bindings answering as one (a contact\'s "anyone")',
        ),
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


def _config_error(
    source: str, where: str, exc: ValidationError, what: str, model: type[BaseModel] | None = None
) -> ConfigError:
    """A `ConfigError` keyed at the first problem; every problem named by its full key. An
    unknown key inside a setting (an event of a calendar's `busy`) is named as that item's,
    with the keys it takes (`model`: the settings' model, to find them)."""
    problems: list[tuple[str, str]] = []
    for error in exc.errors():
        key, message = describe(error, prefix=where)
        if error["type"] == "missing":
            message = f"missing required setting {what}"
        elif error["type"] == "extra_forbidden":
            keys = _keys_at(model, error["loc"][:-1]) if len(error["loc"]) > 1 else None
            if keys:
                name = str(error["loc"][-1])
                message = f"unknown key{did_you_mean(name, keys)}; it takes {', '.join(keys)}"
            else:
                message = f"unknown setting {what}"
        problems.append((key, message))
    return ConfigError.of(source, problems)


def _keys_at(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> list[str] | None:
    """The keys the model of the item at `loc` inside `model` takes (`busy`, `0` -> an event's
    `title, start, end, day, end_day`); None when `loc` leads to no model."""
    current: Any = model
    for part in loc:
        current = _item_model(current, part)
        if current is None:
            return None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def _item_model(kind: Any, part: int | str) -> Any:
    """What the item `part` of a value of `kind` is: a model's field (by name or alias), a
    list's element; optional types unwrapped."""
    origin = get_origin(kind)
    if origin in (Union, UnionType):
        found = [arg for arg in get_args(kind) if arg is not type(None)]
        kind, origin = (found[0], get_origin(found[0])) if len(found) == 1 else (None, None)
    if isinstance(part, int):
        return get_args(kind)[0] if origin in (list, tuple) and get_args(kind) else None
    if not (isinstance(kind, type) and issubclass(kind, BaseModel)):
        return None
    for name, field in kind.model_fields.items():
        aliases = getattr(field.validation_alias, "choices", ()) or ()
        if part == name or part in aliases:
            return field.annotation
    return None


def build_connector(
    tenant: TenantConfig,
    name: str,
    binding: Binding,
    *,
    clock: Clock,
    members: Mapping[str, Connector] | None = None,
) -> Connector:
    """The connector bound under `connectors.<name>`, a category or `<category>.<name>`
    (raises `ConfigError` naming file and key on any problem). `members`: the built connectors
    a `calendar_pool` answers for (built here from their bindings when not given)."""
    where = f"connectors.{name}"
    problem = binding_name_problem(name)
    if problem is not None:
        raise ConfigError(tenant.source, where, problem)
    category = connector_category(name)
    if name != category and category in NOT_CONNECTORS:
        raise ConfigError(
            tenant.source,
            where,
            f"{category!r} is not a connector: a tenant has one, configured under {category}",
        )
    kind = binding.type
    connector_type = CONNECTOR_TYPES.get(kind)
    if connector_type is None:
        raise UnknownAdapterError(tenant.source, f"{where}.type", kind, types_of(category))
    if connector_type.category not in (None, category):
        home = connector_type.category
        # Binding a second hook under a name of its own (`crm`) is the likeliest cause: say
        # how that name is written.
        raise ConfigError(
            tenant.source,
            f"{where}.type",
            f"type {kind!r} is a {home} connector: bind it under connectors.{home} (another "
            f"one beside it as connectors.{home}.{name.rpartition('.')[2]})",
        )
    # The policy is the data plane's, not the adapter's; checked here too, so that everything
    # that checks bindings one by one (`botfleet validate`, `chat`, `test`) refuses what the
    # boot refuses, with the same message. Its problems follow the settings' own.
    policy_problems: list[tuple[str, str]] = []
    try:
        binding_policy(tenant, name, binding)
    except ConfigError as exc:
        policy_problems = list(exc.problems)
    settings = {"type": kind, **binding.settings()}
    settings.pop(RESILIENCE_KEY, None)
    if category == "calendar":  # its texts follow the tenant's language unless it sets one
        settings = config.with_tenant_language(settings, tenant.language)
    timezone = str(settings.get("timezone") or tenant.timezone)
    try:
        connector = connector_type.factory(settings, name, timezone, clock)
    except ValidationError as exc:
        error = _config_error(
            tenant.source, where, exc, f"for type {kind!r}", connector_type.settings
        )
        raise ConfigError.of(tenant.source, [*error.problems, *policy_problems]) from None
    except ValueError as exc:
        raise ConfigError.of(tenant.source, [(where, str(exc)), *policy_problems]) from None
    if policy_problems:
        raise ConfigError.of(tenant.source, policy_problems)
    if isinstance(connector, pool.CalendarPool):
        _attach_members(tenant, name, connector, clock=clock, built=members)
    return connector


def _attach_members(
    tenant: TenantConfig,
    name: str,
    connector: pool.CalendarPool,
    *,
    clock: Clock,
    built: Mapping[str, Connector] | None,
) -> None:
    """Check a pool's members against the tenant's bindings and give it their connectors:
    `built` ones (the boot's, shared with their own bindings), else built here."""
    listed = connector.settings.members
    kinds = {n: b.type for n, b in tenant.connectors.items()}
    zones = {
        n: str(b.settings().get("timezone") or tenant.timezone)
        for n, b in tenant.connectors.items()
        if connector_category(n) == "calendar"
    }
    problems = pool_config.member_problems(name, listed, kinds, zones)
    if problems:
        raise ConfigError.of(tenant.source, problems)
    members: dict[str, Connector] = {}
    for index, member in enumerate(listed):
        if built is not None and member in built:
            members[member] = built[member]
            continue
        try:
            members[member] = build_connector(
                tenant, member, tenant.connectors[member], clock=clock
            )
        except ConfigError:
            where = f"connectors.{name}.members[{index}]"
            message = f"{member!r} cannot be built: see the problems of connectors.{member}"
            raise ConfigError(tenant.source, where, message) from None
    connector.attach(members)


def types_of(category: str) -> list[str]:
    """The types a binding of `category` may have (its own and the generic `mock`), sorted."""
    return sorted(name for name, t in CONNECTOR_TYPES.items() if t.category in (None, category))


def build_connectors(tenant: TenantConfig, *, clock: Clock) -> dict[str, Connector]:
    """Every configured connector by its binding's name (the LLM is built elsewhere). Pools
    are built last, over the very connectors of their members."""
    bindings = {n: b for n, b in tenant.connectors.items() if n not in NOT_CONNECTORS}
    pools = {n for n, b in bindings.items() if b.type == pool_config.POOL_TYPE}
    built = {
        name: build_connector(tenant, name, binding, clock=clock)
        for name, binding in bindings.items()
        if name not in pools
    }
    for name in pools:
        built[name] = build_connector(tenant, name, bindings[name], clock=clock, members=built)
    return {name: built[name] for name in bindings}


def connector_policies(tenant: TenantConfig, *, timeout_s: float) -> dict[str, ResiliencePolicy]:
    """Each binding's resilience policy (`connectors.<name>.resilience`, else defaults with the
    process's `timeout_s`); a bad policy is a `ConfigError` naming the key. Named bindings of
    one category have policies (and circuit breakers) of their own."""
    return {
        name: binding_policy(tenant, name, binding, timeout_s=timeout_s)
        for name, binding in tenant.connectors.items()
    }


def binding_policy(
    tenant: TenantConfig, name: str, binding: Binding, *, timeout_s: float | None = None
) -> ResiliencePolicy:
    """The policy of the binding `connectors.<name>` (its `resilience`, over the defaults with
    the process's `timeout_s`); a bad one is a `ConfigError` naming the key
    (`connectors.calendar.resilience.max_attempts: ...`)."""
    raw = binding.settings().get(RESILIENCE_KEY)
    where = f"connectors.{name}.{RESILIENCE_KEY}"
    if raw is not None and not isinstance(raw, Mapping):
        raise ConfigError(tenant.source, where, "must be a mapping of policy settings")
    try:
        return parse_policy(raw, timeout_s=timeout_s)
    except ValidationError as exc:
        raise _config_error(tenant.source, where, exc, "of the policy") from None


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
    """(flow place, connector name) of every `invoke_connector` naming a category or named
    binding not in `configured` (the control plane checks this before publishing a flow)."""
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
    """Every `invoke_connector` of the flow must name a configured binding (a category or a
    named binding, `notification.crm`) and one of its operations; otherwise a `ConfigError`
    names the tenant file, the key and the flow place, and for a name the tenant does not bind
    the binding most likely meant. Calls to `unchecked` bindings (configured, but their binding
    failed) are checked against the operations of their category when it has a fixed set
    (`CATEGORY_OPERATIONS`)."""
    problems: list[tuple[str, str]] = []
    bound = frozenset(tenant.connectors) - NOT_CONNECTORS
    for where, action in _invocations(flow):
        name, operation = action.connector, action.operation
        connector = connectors.get(name)
        if name in unchecked:  # what every connector of the category offers, if known
            known = CATEGORY_OPERATIONS.get(connector_category(name), frozenset({operation}))
        elif connector is None:
            if name not in NOT_CONNECTORS:
                problems.append(
                    (f"connectors.{name}", f"the flow ({where}) calls connector {name!r}, "
                     f"which the tenant does not configure{did_you_mean(name, bound)}")
                )  # fmt: skip
            continue
        else:
            known = connector.operations()
        if operation not in known:
            problems.append(
                (f"connectors.{name}", f"the flow ({where}) calls {name}.{operation}, "
                 f"an operation {name!r} does not have (known: {', '.join(sorted(known))})")
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
    ``mock``) are listed under ``"any"``. Each schema includes the `resilience` policy. A named
    binding (``notification.crm``) takes the schemas of its category (``notification``).
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
