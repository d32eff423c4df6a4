"""Registry of channel and connector binding schemas (non-secret settings only).

A binding is ``{type: <kind>, ...settings}``. Each type is checked with the settings model the
data plane's adapter uses at boot (WhatsApp, Telegram, the calendar back ends, the scripted
mock, the LLM options), so the control plane never accepts a binding the data plane would
refuse. Secrets (every `SecretStr` field of those models, and the usual secret names) are
refused here: they belong in the tenant's credentials (``PUT /v1/tenants/{id}/credentials/
{scope}``) and are merged into the boot payload only. A binding that lacks only its secrets
is valid. A few settings may be given in either place (a model's `CREDENTIAL_SETTINGS`: the
webhook's `url`, often a secret itself): in the binding, or as a credential, never both. The
adapter modules pull in SDKs, so they are imported on first use.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, get_args
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.json_places import error_text, leaves, loc_place
from botfleet.domain.channel_ids import channel_kind, more_channel_problems
from botfleet.domain.timezones import check_zone_name
from botfleet.flows._issues import did_you_mean
from botfleet.flows.connector_names import (
    SEPARATOR,
    binding_name_problem,
    connector_category,
    is_named_binding,
)

# Field names that always hold secrets, whatever the binding type.
SECRET_FIELD_NAMES = frozenset(
    {"access_token", "app_secret", "verify_token", "bot_token", "webhook_secret", "api_key",
     "password", "secret", "token", "client_secret", "private_key", "service_account_info",
     "service_account_json", "refresh_token", "secret_token", "internal_token"}
)  # fmt: skip
RESILIENCE_KEY = "resilience"
_PLACEHOLDER = "stored-as-credentials"
#: The longest category (`_CATEGORY`).
MAX_CATEGORY = 63
_CATEGORY = re.compile(rf"^[a-z][a-z0-9_]{{0,{MAX_CATEGORY - 1}}}$")
#: The category that is not a connector: a tenant has one LLM, bound under `connectors.llm`.
LLM_CATEGORY = "llm"
CONNECTOR_SCOPE_PREFIX = "connector:"
#: The credential scope of a more channel is ``channel:<kind>`` (``channel:telegram``).
CHANNEL_SCOPE_PREFIX = "channel:"
#: The longest binding key: its credential scope (``connector:<key>``) is stored in a column
#: of 100 characters.
MAX_BINDING_KEY = 100 - len(CONNECTOR_SCOPE_PREFIX)
_URL = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://")
_QUERY_PROBLEM = "give the URL without a query (?...) or fragment (#...)"


def check_timezone(name: str) -> str:
    """Raise ValueError unless `name` is an IANA time zone such as ``Europe/Madrid``.

    The data plane's own check (`check_zone_name`), so no name is stored that it would refuse
    at boot, or read as its host's clock setting (``localtime``).
    """
    return check_zone_name(name)


@dataclass(frozen=True, slots=True)
class BindingType:
    """One `type` a binding may name, and the model its settings are checked with."""

    name: str
    model: type[BaseModel]
    #: Connectors: the only category it may be bound under (None: any).
    category: str | None = None
    #: Whether the model itself has a `type` field (the channel models do not).
    has_type_field: bool = True
    #: Values the data plane adds before validating (the LLM provider named by the type).
    implied: Mapping[str, Any] = field(default_factory=dict)


@cache
def channel_types() -> dict[str, BindingType]:
    from botfleet.adapters.channels.telegram.settings import TelegramSettings
    from botfleet.adapters.channels.webchat.settings import WebChatSettings
    from botfleet.adapters.channels.whatsapp.settings import WhatsAppSettings

    return {
        "http_dev": BindingType("http_dev", WebChatSettings, has_type_field=False),
        "webchat": BindingType("webchat", WebChatSettings, has_type_field=False),
        "whatsapp": BindingType("whatsapp", WhatsAppSettings, has_type_field=False),
        "telegram": BindingType("telegram", TelegramSettings, has_type_field=False),
    }


@cache
def connector_types() -> dict[str, BindingType]:
    from botfleet.adapters.connectors.catalog import CONNECTOR_TYPES

    types = {
        name: BindingType(name, kind.settings, kind.category)
        for name, kind in CONNECTOR_TYPES.items()
    }
    options = llm_options_model()
    for provider in ("mock_llm", "anthropic", "openai_compatible"):
        types[provider] = BindingType(
            provider, options, "llm", has_type_field=False, implied={"provider": provider}
        )
    return types


def llm_options_model() -> type[BaseModel]:
    from botfleet.adapters.llm.options import LLMOptions

    return LLMOptions


def _calendar_mock() -> BindingType:
    # The seed's `calendar: {type: mock}` is the in-memory calendar (see the catalog).
    from botfleet.adapters.connectors.calendar.config import MockCalendarSettings

    return BindingType("mock", MockCalendarSettings, "calendar")


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or any(_is_secret(arg) for arg in get_args(annotation))


@cache
def secret_fields(model: type[BaseModel]) -> frozenset[str]:
    """Names (and aliases) of the model's secret fields, plus the usual secret names."""
    names = set(SECRET_FIELD_NAMES)
    for name, info in model.model_fields.items():
        if _is_secret(info.annotation) or name in SECRET_FIELD_NAMES:
            names.add(name)
            alias = info.validation_alias
            if isinstance(alias, str):
                names.add(alias)
            elif isinstance(alias, AliasChoices):
                names.update(c for c in alias.choices if isinstance(c, str))
    return frozenset(names)


