"""Reading the file a command was given: a flow, or a tenant file standing for its flow."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from botfleet.cli.validation import file_kind
from botfleet.domain.errors import ConfigError, FlowValidationError
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping
from botfleet.domain.yaml_text import safe_load
from botfleet.flows.load import Flow, load_flow
from botfleet.flows.tenant_file import TenantFile, read_tenant_file
from botfleet.testing.conversation_format import TEST_KEYS
from botfleet.testing.sandbox import tenant_flow

__all__ = ["FlowFileError", "is_tenant_file", "read_flow", "read_tenant"]


class FlowFileError(Exception):
    """The file cannot be used; the message lists every problem, one per line."""


def _kind(path: Path, command: str) -> str:
    """ "tenant" or "flow" (a file too broken to tell is read as a flow, whose loader says
    where). A conversation test is refused, saying which command runs it and what `command`
    takes instead: read as a flow, every key of it would be an error."""
    if path.is_dir():
        tenant = path / "tenant.yaml"
        example = f" (botfleet {command} {tenant})" if tenant.is_file() else ""
        raise FlowFileError(f"{path}: a folder: give a flow or tenant file{example}")
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FlowFileError(f"{path}: cannot read: {exc.strerror}") from None
    except (UnicodeDecodeError, yaml.YAMLError):
        return "flow"  # the flow loader reports where the text is broken
    kind = file_kind(data)
    if kind == "unknown" and isinstance(data, dict) and any(k in data for k in TEST_KEYS):
        raise FlowFileError(_test_given(path, data, command))
    return kind


def _test_given(path: Path, data: dict[object, object], command: str) -> str:
    """A conversation test given where a flow or tenant file goes: the tenant (or flow) it
    names, for `command`, and `botfleet test` for the test itself."""
    subject = next((data[k] for k in ("tenant", "flow") if isinstance(data.get(k), str)), None)
    instead = ""
    if isinstance(subject, str):
        named = os.path.normpath(path.parent / subject)
        instead = f"; its {'tenant' if 'tenant' in data else 'flow'}: botfleet {command} {named}"
    return (
        f"{path}:1: a conversation test, not a flow or tenant file: run it with "
        f"`botfleet test {path}`{instead}"
    )


def is_tenant_file(path: Path) -> bool:
    """Whether `path` is a tenant file (else a flow, run as a local tenant)."""
    try:
        return _kind(path, "chat") == "tenant"
    except FlowFileError:
        return False


def read_flow(path: Path, *, command: str = "graph") -> Flow:
    """The flow in `path`, or the flow of the tenant file `path` (`command`: the one reading it,
    named in the hint for a conversation test given instead)."""
    try:
        if _kind(path, command) == "tenant":
            return _runnable(read_tenant_file(path, knowledge=False))[1]
        return load_flow(path)
    except FlowValidationError as exc:
        raise FlowFileError("\n".join(str(i) for i in exc.issues)) from None
    except OSError as exc:
        raise FlowFileError(f"{exc.filename or path}: cannot read: {exc.strerror}") from None


def read_tenant(
    path: Path, *, timezone: str = "Europe/Madrid", command: str = "chat"
) -> tuple[TenantConfig, Flow]:
    """The tenant file `path` and its flow, or a local tenant running the flow file `path`.

    Every reason the tenant cannot run (its keys, its flow, its knowledge file) is in the
    `FlowFileError`, as `botfleet validate` words it."""
    if _kind(path, command) == "tenant":
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
