"""The flow format's JSON Schema (for editors) is valid JSON and describes real flows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from botfleet.flows.schema import ACTION_TYPES, flow_json_schema

FLOWS = Path(__file__).parents[2] / "fixtures" / "flows"


def structural_errors(
    schema: dict[str, Any], value: Any, root: dict[str, Any], at: str = ""
) -> list[str]:
    """A small JSON Schema subset (enough for this schema): $ref, type, const, properties,
    required, additionalProperties, items, anyOf/oneOf. Returns where the value does not fit."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return structural_errors(root["$defs"][name], value, root, at)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [structural_errors(s, value, root, at) for s in schema[key]]
            fitting = [b for b in branches if not b]
            if key == "oneOf" and len(fitting) != 1:
                return [f"{at}: fits {len(fitting)} of the oneOf branches"]
            return [] if fitting else [f"{at}: fits no branch of {key}"]
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    kind = schema.get("type")
    if kind == "integer" and not (isinstance(value, int) and not isinstance(value, bool)):
        return [f"{at}: not an integer"]
    if kind in kinds and not isinstance(value, kinds[kind]):
        return [f"{at}: not {kind}"]
    if "const" in schema and value != schema["const"]:
        return [f"{at}: not {schema['const']!r}"]
    problems: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        problems += [f"{at}: missing {k}" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in properties:
                problems += structural_errors(properties[key], item, root, f"{at}.{key}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{at}: unknown key {key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                sub = schema["additionalProperties"]
                problems += structural_errors(sub, item, root, f"{at}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += structural_errors(schema["items"], item, root, f"{at}[{index}]")
    return problems


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return flow_json_schema()


def test_schema_is_json_and_names_its_draft(schema: dict[str, Any]) -> None:
    again = json.loads(json.dumps(schema))
    assert again == schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert set(schema["required"]) == {"id", "initial_state", "states"}
    assert schema["additionalProperties"] is False


def test_schema_includes_every_action(schema: dict[str, Any]) -> None:
    actions = {
        d["properties"]["action"]["const"]
        for d in schema["$defs"].values()
        if "action" in d.get("properties", {})
    }
    assert actions == set(ACTION_TYPES)
    assert len(ACTION_TYPES) == 9


def test_a_sample_flow_fits_the_schema(schema: dict[str, Any]) -> None:
    flow = yaml.safe_load((FLOWS / "seed_my_flow_v1_complete.yaml").read_text(encoding="utf-8"))
    assert structural_errors(schema, flow, schema) == []


def test_the_schema_rejects_typos_and_unknown_actions(schema: dict[str, Any]) -> None:
    flow = yaml.safe_load((FLOWS / "seed_my_flow_v1_complete.yaml").read_text(encoding="utf-8"))
    flow["states"]["MENU"]["tranistions"] = flow["states"]["MENU"].pop("transitions")
    flow["states"]["CANCEL_SELECT"]["on_enter"][0]["action"] = "send_txt"
    del flow["initial_state"]
    problems = structural_errors(schema, flow, schema)
    assert ": missing initial_state" in problems
    assert ".states.MENU: unknown key tranistions" in problems
    assert ".states.CANCEL_SELECT.on_enter[0]: fits 0 of the oneOf branches" in problems
