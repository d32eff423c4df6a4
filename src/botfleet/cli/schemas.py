"""The JSON Schemas editors use for autocomplete: flows and tenant files (`botfleet schema`)."""

from __future__ import annotations

import json
from typing import Any, Literal

from botfleet.domain.tenant_config import TenantConfig
from botfleet.flows.schema import flow_json_schema

__all__ = ["SchemaKind", "schema_text", "tenant_json_schema"]

SchemaKind = Literal["flow", "tenant"]
#: Fields the loader fills in (where the file was read from); never written in a file.
_INTERNAL_FIELDS = ("base_dir", "source")


def tenant_json_schema() -> dict[str, Any]:
    """JSON Schema of a tenant file (`TENANT_CONFIG_PATH`)."""
    schema = TenantConfig.model_json_schema()
    for name in _INTERNAL_FIELDS:
        schema["properties"].pop(name, None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "botfleet tenant"
    schema["properties"]["flow"]["description"] = "an inline flow (see the flow schema)"
    return schema


def schema_text(kind: SchemaKind) -> str:
    """The schema as the JSON text written to `schemas/<kind>.schema.json`."""
    schema = flow_json_schema() if kind == "flow" else tenant_json_schema()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