def credential_settings(model: type[BaseModel]) -> frozenset[str]:
    """The model's settings that may be stored as credentials instead of in the binding (its
    `CREDENTIAL_SETTINGS`, e.g. the webhook's `url`): not secrets, since a binding may hold them,
    but the credentials may, where a URL can carry its key (``?sig=...``) unseen."""
    names: frozenset[str] = getattr(model, "CREDENTIAL_SETTINGS", frozenset())
    return frozenset(name for name in names if name in model.model_fields)


def _field_names(model: type[BaseModel], name: str) -> set[str]:
    """A field's name and its aliases."""
    names = {name}
    alias = model.model_fields[name].validation_alias
    if isinstance(alias, str):
        names.add(alias)
    elif isinstance(alias, AliasChoices):
        names.update(c for c in alias.choices if isinstance(c, str))
    return names


def _problems(
    model: type[BaseModel], values: dict[str, Any], secrets: frozenset[str]
) -> list[ErrorDetails]:
    try:
        model.model_validate(values)
    except ValidationError as exc:
        # Missing or placeholder secrets are the credentials' business, not the binding's.
        return [e for e in exc.errors() if not (e["loc"] and str(e["loc"][0]) in secrets)]
    return []


def _first_problem(where: str, problem: ErrorDetails) -> InvalidInput:
    detail = "unknown field" if problem["type"] == "extra_forbidden" else error_text(problem["msg"])
    return InvalidInput(loc_place(where, problem["loc"]), detail)


def _url_problem(key: str, text: str) -> str | None:
    """Why a URL setting is refused: credentials in it (``https://user:password@host``) would
    be stored in clear and shown to every tenant key, and a base URL has no use for a query or
    a fragment. The message never repeats the URL."""
    if not _URL.match(text):
        return None
    try:
        parts = urlsplit(text.strip())
    except ValueError:  # e.g. a broken IPv6 host: the settings model says what is wrong
        return None
    if "@" in parts.netloc:
        return (
            "a URL must not carry credentials (user:password@): give the user name in its "
            "own setting and store the password as credentials"
        )
    if (key == "url" or key.endswith("_url")) and (parts.query or parts.fragment):
        return _QUERY_PROBLEM
    return None


def _check_urls(where: str, value: object) -> None:
    """Refuse credentials in any URL of a binding (nested objects and lists too), naming its
    place (``channel.allowed_origins[1]``)."""
    for leaf in leaves(value, where):
        if leaf.is_key or not isinstance(leaf.value, str):
            continue
        problem = _url_problem((leaf.key or "").lower(), leaf.value)
        if problem:
            raise InvalidInput(leaf.place, problem)


def _scope_of(where: str, kind: BindingType) -> str:
    """The credential scope whose secrets fill the binding at `where`."""
    if where.startswith("more_channels["):
        return f"{CHANNEL_SCOPE_PREFIX}{channel_kind(kind.name)}"
    return where.replace("connectors.", CONNECTOR_SCOPE_PREFIX, 1) if "." in where else where


