"""`botfleet schema tenant` describes every calendar setting (per `type`) and every LLM option
the data plane accepts, derived from the models it reads them with."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import REPO
from pydantic import AliasChoices, BaseModel

from botfleet.adapters.connectors.catalog import CONNECTOR_TYPES
from botfleet.adapters.llm.options import PROVIDER_ALIASES, PROVIDERS, LLMOptions
from botfleet.cli.schemas import tenant_json_schema


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return tenant_json_schema()


def names(model: type[BaseModel]) -> set[str]:
    """Every key `model` reads: its fields and their aliases."""
    found: set[str] = set()
    for name, field in model.model_fields.items():
        found.add(name)
        alias = field.validation_alias or field.alias
        if isinstance(alias, AliasChoices):
            found.update(c for c in alias.choices if isinstance(c, str))
        elif isinstance(alias, str):
            found.add(alias)
    return found


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def test_every_llm_option_is_in_the_schema(schema: dict[str, Any]) -> None:
    llm = resolve(schema, schema["properties"]["llm"])
    assert names(LLMOptions) <= set(llm["properties"])
    assert llm["additionalProperties"] is False  # the data plane refuses any other key
    assert set(llm["properties"]["provider"]["enum"]) == {*PROVIDERS, *PROVIDER_ALIASES}
    binding = resolve(schema, schema["properties"]["connectors"]["properties"]["llm"])
    assert names(LLMOptions) | {"type"} <= set(binding["properties"])
    assert binding["required"] == ["type"]


def test_every_calendar_setting_is_in_the_schema_per_type(schema: dict[str, Any]) -> None:
    calendar = schema["properties"]["connectors"]["properties"]["calendar"]
    assert calendar["discriminator"]["propertyName"] == "type"
    by_type = {
        name: resolve(schema, {"$ref": ref})
        for name, ref in calendar["discriminator"]["mapping"].items()
    }
    kinds = {name for name, t in CONNECTOR_TYPES.items() if t.category == "calendar"}
    assert set(by_type) == kinds | {"mock"}  # the seed's `mock` is the in-memory calendar
    assert [resolve(schema, branch) for branch in calendar["oneOf"]] == list(by_type.values())
    for name, binding in by_type.items():
        model = CONNECTOR_TYPES["mock_calendar" if name == "mock" else name].settings
        assert names(model) | {"resilience"} <= set(binding["properties"]), name
        assert binding["properties"]["type"]["const"] == name
        assert "type" in binding["required"]
        assert "timezone" not in binding["required"]  # the tenant's when absent
        assert binding["additionalProperties"] is False
    assert "busy" in by_type["mock_calendar"]["properties"]
    assert "busy" not in by_type["caldav"]["properties"]


def test_every_ref_resolves(schema: dict[str, Any]) -> None:
    def keyed(node: Any, key: str) -> list[Any]:
        """The values of `key` anywhere under `node`."""
        if isinstance(node, dict):
            own = [node[key]] if key in node else []
            return own + [r for value in node.values() for r in keyed(value, key)]
        if isinstance(node, list):
            return [r for value in node for r in keyed(value, key)]
        return []

    found = keyed(schema, "$ref")
    assert found
    for ref in found:
        assert ref.removeprefix("#/$defs/") in schema["$defs"], ref
    assert keyed(schema["$defs"], "$defs") == []  # one place: refs point at the root


# ---------------------------------------------------------------- files against the schema


def errors(schema: dict[str, Any], node: dict[str, Any], value: Any, at: str = "") -> list[str]:
    """The JSON Schema subset this schema uses: $ref, oneOf/anyOf, const, enum, type,
    properties, patternProperties, required, additionalProperties, items."""
    node = resolve(schema, node)
    chosen = node.get("discriminator", {}).get("mapping", {})
    if isinstance(value, dict) and value.get("type") in chosen:  # the branch `type` names
        return errors(schema, {"$ref": chosen[value["type"]]}, value, at)
    for key in ("oneOf", "anyOf"):
        if key in node:
            fitting = [b for b in node[key] if not errors(schema, b, value, at)]
            if not fitting:
                return [f"{at}: fits no branch"]
            if key == "oneOf" and len(fitting) > 1:
                return [f"{at}: fits {len(fitting)} branches"]
    kinds: dict[str, Any] = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "null": type(None),
        "integer": int,
        "number": (int, float),
    }
    if "type" in node and not isinstance(value, kinds[node["type"]]):
        return [f"{at}: not {node['type']}"]
    if "const" in node and value != node["const"]:
        return [f"{at}: not {node['const']!r}"]
    if "enum" in node and value not in node["enum"]:
        return [f"{at}: not one of {node['enum']}"]
    found: list[str] = []
    if isinstance(value, dict):
        properties = node.get("properties", {})
        found += [f"{at}: missing {k}" for k in node.get("required", []) if k not in value]
        patterns = node.get("patternProperties", {})
        for key, item in value.items():
            matching = [p for p in patterns if re.search(p, key)]
            if key in properties:
                found += errors(schema, properties[key], item, f"{at}.{key}")
            elif matching:
                for pattern in matching:
                    found += errors(schema, patterns[pattern], item, f"{at}.{key}")
            elif node.get("additionalProperties") is False:
                found.append(f"{at}.{key}: unknown key")
            elif isinstance(node.get("additionalProperties"), dict):
                found += errors(schema, node["additionalProperties"], item, f"{at}.{key}")
    if isinstance(value, list) and "items" in node:
        for index, item in enumerate(value):
            found += errors(schema, node["items"], item, f"{at}[{index}]")
    return found


def as_json(path: Path) -> Any:
    """A YAML file as JSON values (dates as text, as an editor's schema check sees them)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value

    return plain(data)


@pytest.mark.parametrize(
    "path",
    [
        REPO / "examples" / "tenants" / "demo.yaml",
        REPO / "examples" / "dental_clinic" / "tenant.yaml",
        REPO / "tests" / "configs" / "dev_tenant.yaml",
    ],
    ids=lambda p: p.name,
)
def test_the_example_tenants_fit_the_schema(schema: dict[str, Any], path: Path) -> None:
    assert errors(schema, schema, as_json(path)) == []


@pytest.mark.parametrize(
    ("calendar", "problem"),
    [
        ({"type": "mock_calendar", "slot_minutes": 30}, "slot_minutes"),
        ({"type": "caldav", "url": "https://x/", "busy": []}, "busy"),
        ({"type": "outlook"}, "fits no branch"),
    ],
)
def test_a_wrong_calendar_setting_does_not_fit(
    schema: dict[str, Any], calendar: dict[str, Any], problem: str
) -> None:
    tenant = {"tenant_id": "t", "flow_path": "f.yaml", "connectors": {"calendar": calendar}}
    assert any(problem in e for e in errors(schema, schema, tenant))


def test_llm_options_fit_and_unknown_ones_do_not(schema: dict[str, Any]) -> None:
    tenant = {
        "tenant_id": "t",
        "flow_path": "f.yaml",
        "llm": {"enabled": True, "provider": "claude", "model": "m", "max_output_tokens": 300},
        "connectors": {"llm": {"type": "openai", "base_url": "http://localhost:1/v1"}},
    }
    assert errors(schema, schema, tenant) == []
    tenant["llm"] = {"enabled": True, "temprature": 0.2}
    assert errors(schema, schema, tenant) == [".llm.temprature: unknown key"]


def test_a_named_binding_has_its_categorys_schema(schema: dict[str, Any]) -> None:
    """`connectors.notification.crm` beside `connectors.notification` (docs/connectors.md,
    "Several connectors of one category"), the documented tenant included."""
    documented = re.search(
        r"<!-- example: named-bindings-tenant -->\s*```yaml\n(.*?)\n```",
        (REPO / "docs" / "connectors.md").read_text(encoding="utf-8"),
        re.DOTALL,
    )
    assert documented is not None
    assert errors(schema, schema, yaml.safe_load(documented.group(1))) == []

    crm = {"type": "webhook", "url": "https://crm.example.com/hooks"}
    tenant: dict[str, Any] = {"tenant_id": "t", "flow_path": "f.yaml"}
    for connectors, problem in [
        ({"notification.crm": {**crm, "format": "teams"}}, ".connectors.notification.crm.format"),
        ({"notification.crm": {"type": "caldav", "url": "https://x/"}}, "fits no branch"),
        ({"calendar.chair_2": {"type": "mock_calendar", "slot_minutes": 5}}, "slot_minutes"),
    ]:
        found = errors(schema, schema, {**tenant, "connectors": connectors})
        assert any(problem in e for e in found), (connectors, found)
    chair = {"calendar.chair_2": {"type": "mock_calendar", "slot_duration_min": 20}}
    assert errors(schema, schema, {**tenant, "connectors": chair}) == []
