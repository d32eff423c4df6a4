"""Reading the file a command was given: a flow, or a tenant file standing for its flow."""

from __future__ import annotations

from pathlib import Path

import yaml

from botfleet.cli.validation import file_kind
from botfleet.domain.errors import ConfigError, FlowValidationError
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping
from botfleet.flows.load import Flow, load_flow
from botfleet.flows.tenant_file import TenantFile, read_tenant_file
from botfleet.testing.sandbox import tenant_flow

__all__ = ["FlowFileError", "is_tenant_file", "read_flow", "read_tenant"]


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


def is_tenant_file(path: Path) -> bool:
    """Whether `path` is a tenant file (else a flow, run as a local tenant)."""
    try:
        return _kind(path) == "tenant"
    except FlowFileError:
        return False


def read_flow(path: Path) -> Flow:
    """The flow in `path`, or the flow of the tenant file `path`."""
    try:
        if _kind(path) == "tenant":
            return _runnable(read_tenant_file(path, knowledge=False))[1]
        return load_flow(path)
    except FlowValidationError as exc:
        raise FlowFileError("\n".join(str(i) for i in exc.issues)) from None
    except OSError as exc:
        raise FlowFileError(f"{exc.filename or path}: cannot read: {exc.strerror}") from None


def read_tenant(path: Path, *, timezone: str = "Europe/Madrid") -> tuple[TenantConfig, Flow]:
    """The tenant file `path` and its flow, or a local tenant running the flow file `path`.

    Every reason the tenant cannot run (its keys, its flow, its knowledge file) is in the
    `FlowFileError`, as `botfleet validate` words it."""
    if _kind(path) == "tenant":
        return _runnable(read_tenant_file(path))
    raw = {
        "tenant_id": "local",
        "name": path.stem,
        "timezone": timezone,
        "flow_path": str(path.resolve()),
    }
    try:
        config = tenant_config_from_mapping(raw, source=str(path))
        return config, tenant_flow(config)
    except ConfigError as exc:
        raise FlowFileError(str(exc)) from None
    except FlowValidationError as exc:
        raise FlowFileError("\n".join(str(i) for i in exc.issues)) from None


def _runnable(tenant: TenantFile) -> tuple[TenantConfig, Flow]:
    if tenant.errors or tenant.config is None or tenant.flow is None:
        # Its warnings too, as `botfleet validate` and a broken flow file show them.
        raise FlowFileError("\n".join(str(i) for i in tenant.issues))
    return tenant.config, tenant.flow
