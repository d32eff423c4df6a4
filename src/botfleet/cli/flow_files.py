"""Reading the file a command was given: a flow, or a tenant file standing for its flow."""

from __future__ import annotations

from pathlib import Path

import yaml

from botfleet.cli.validation import file_kind
from botfleet.domain.errors import ConfigError, FlowValidationError
from botfleet.domain.tenant_config import (
    TenantConfig,
    load_tenant_config,
    tenant_config_from_mapping,
)
from botfleet.flows.load import Flow, load_flow
from botfleet.testing.sandbox import tenant_flow

__all__ = ["FlowFileError", "read_flow", "read_tenant"]


class FlowFileError(Exception):
    """The file cannot be used; the message lists every problem, one per line."""


def _kind(path: Path) -> str:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FlowFileError(f"{path}: cannot read: {exc.strerror}") from None
    except (UnicodeDecodeError, yaml.YAMLError):
        return "flow"  # the flow loader reports where the text is broken
    return file_kind(data)


def read_flow(path: Path) -> Flow:
    """The flow in `path`, or the flow of the tenant file `path`."""
    try:
        if _kind(path) == "tenant":
            return tenant_flow(read_tenant(path))
        return load_flow(path)
    except FlowValidationError as exc:
        raise FlowFileError("\n".join(str(i) for i in exc.issues)) from None
    except OSError as exc:
        raise FlowFileError(f"{exc.filename or path}: cannot read: {exc.strerror}") from None


def read_tenant(path: Path, *, timezone: str = "Europe/Madrid") -> TenantConfig:
    """The tenant file `path`, or a local tenant running the flow file `path`."""
    try:
        if _kind(path) == "tenant":
            return load_tenant_config(path)
        raw = {
            "tenant_id": "local",
            "name": path.stem,
            "timezone": timezone,
            "flow_path": str(path.resolve()),
        }
        config = tenant_config_from_mapping(raw, source=str(path))
        tenant_flow(config)  # a broken flow is reported now, with its lines
        return config
    except ConfigError as exc:
        raise FlowFileError(str(exc)) from None
    except FlowValidationError as exc:
        raise FlowFileError("\n".join(str(i) for i in exc.issues)) from None
