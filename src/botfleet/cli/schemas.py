"""The JSON Schemas editors use for autocomplete: flows, tenants, conversation tests."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel

from botfleet.domain.tenant_config import TenantConfig
from botfleet.flows.schema import flow_json_schema
from botfleet.testing.conversation_format import ConversationTest

__all__ = ["SchemaKind", "conversation_test_json_schema", "schema_text", "tenant_json_schema"]

SchemaKind = Literal["flow", "tenant", "test"]
#: Fields the loader fills in (where the file was read from); never written in a file.
_INTERNAL_FIELDS = ("base_dir", "source")


def tenant_json_schema() -> dict[str, Any]:
    """JSON Schema of a tenant file (`TENANT_CONFIG_PATH`).

    Derived from the models the data plane reads a tenant with: `TenantConfig` for the file's
    own keys, each connector type's settings model for `connectors.<category>` (a calendar's
    settings per `type`), and `LLMOptions` for `llm` and `connectors.llm` (every option the LLM
    fallback accepts, with the providers' other names).
    """
    schema = TenantConfig.model_json_schema()
    for name in _INTERNAL_FIELDS:
        schema["properties"].pop(name, None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "botfleet tenant"
    properties = schema["properties"]
    properties["flow"]["description"] = "an inline flow (see the flow schema)"
    defs = schema.setdefault("$defs", {})
    options = _hoist(_llm_options_schema(), defs)
    defs["LLMSettings"] = {
        **options,
        "title": "LLMSettings",
        "description": "the LLM fallback (docs/llm.md); a key here wins over connectors.llm",
    }
    binding = dict(options)
    binding["properties"] = {
        "type": {"enum": list(_providers()), "type": "string", "description": "the provider"},
        **options["properties"],
    }
    binding["required"] = ["type"]
    binding["description"] = "the LLM provider's binding (the seed's place for it)"
    defs["LLMBinding"] = binding
    properties["connectors"] = _connectors_schema(defs)
    properties["channel"] = _channel_schema(defs)
    properties["more_channels"] = {
        "type": "array",
        "items": {k: v for k, v in properties["channel"].items() if k != "description"},
        "description": "further channels of the same bot, each of another kind than `channel`'s "
        "and each other's; their contacts' ids start with the kind (`telegram:`), their "
        'webhooks are at /webhook/<kind> (docs/channels.md, "Several channels")',
    }
    if "#/$defs/Binding" not in json.dumps(schema):
        defs.pop("Binding", None)
    return schema


_CHANNEL_DOCS = {
    "webchat": 'the web chat (docs/channels.md, "Web chat")',
    "http_dev": 'the web chat under its seed name (docs/channels.md, "Web chat")',
    "whatsapp": 'WhatsApp Cloud API (docs/channels.md, "WhatsApp Cloud API"); access_token, '
    "app_secret and verify_token may be kept in the control plane's credentials",
    "telegram": 'a Telegram bot (docs/channels.md, "Telegram Bot API"); bot_token and '
    "webhook_secret may be kept in the control plane's credentials",
}


def _channel_schema(defs: dict[str, Any]) -> Any:
    """`channel`: its `type` and that type's settings, from the model the data plane reads the
    binding with. Secrets are not required: a file for the control plane leaves them out (they
    are its credentials), and `botfleet validate` only warns when they are missing."""
    from botfleet.control_plane.binding_schemas import channel_types, secret_fields

    branches: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, kind in channel_types().items():
        binding = kind.model.model_json_schema()
        secrets = secret_fields(kind.model)
        binding["required"] = [k for k in binding.get("required", []) if k not in secrets]
        binding["description"] = _CHANNEL_DOCS[name]
        branches[f"channel_{name}"] = (name, binding)
    schema = _by_type(branches, "channel", defs)
    schema["description"] = (
        "the channel: webchat (alias http_dev), whatsapp or telegram, and its settings "
        "(docs/channels.md); default webchat"
    )
    return schema


def _providers() -> list[str]:
    from botfleet.adapters.llm.options import PROVIDER_ALIASES, PROVIDERS

    return [*PROVIDERS, *PROVIDER_ALIASES]


def _llm_options_schema() -> dict[str, Any]:
    """`LLMOptions` as written in a tenant file: every field (under its aliases too,
    `max_output_tokens`), `provider` with its other names, `resilience` the connector policy."""
    from botfleet.adapters.connectors.policy import ResiliencePolicy
    from botfleet.adapters.llm.options import LLMOptions

    schema = _with_aliases(LLMOptions.model_json_schema(by_alias=False), LLMOptions)
    properties = schema["properties"]
    properties["provider"] = {**properties["provider"], "enum": _providers()}
    policy = ResiliencePolicy.model_json_schema()
    properties["resilience"] = {
        "anyOf": [policy, {"type": "null"}],
        "default": None,
        "description": "timeouts, retries and circuit breaker of the LLM calls",
    }
    schema.pop("required", None)
    return schema


def _with_aliases(schema: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """Each field of `model` in `schema["properties"]` under its name and every alias it is
    read by (pydantic's schema names one)."""
    properties = schema.setdefault("properties", {})
    for name, field in model.model_fields.items():
        alias = field.validation_alias or field.alias
        names = [name, *(alias.choices if isinstance(alias, AliasChoices) else [alias])]
        shown = next((properties[n] for n in names if isinstance(n, str) and n in properties), None)
        if shown is None:
            continue
        for other in names:
            if isinstance(other, str):
                properties.setdefault(other, shown)
    return schema


def _connectors_schema(defs: dict[str, Any]) -> dict[str, Any]:
    """`connectors`: each category's binding, one schema per `type` (chosen by `type`); a named
    binding of a category (`notification.crm`) has the category's schema."""
    from botfleet.adapters.connectors.catalog import CONNECTOR_TYPES, connector_json_schemas
    from botfleet.flows.connector_names import named_binding_pattern

    groups = connector_json_schemas()
    models = {name: t.settings for name, t in CONNECTOR_TYPES.items()}
    models["mock@calendar"] = CONNECTOR_TYPES["mock_calendar"].settings  # the seed's `mock`
    generic = {
        name: _with_aliases(binding, models[name])
        for name, binding in groups.pop("any", {}).items()
    }
    categories: dict[str, Any] = {}
    for category, types in groups.items():
        own = {
            name: _with_aliases(
                binding, models[f"{name}@{category}"] if f"{name}@{category}" in models
                else models[name]
            )
            for name, binding in types.items()
        }  # fmt: skip
        branches = {f"{category}_{n}": (n, b) for n, b in own.items()}
        branches |= {f"any_{n}": (n, b) for n, b in generic.items() if n not in own}
        categories[category] = _by_type(branches, category, defs)
    named = {named_binding_pattern(c): binding for c, binding in categories.items()}
    categories["llm"] = {"$ref": "#/$defs/LLMBinding"}
    others = {f"any_{n}": (n, b) for n, b in generic.items()}
    return {
        "type": "object",
        "title": "Connectors",
        "description": "bindings by category, {type, ...settings} each; several of one "
        "category as <category>.<name> (notification.crm) beside it (docs/connectors.md)",
        "properties": categories,
        "patternProperties": named,
        "additionalProperties": _by_type(others, "any", defs),
    }


def _by_type(
    branches: dict[str, tuple[str, dict[str, Any]]], category: str, defs: dict[str, Any]
) -> Any:
    """One schema per binding type (`$defs` key -> (type, schema)), told apart by `type`, a
    constant in each."""
    refs: dict[str, str] = {}
    for key, (name, binding) in branches.items():
        binding = _hoist(binding, defs)
        binding["properties"] = {
            **binding.get("properties", {}),
            "type": {"const": name, "type": "string", "description": binding.get("description")},
        }
        binding["required"] = ["type", *(k for k in binding.get("required", []) if k != "type")]
        binding["title"] = f"{category}: {name}"
        defs[key] = binding
        refs[name] = f"#/$defs/{key}"
    if len(refs) == 1:
        return {"$ref": next(iter(refs.values()))}
    return {
        "oneOf": [{"$ref": ref} for ref in refs.values()],
        "discriminator": {"propertyName": "type", "mapping": refs},
        "description": f"known types: {', '.join(refs)}",
    }


def _hoist(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """`schema` without its own `$defs`, which move to the tenant schema's `defs` (the `$ref`s
    in it point at the document's root); a name taken by another definition is renamed."""
    schema = copy.deepcopy(schema)
    renamed: dict[str, str] = {}
    for name, definition in _pop_defs(schema).items():
        target = name
        while target in defs and defs[target] != definition:
            target += "_"
        defs[target] = definition
        if target != name:
            renamed[f"#/$defs/{name}"] = f"#/$defs/{target}"
    return _rename_refs(schema, renamed) if renamed else schema


def _pop_defs(node: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(node, dict):
        found.update(node.pop("$defs", {}))
        for value in node.values():
            found.update(_pop_defs(value))
    elif isinstance(node, list):
        for value in node:
            found.update(_pop_defs(value))
    return found


def _rename_refs(node: Any, renamed: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: renamed.get(v, v) if k == "$ref" else _rename_refs(v, renamed)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(v, renamed) for v in node]
    return node


def conversation_test_json_schema() -> dict[str, Any]:
    """JSON Schema of a conversation test file (`botfleet test`).

    `ConversationTest`'s, with what its validators read that pydantic's schema does not say:
    `expect`, `sent_to`'s lists and `notified` take one item without the list and strings as
    items (`expect: ["Hi!"]`, `notified: handoff_requested`), `clock` any ISO date-time the
    loader reads (no seconds, no offset: not RFC 3339, which an editor would flag),
    `send.type` the message types; and each key's meaning (docs/authoring.md), shown by an
    editor on hover.
    """
    from botfleet.domain.messages import MessageType

    schema = ConversationTest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "botfleet conversation test"
    defs = schema["$defs"]
    schema["properties"]["clock"] = {
        "anyOf": [
            {
                "type": "string",
                "pattern": _ISO_MOMENT,
                # Shown by editors (VS Code's YAML extension) instead of the pattern.
                "patternErrorMessage": "an ISO date-time, e.g. 2024-05-06T09:00 or "
                "2024-05-06T09:00:00+02:00",
            },
            {"type": "null"},
        ],
        "default": None,
        "title": "Clock",
    }
    step = defs["StepSpec"]["properties"]
    step["expect"] = _one_or_list("#/$defs/OutputExpectation", "Expect")
    step["notified"] = _one_or_list("#/$defs/NotificationExpectation", "Notified")
    outputs = _one_or_list("#/$defs/OutputExpectation", "Sent To")
    outputs["anyOf"] = outputs["anyOf"][:-1]  # a contact's list may not be null
    del outputs["default"]
    step["sent_to"] = {
        "anyOf": [{"type": "object", "additionalProperties": outputs}, {"type": "null"}],
        "default": None,
        "title": "Sent To",
    }
    types = [t.value for t in MessageType]
    aliases = [a for a in ("button", "list") if a not in types]
    defs["MessageSpec"]["properties"]["type"] = {"enum": [*types, *aliases], "type": "string"}
    _describe(schema, _TEST_DOCS[""])
    for name, docs in _TEST_DOCS.items():
        if name:
            _describe(defs[name], docs)
    return schema


#: The date-times a test's `clock` is read from: a date, or a date and a time (minutes at
#: least), with or without an offset.
_ISO_MOMENT = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|z|[+-]\d{2}:?\d{2})?)?$"


def _one_or_list(ref: str, title: str) -> dict[str, Any]:
    """One item or a list of them, where a string stands for an item (`_listed`)."""
    # The mapping first: an editor names the unknown key of a mapping that matches neither.
    item = {"anyOf": [{"$ref": ref}, {"type": "string"}]}
    return {
        "anyOf": [*item["anyOf"], {"type": "array", "items": item}, {"type": "null"}],
        "default": None,
        "title": title,
    }


def _describe(schema: dict[str, Any], docs: Mapping[str, str]) -> None:
    for key, text in docs.items():
        schema["properties"][key]["description"] = text


#: What each key of a conversation test means (docs/authoring.md, "Conversation tests"), by
#: definition ("" for the file's top level): an editor shows it on hover.
_TEST_DOCS: dict[str, dict[str, str]] = {
    "": {
        "name": "shown in reports (default: the file name)",
        "tenant": "the tenant file the test runs (relative to this file); exactly one of "
        "tenant and flow",
        "flow": "a flow file run as a test tenant on the web chat (relative to this file)",
        "timezone": "a flow test's time zone (default Europe/Madrid); a tenant has its own",
        "clock": "the frozen start time, e.g. 2024-05-06T09:00 (a time without offset is in "
        "the tenant's zone; default Monday 6 May 2024 09:00 Madrid)",
        "contact": "who talks: id (default contact-1), name (contact.name), language",
        "connectors": "fixtures by category: a calendar's settings and busy events, or "
        "fixtures/operations for a scripted connector",
        "llm": "the scripted LLM's answers, in order: a text, {in_scope: false} or "
        "{error: timeout}",
        "knowledge": "replaces the tenant's knowledge text (the LLM is only asked when there "
        "is some)",
        "channel": "the channel the test is written for (webchat, whatsapp, telegram), whatever "
        "--channel says; default: --channel, else the tenant's channel",
        "start": "{state, data}: put data in place, then enter state before the first step",
        "steps": "the conversation: each step does at most one thing, then checks what "
        "happened; the test stops at its first failing step",
    },
    "StepSpec": {
        "set_data": "put values in the data first (alone or before the step's action)",
        "say": "the contact types a message (a number or a title picks a choice shown)",
        "press": "the contact presses a button or picks a list row: one of the ids last shown",
        "send": "any other message type: {type: image}, {type: location, extra: {...}}...",
        "wait": "the clock moves on (2h, 1d7h); tasks due on the way run, their messages "
        "are the outputs",
        "enter": "enter a state as a transition would (its on_enter runs)",
        "run_task": "run one of the flow's tasks now for the step's contact, as the control "
        "plane's run now does: {task: team_reply, data: {text: ...}}; its messages are the "
        "outputs",
        "contact": "do this step as another contact",
        "expect": "the step's outputs, all of them, in order: a text, or a mapping of "
        "text/contains/regex/type/buttons/options/titles/descriptions; [] means nothing was "
        "sent",
        "sent_to": "another contact's outputs during the step, as expect checks the step's "
        "contact's: {contact id: [...]} (their reminder that fell due in a wait); [] means "
        "nothing was sent to them",
        "state": "the state after the step",
        "data": "a subset of the data: listed keys must be equal (a.b reaches into nested data)",
        "tasks": "the names of the tasks pending for the contact after the step, in any order",
        "notified": "the notifications the flow sent during the step, in order: an event "
        "name, or a mapping of connector/event/contact_id/text/contains/data/data_include",
    },
    "OutputExpectation": {
        "type": "text, buttons, list or template",
        "text": "exactly this text (a menu's body)",
        "contains": "a text that contains this",
        "regex": "a text this regular expression matches (searched anywhere)",
        "buttons": "buttons with exactly these ids, in order",
        "options": "exactly these option ids, in order (buttons or a list)",
        "options_include": "at least these option ids",
        "titles": "exactly these option titles, in order, as the channel shows them",
        "descriptions": 'exactly these option descriptions, in order ("" for none), as the '
        "channel shows them",
    },
    "NotificationExpectation": {
        "connector": "the binding it went to, as the flow calls it (notification.crm)",
        "event": "this event",
        "contact_id": "about this contact (the contact_id param)",
        "text": "exactly this text param",
        "contains": "a text param that contains this",
        "data": "exactly these other params",
        "data_include": "at least these other params (a.b reaches into nested values)",
    },
    "MessageSpec": {
        "type": "the message type (what a flow's on_type matches)",
        "text": "its text or caption",
        "payload": "its payload (a button or list reply's id)",
        "extra": "channel details, e.g. {latitude: 40.4, longitude: -3.7} for a location",
    },
    "ContactSpec": {
        "id": "the contact id (default contact-1; on WhatsApp the phone in digits, no +)",
        "name": "the profile name: contact.name",
        "language": "contact.language, as Telegram's language_code",
    },
    "RunTaskSpec": {
        "task": "the flow's task to run",
        "data": "the run's data, read as data.<key> by the task (not stored)",
    },
    "StartSpec": {
        "state": "entered before the first step (its on_enter runs)",
        "data": "put in the data before that",
    },
    "LLMAnswerSpec": {
        "text": "the answer (in scope)",
        "in_scope": "false: the model does not know, the safe text is sent",
        "error": "the call fails: timeout, unavailable or rejected",
    },
}


def schema_text(kind: SchemaKind) -> str:
    """The schema as the JSON text written to `schemas/<kind>.schema.json`."""
    builders = {
        "flow": flow_json_schema,
        "tenant": tenant_json_schema,
        "test": conversation_test_json_schema,
    }
    schema = _nullable_types(builders[kind]())
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _nullable_types(node: Any) -> Any:
    """An optional field as `{"type": ["string", "null"]}`, not pydantic's `{"anyOf":
    [{"type": "string"}, {"type": "null"}]}`, and without its `"default": null`.

    Both accept the same values, but VS Code's YAML extension, meeting the `anyOf`, showed on
    hover the titles of its two branches ("Say || Say") instead of the field's description,
    and offered `null` as the value to complete.
    """
    if isinstance(node, list):
        return [_nullable_types(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable_types(v) for k, v in node.items()}
    branches = node.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
        other = branches[1 - branches.index({"type": "null"})]
        simple = isinstance(other.get("type"), str) and not {"$ref", "anyOf", "oneOf", "allOf"} & (
            other.keys()
        )
        # The field's own title and description win over the branch's (a model's docstring).
        if simple and not (other.keys() & (node.keys() - {"anyOf", "title", "description"})):
            node.pop("anyOf")
            if "enum" in other:
                other = {**other, "enum": [*other["enum"], None]}
            node = {**other, **node, "type": [other["type"], "null"]}
            if "default" in node and node["default"] is None:
                node.pop("default")
    return node
