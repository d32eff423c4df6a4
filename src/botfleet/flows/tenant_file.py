"""A tenant file read with every problem located as `file:line path: message`.

`botfleet validate`, `chat`, `graph` and `test` read a tenant through here, so a tenant that
cannot run is reported the same way by each: its keys, its flow (a file, or inline: an inline
flow's problems are placed in the tenant file) and its knowledge file. Connector bindings are
the caller's: the sandbox replaces them with mocks, `validate` builds them; only their names
are used here, to check the flow's calls to named bindings (`notification.crm`). So are the
channel's limits: the caller, which may import adapters, says what each `channel.type` can
show (`channels`), and the flow's menu warnings speak of that channel.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from botfleet.domain.errors import ConfigError, FlowIssue, FlowValidationError
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping
from botfleet.flows import yaml_lines
from botfleet.flows.channel_limits import ChannelLimits, other_channel_warnings
from botfleet.flows.load import Flow, load_flow, load_flow_text
from botfleet.flows.text_files import not_utf8

__all__ = [
    "TenantFile",
    "config_error_issues",
    "config_key_path",
    "display_path",
    "not_a_file",
    "read_tenant_file",
    "yaml_issue",
]


@dataclass
class TenantFile:
    """What could be read of a tenant file; `config` and `flow` are None when they failed."""

    source: str
    lines: Mapping[str, int] = field(default_factory=dict)
    config: TenantConfig | None = None
    flow: Flow | None = None
    issues: list[FlowIssue] = field(default_factory=list)

    @property
    def errors(self) -> list[FlowIssue]:
        return [i for i in self.issues if i.severity == "error"]

    def add(self, key: str, message: str, severity: str = "error") -> None:
        """A problem with a config key (`ConfigError.key` form), placed on its line."""
        path = config_key_path(key)
        line = yaml_lines.line_of(self.lines, path)
        self.issues.append(FlowIssue(message, path, line, self.source, severity))

    def add_config_error(self, exc: ConfigError) -> None:
        """Each of `exc`'s problems, placed on its key's line."""
        for key, detail in exc.problems:
            self.add(key, detail)


def yaml_issue(problem: yaml_lines.YamlProblem, source: str) -> FlowIssue:
    """A YAML problem (not well-formed, a duplicate key) of the file `source`, located as a
    flow's are: `tenants/acme.yaml:7 channel.settings.title: invalid YAML: ...`."""
    return FlowIssue(problem.message, problem.path, problem.line, source)


def config_key_path(key: str) -> str:
    """`connectors.calendar.schedule.mon.0` -> `connectors.calendar.schedule.mon[0]`; `-` (a
    `ConfigError` about the whole file) -> the empty path."""
    return "" if key == "-" else re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", key)


def config_error_issues(exc: ConfigError) -> list[FlowIssue]:
    """A `ConfigError`'s problems as `file:line path: message` issues, placed on their lines of
    the file it names when that is a YAML file that can be read (else without a line)."""
    tenant = TenantFile(exc.source)
    with contextlib.suppress(OSError, UnicodeDecodeError, yaml_lines.YamlSyntaxError):
        tenant.lines = yaml_lines.load_with_lines(
            Path(exc.source).read_text(encoding="utf-8")
        ).lines
    tenant.add_config_error(exc)
    return tenant.issues


def not_a_file(path: Path) -> str | None:
    """Why `path` cannot be read as a file (`is a directory, not a file: x`, `file not found:
    x`), or None when it is a file."""
    if path.is_file():
        return None
    return f"{'is a directory, not a file' if path.is_dir() else 'file not found'}: {path}"


def display_path(path: Path) -> Path:
    """`examples/tenants/../../flows/x.yaml` -> `flows/x.yaml` (relative to the working folder
    when under it), so messages and reports name files the way a person would."""
    normal = Path(os.path.normpath(path.absolute()))
    try:
        return normal.relative_to(Path.cwd())
    except ValueError:
        return normal


#: A channel type's limits (`channel_limits`), None for a type the caller does not know.
ChannelLookup = Callable[[str], ChannelLimits | None]


