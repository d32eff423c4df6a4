"""The JSON Schemas editors use for autocomplete: flows, tenants, conversation tests."""

from __future__ import annotations

import json
from typing import Any, Literal

from botfleet.domain.tenant_config import TenantConfig
from botfleet.flows.schema import flow_json_schema
from botfleet.testing.conversation_format import ConversationTest

__all__ = ["SchemaKind", "conversation_test_json_schema", "schema_text", "tenant_json_schema"]

SchemaKind = Literal["flow", "tenant", "test"]
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