def _model_input(kind: BindingType, value: Mapping[str, Any]) -> dict[str, Any]:
    """A binding as its settings model reads it at boot: without the resilience policy (the
    data plane's own), `type` only where the model has one, plus what the type implies."""
    values = {k: v for k, v in value.items() if k != RESILIENCE_KEY}
    if not kind.has_type_field:
        values.pop("type", None)
    values.update(kind.implied)
    if "timezone" in kind.model.model_fields and "timezone" not in values:
        values["timezone"] = "UTC"  # the data plane fills in the tenant's
    return values


def _check(where: str, kind: BindingType, value: Mapping[str, Any]) -> None:
    secrets = secret_fields(kind.model)
    for key in value:
        if str(key).lower() in secrets:
            raise InvalidInput(
                f"{where}.{key}", "secrets are not allowed in bindings; store them as credentials"
            )
    movable = credential_settings(kind.model)
    for key in sorted(movable & set(value)):
        text = value[key]
        problem = _url_problem(key, text) if isinstance(text, str) else None
        if problem == _QUERY_PROBLEM:  # a URL that carries its key belongs in the credentials
            raise InvalidInput(
                f"{where}.{key}",
                f"{problem}; a URL that carries a secret (?sig=..., a token in its path) "
                f"belongs in the credentials: store it as {key!r} in {_scope_of(where, kind)} "
                "instead of in the binding",
            )
    _check_urls(where, value)
    values = _model_input(kind, value)
    fields = kind.model.model_fields
    # A setting the credentials may hold is not missing when the binding leaves it out.
    left_out = frozenset(n for n in movable if not _field_names(kind.model, n) & set(values))
    problems = _problems(kind.model, values, secrets | left_out)
    if problems:
        # Valid once its credentials are merged in? Then it is a valid binding.
        filled = {**{s: _PLACEHOLDER for s in fields if s in secrets}, **values}
        if _problems(kind.model, filled, secrets):
            raise _first_problem(where, problems[0])
    if RESILIENCE_KEY in value:
        from botfleet.adapters.connectors.policy import ResiliencePolicy

        policy = _problems(ResiliencePolicy, value[RESILIENCE_KEY], frozenset())
        if policy:
            raise _first_problem(f"{where}.{RESILIENCE_KEY}", policy[0])


def _binding(where: str, value: object, table: Mapping[str, BindingType]) -> BindingType:
    if not isinstance(value, Mapping):
        raise InvalidInput(where, "must be an object with a 'type'")
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in table:
        hint = did_you_mean(kind, table) if isinstance(kind, str) else ""
        raise InvalidInput(
            f"{where}.type", f"unknown type {kind!r}{hint} (known: {', '.join(sorted(table))})"
        )
    return table[kind]


def validate_channel(value: object, where: str = "channel") -> dict[str, Any]:
    """Check a channel binding; returns it as given. Raises `InvalidInput` naming the key."""
    kind = _binding(where, value, channel_types())
    assert isinstance(value, Mapping)
    _check(where, kind, value)
    return dict(value)


def channel_kinds() -> list[str]:
    """The kinds a more channel may be (`channel_kind` of each channel type), sorted."""
    return sorted({channel_kind(name) for name in channel_types()})


def validate_more_channels(value: object) -> list[dict[str, Any]]:
    """Check each of the tenant's `more_channels` as `validate_channel` checks `channel`
    (``more_channels[1].type``); returns them as given. How they sit beside the tenant's
    channel is `check_more_channels`'."""
    if not isinstance(value, list):
        raise InvalidInput("more_channels", "must be a list of channel bindings")
    return [validate_channel(item, f"more_channels[{i}]") for i, item in enumerate(value)]


def check_more_channels(channel: object, more_channels: object, *, stored: bool = False) -> None:
    """The data plane's rules of several channels (`more_channel_problems`): each kind at most
    once, the tenant's channel's too, and no `http_dev` beside others. With `stored` the
    `more_channels` are the tenant's as they are, not given with the change: said so, as the
    change that clashes with them names none."""
    primary = channel.get("type") if isinstance(channel, Mapping) else None
    items = more_channels if isinstance(more_channels, list) else []
    types = [str(item.get("type")) for item in items if isinstance(item, Mapping)]
    problems = more_channel_problems(primary if isinstance(primary, str) else "", types)
    if not problems:
        return
    key, problem = problems[0]
    if stored and key.startswith("more_channels"):
        problem += (
            " (the tenant's stored more_channels: send more_channels without it in the same change)"
        )
    raise InvalidInput(key, problem)


def _connector_kind(category: str, kind: BindingType) -> BindingType:
    if kind.name == "mock" and category == "calendar":
        return _calendar_mock()
    return kind