def read_tenant_file(
    path: str | Path, *, knowledge: bool = True, channels: ChannelLookup | None = None
) -> TenantFile:
    """The tenant file `path` and its flow, with every problem found (see the module doc).

    `knowledge=False` skips the knowledge file, for callers that never read it (`graph`, a
    test that gives its own `knowledge:`). `channels` gives the limits of the tenant's
    `channel.type`, which its flow's menu warnings then check; without it (or for a type it
    does not know) they check WhatsApp's, the strictest.
    """
    tenant = TenantFile(str(path))
    try:
        document = yaml_lines.load_with_lines(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        tenant.add("-", f"cannot read: {exc.strerror}")
        return tenant
    except UnicodeDecodeError as exc:
        line, message = not_utf8(exc)
        tenant.issues.append(FlowIssue(message, line=line, source=tenant.source))
        return tenant
    except yaml_lines.YamlSyntaxError as exc:
        tenant.issues.append(yaml_issue(exc.problem, tenant.source))
        return tenant
    tenant.lines = document.lines
    # The loader keeps the last of two equal keys: the file may not say what its author sees.
    tenant.issues += [yaml_issue(duplicate, tenant.source) for duplicate in document.duplicates]
    try:
        config = tenant_config_from_mapping(
            document.data, source=tenant.source, base_dir=Path(path).parent
        )
    except ConfigError as exc:
        tenant.add_config_error(exc)
        retried = _config_without_bad_keys(document.data, exc, tenant.source, Path(path).parent)
        if retried is None:
            return tenant
        config = retried
    tenant.config = config
    channel = channels(config.channel.type) if channels is not None else None
    tenant.flow = _flow(config, tenant, channel)
    if tenant.flow is not None and channels is not None:
        _more_channel_warnings(config, tenant, channels)
    if knowledge and config.knowledge is None and config.knowledge_path:
        problem = not_a_file(config.resolve(config.knowledge_path))
        if problem is not None:
            tenant.add("knowledge_path", problem)
    return tenant


#: Keys the later checks read (the flow, its connectors): without them, those checks would
#: report problems that are not there (every connector call "unbound").
_KEYS_THE_CHECKS_NEED = frozenset(
    {"-", "tenant_id", "flow", "flow_path", "flow_yaml", "connectors"}
)


def _config_without_bad_keys(
    data: Any, error: ConfigError, source: str, base_dir: Path
) -> TenantConfig | None:
    """The config read again without the top-level keys that had problems, so the flow and
    its connectors are checked too and every problem is reported at once, not one round at a
    time (fix the time zone, then learn the flow is broken). None when a key the later checks
    need was bad. Only for the report: the file's errors keep it from running."""
    bad = {re.split(r"[.\[]", key, maxsplit=1)[0] for key, _ in error.problems}
    if not isinstance(data, dict) or bad & _KEYS_THE_CHECKS_NEED:
        return None
    try:
        return tenant_config_from_mapping(
            {k: v for k, v in data.items() if k not in bad}, source=source, base_dir=base_dir
        )
    except ConfigError:
        return None


def _more_channel_warnings(
    config: TenantConfig, tenant: TenantFile, channels: ChannelLookup
) -> None:
    """The flow's menu and length warnings for each of `more_channels` too (four buttons are
    fine on the web chat and a list on WhatsApp), those its `channel` already gave left out.
    The flow is read once more per channel: only `validate` pays it."""
    found = (channels(binding.type) for binding in config.more_channels)
    limits = [each for each in found if each is not None]
    tenant.issues += other_channel_warnings(
        tenant.issues, (_channel_issues(config, tenant, each) for each in limits)
    )


def _channel_issues(
    config: TenantConfig, tenant: TenantFile, limits: ChannelLimits
) -> list[FlowIssue]:
    """The issues of the tenant's flow checked with `limits`, placed as `tenant`'s are."""
    other = TenantFile(tenant.source, tenant.lines)
    _flow(config, other, limits)
    return other.issues


def _flow(config: TenantConfig, tenant: TenantFile, channel: ChannelLimits | None) -> Flow | None:
    # Its bindings are known here, so a call to a named binding it lacks (a slip such as
    # `notification.frontdesk`) is placed on the flow's line, with the name most likely meant.
    bindings = frozenset(config.connectors)
    offset, prefix = 0, ""
    if config.flow_yaml is not None:
        text = config.flow_yaml
        # The text starts on the line after `flow_yaml: |`.
        offset = yaml_lines.line_of(tenant.lines, "flow_yaml") or 0
    elif config.flow is not None:
        text, prefix = yaml.safe_dump(config.flow, sort_keys=False), "flow."
    else:
        assert config.flow_path is not None  # guaranteed by tenant_config_from_mapping
        flow_file = config.resolve(config.flow_path)
        problem = not_a_file(flow_file)
        if problem is not None:
            tenant.add("flow_path", problem)
            return None
        try:
            flow = load_flow(display_path(flow_file), bindings=bindings, channel=channel)
        except OSError as exc:
            tenant.add("flow_path", f"cannot read {flow_file}: {exc.strerror}")
            return None
        except FlowValidationError as exc:
            tenant.issues += exc.issues
            return None
        tenant.issues += flow.warnings
        return flow
    try:
        flow = load_flow_text(text, tenant.source, bindings=bindings, channel=channel)
    except FlowValidationError as exc:
        tenant.issues += [_inline(issue, tenant, prefix, offset) for issue in exc.issues]
        return None
    tenant.issues += [_inline(issue, tenant, prefix, offset) for issue in flow.warnings]
    return flow


def _inline(issue: FlowIssue, tenant: TenantFile, prefix: str, offset: int) -> FlowIssue:
    """An inline flow's issue placed in the tenant file: a `flow:` mapping's paths are looked up
    in the tenant's lines (its dump has lines of its own), `flow_yaml` text is shifted."""
    if prefix:
        path = f"{prefix}{issue.path}" if issue.path else prefix.rstrip(".")
        line = yaml_lines.line_of(tenant.lines, path)
    else:
        path = issue.path
        line = issue.line + offset if issue.line is not None else None
    return FlowIssue(issue.message, path, line, tenant.source, issue.severity)
