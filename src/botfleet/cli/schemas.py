"""The JSON Schemas editors use for autocomplete: flows, tenants, conversation tests."""

from __future__ import annotations

import copy
import json
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
    """JSON Schema of a conversation test file (`botfleet test`)."""
    schema = ConversationTest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "botfleet conversation test"
    return schema


def schema_text(kind: SchemaKind) -> str:
    """The schema as the JSON text written to `schemas/<kind>.schema.json`."""
    builders = {
        "flow": flow_json_schema,
        "tenant": tenant_json_schema,
        "test": conversation_test_json_schema,
    }
    schema = builders[kind]()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