def binding_key_category(key: str, where: str) -> str:
    """The category of a key under `connectors:` (``notification`` for the named binding
    ``notification.crm``, by the flows' own rules: `flows.connector_names`); `InvalidInput` at
    `where` when `key` cannot name a binding here: a category that is not lower_snake_case, a
    malformed name after the dot, ``llm.<name>``, or a key too long for its credential scope."""
    problem = binding_name_problem(key)
    if problem is not None:
        raise InvalidInput(where, problem)
    category = connector_category(key)
    if _CATEGORY.fullmatch(category[:MAX_CATEGORY]) and len(category) > MAX_CATEGORY:
        raise InvalidInput(where, f"a category is at most {MAX_CATEGORY} characters")
    if not _CATEGORY.fullmatch(category):
        if is_named_binding(key):
            raise InvalidInput(
                where, f"{key!r}: the category before {SEPARATOR!r} must be lower_snake_case"
            )
        raise InvalidInput(where, "category must be lower_snake_case")
    if is_named_binding(key) and category == LLM_CATEGORY:
        raise InvalidInput(
            where,
            f"{key!r}: llm has no named bindings, it is not a connector (a tenant has one LLM, "
            "bound under connectors.llm)",
        )
    if len(key) > MAX_BINDING_KEY:
        raise InvalidInput(
            where,
            f"a binding's name is at most {MAX_BINDING_KEY} characters in all (its credentials "
            f"are stored under the scope {CONNECTOR_SCOPE_PREFIX}<name>)",
        )
    return category


def validate_connectors(value: object) -> dict[str, dict[str, Any]]:
    """Check ``{name: binding}``, each name a category or a named binding of one
    (``notification.crm``), whose category decides the types and settings it may have;
    returns it as given."""
    if not isinstance(value, Mapping):
        raise InvalidInput("connectors", "must be an object mapping a category to a binding")
    checked: dict[str, dict[str, Any]] = {}
    for key, binding in value.items():
        where = f"connectors.{key}"
        category = binding_key_category(str(key), where)
        kind = _connector_kind(category, _binding(where, binding, connector_types()))
        if kind.category not in (None, category):
            home = kind.category
            # A second connector bound under a name of its own (`crm`) is the likeliest slip.
            beside = (
                ""
                if home == LLM_CATEGORY
                else f" (another one beside it as connectors.{home}.{key.rpartition('.')[2]})"
            )
            raise InvalidInput(
                f"{where}.type",
                f"type {kind.name!r} is a {home} connector: bind it under connectors.{home}"
                f"{beside}",
            )
        assert isinstance(binding, Mapping)
        _check(where, kind, binding)
        checked[key] = dict(binding)
    return checked


def validate_llm(value: object) -> dict[str, Any]:
    """Check the tenant's LLM settings (``enabled``, ``provider``, ``quota_monthly_tokens``...)."""
    if not isinstance(value, Mapping):
        raise InvalidInput("llm", "must be an object")
    _check("llm", BindingType("llm", llm_options_model(), has_type_field=False), value)
    return dict(value)


def check_llm_provider(llm: Mapping[str, Any], connectors: Mapping[str, Any]) -> None:
    """`llm.provider` and `connectors.llm.type` must not contradict each other (the data plane
    refuses to boot when they do)."""
    from botfleet.adapters.llm.options import PROVIDER_ALIASES

    binding = connectors.get("llm")
    named, bound = (
        llm.get("provider"),
        binding.get("type") if isinstance(binding, Mapping) else None,
    )
    if not (isinstance(named, str) and isinstance(bound, str)):
        return
    if PROVIDER_ALIASES.get(named, named) != PROVIDER_ALIASES.get(bound, bound):
        raise InvalidInput(
            "llm.provider",
            f"{named!r} contradicts connectors.llm.type {bound!r}; remove one of them",
        )


# ---------------------------------------------------------------- credentials


def credential_fields(model: type[BaseModel]) -> dict[str, str]:
    """The fields credentials may fill for a binding checked with `model`: each name the model
    accepts for a secret field or a `credential_settings` one (the field's name and its
    aliases, e.g. Telegram's `secret_token`) mapped to the field's name. Only the model's own
    fields: its settings are refused with ``extra="forbid"``, so any other name merged into
    the binding stops the data plane's boot."""
    movable = credential_settings(model)
    names: dict[str, str] = {}
    for name, info in model.model_fields.items():
        if not (_is_secret(info.annotation) or name in SECRET_FIELD_NAMES or name in movable):
            continue
        names.update((alias, name) for alias in _field_names(model, name))
    return names


@dataclass(frozen=True, slots=True)
class CredentialTarget:
    """What one credential scope's secrets are merged into at boot."""

    #: How messages name it: ``channel (type 'whatsapp')``, ``connectors.calendar (type ...)``.
    what: str
    #: Accepted secret names -> field names (see `credential_fields`).
    fields: Mapping[str, str]
    #: The binding's other (non-secret) settings, to point a misplaced one to the binding.
    settings: frozenset[str] = frozenset()
    #: Secret fields the model cannot do without (field names): the data plane refuses to boot
    #: a binding whose credentials leave one out.
    required: frozenset[str] = frozenset()
    #: Settings the credentials may hold instead of the binding (`credential_settings`) that
    #: the binding holds already: kept in one place, so refused in the credentials.
    in_binding: frozenset[str] = frozenset()
    #: Settings the credentials may hold instead of the binding (field names), wherever given.
    movable: frozenset[str] = frozenset()
    #: The settings model of the binding, whose rules the secrets merged into it must pass.
    model: type[BaseModel] | None = None
    #: The binding as `model` reads it at boot (see `_model_input`), the secrets merged over it.
    binding: Mapping[str, Any] = field(default_factory=dict)
    #: The validation context the data plane's adapter gives `model` (the binding's name).
    context: Mapping[str, Any] = field(default_factory=dict)


def _target(
    what: str, kind: BindingType, binding: object = None, context: Mapping[str, Any] | None = None
) -> CredentialTarget:
    """What credentials fill in a binding of `kind`; a `credential_settings` one (the webhook's
    `url`) only when `binding` leaves it out, and then it is required if the model requires it
    (the credentials are where the data plane gets it)."""
    model = kind.model
    every = credential_fields(model)
    movable = credential_settings(model)
    given = {str(key) for key in binding} if isinstance(binding, Mapping) else set()
    in_binding = frozenset(n for n in movable if _field_names(model, n) & given)
    fields = {alias: name for alias, name in every.items() if name not in in_binding}
    taken = set(fields.values())
    required = frozenset(
        name for name, info in model.model_fields.items() if name in taken and info.is_required()
    )
    settings = frozenset(model.model_fields) - set(every.values())
    base = _model_input(kind, binding if isinstance(binding, Mapping) else {})
    return CredentialTarget(
        what, fields, settings, required, in_binding, movable, model, base, context or {}
    )


def more_channel_of(more_channels: object, kind: str) -> tuple[int, Mapping[str, Any]] | None:
    """The index and binding of the more channel of `kind` (``webchat`` for ``http_dev`` too),
    or None when the tenant has none."""
    items = more_channels if isinstance(more_channels, list) else []
    for index, binding in enumerate(items):
        name = binding.get("type") if isinstance(binding, Mapping) else None
        if isinstance(name, str) and channel_kind(name) == kind:
            return index, binding
    return None


def credential_target(
    scope: str, channel: object, connectors: object, more_channels: object = ()
) -> CredentialTarget | None:
    """What the secrets of `scope` (``channel``, ``llm``, ``connector:<name>``: a category or a
    named binding; ``channel:<kind>``: the more channel of that kind) fill, given the tenant's
    bindings; None when the scope has no binding of a known type (a connector the tenant does
    not bind, a kind none of its more channels is), so its secret names cannot be checked."""
    if scope == "llm":
        # Merged into the `llm:` settings, which hold no secret-dependent rule: checked alone.
        return _target("llm", BindingType("llm", llm_options_model(), has_type_field=False))
    if scope == "channel":
        kind_name = channel.get("type") if isinstance(channel, Mapping) else None
        kind = channel_types().get(kind_name) if isinstance(kind_name, str) else None
        if kind is None:
            return None
        return _target(f"channel (type {kind.name!r})", kind, channel)
    if scope.startswith(CHANNEL_SCOPE_PREFIX):
        found = more_channel_of(more_channels, scope.removeprefix(CHANNEL_SCOPE_PREFIX))
        if found is None:
            return None
        index, channel_binding = found
        kind = channel_types().get(str(channel_binding.get("type")))
        if kind is None:
            return None
        return _target(f"more_channels[{index}] (type {kind.name!r})", kind, channel_binding)
    if scope.startswith(CONNECTOR_SCOPE_PREFIX):
        key = scope.removeprefix(CONNECTOR_SCOPE_PREFIX)
        binding = connectors.get(key) if isinstance(connectors, Mapping) else None
        kind_name = binding.get("type") if isinstance(binding, Mapping) else None
        kind = connector_types().get(kind_name) if isinstance(kind_name, str) else None
        if kind is None:
            return None
        from botfleet.adapters.connectors.calendar.config import BINDING_CONTEXT

        kind = _connector_kind(connector_category(key), kind)
        # The context the adapter validates with: CalDAV names the binding's own scope.
        context = {BINDING_CONTEXT: key}
        return _target(f"connectors.{key} (type {kind_name!r})", kind, binding, context)
    return None


def check_credential_names(target: CredentialTarget, names: Iterable[str]) -> None:
    """Refuse a secret name `target`'s binding does not have (the data plane would refuse to
    boot with it) with 422 naming it and listing the expected ones; never shows a value."""
    given = list(names)
    takes = describe_secrets(target)
    unknown = [name for name in given if name not in target.fields]
    if unknown:
        first = unknown[0]
        if first in target.in_binding:
            why = (
                "set in the binding already: keep it in one place (to store it as a credential "
                "instead, PATCH the binding without it first)"
            )
        elif first in target.settings:
            why = "a setting, not a secret: set it in the binding (PATCH the tenant)"
        else:
            close = difflib.get_close_matches(first, list(target.fields), n=1)
            why = "unknown field" + (f" (did you mean {close[0]!r}?)" if close else "")
        more = f"; also unknown: {', '.join(unknown[1:])}" if len(unknown) > 1 else ""
        # Typically secrets put before the type is set (a new tenant's channel is `http_dev`).
        first_type = (
            "; set the type whose secrets they are first (PATCH the tenant), then store them"
            if not target.fields
            else ""
        )
        raise InvalidInput(f"body.{first}", f"{why}; {takes}{more}{first_type}")
    seen: dict[str, str] = {}
    for name in given:
        field_name = target.fields[name]
        if field_name in seen:
            raise InvalidInput(
                f"body.{name}",
                f"names the same secret as {seen[field_name]!r} ({field_name}); give one of them",
            )
        seen[field_name] = name


def describe_secrets(target: CredentialTarget) -> str:
    """``channel (type 'telegram') takes the secrets bot_token, webhook_secret``."""
    expected = sorted(set(target.fields.values()))
    if not expected:
        return f"{target.what} takes no secrets"
    return f"{target.what} takes the secrets {', '.join(expected)}"


def check_required_credentials(target: CredentialTarget, names: Iterable[str]) -> None:
    """Refuse a scope's secrets that leave out one `target` requires (422 naming each missing
    one): a put replaces every secret of the scope, and the data plane's settings model would
    refuse to boot without it. Optional secrets (CalDAV's `password`) may be left out."""
    given = {target.fields[name] for name in names if name in target.fields}
    missing = sorted(target.required - given)
    if missing:
        unbound = [name for name in missing if name in target.movable]
        why = (
            f"; the binding has no {', '.join(unbound)}, so the credentials must hold it"
            if unbound
            else ""
        )
        raise InvalidInput(
            "body",
            f"missing required secret(s) {', '.join(missing)}; {target.what} requires "
            f"{', '.join(sorted(target.required))} (a put replaces all of the scope's secrets: "
            f"give every required one){why}",
        )


def stale_credential_names(target: CredentialTarget, names: Iterable[str]) -> list[str]:
    """The stored secret names `target` does not take: merged into its binding at boot they
    would stop the data plane (its settings models refuse unknown fields)."""
    return sorted(name for name in names if name not in target.fields)


def _public_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    secrets = secret_fields(model)
    optional = secrets | credential_settings(model)  # the credentials may hold those
    schema["properties"] = {
        k: v for k, v in schema.get("properties", {}).items() if k not in secrets
    }
    schema["required"] = [k for k in schema.get("required", []) if k not in optional]
    return schema


def binding_json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas of every known binding type (secret fields left out)."""
    return {
        "channel": {name: _public_schema(kind.model) for name, kind in channel_types().items()},
        "connector": {name: _public_schema(kind.model) for name, kind in connector_types().items()},
        "llm": {"settings": _public_schema(llm_options_model())},
    }
