"""`botfleet validate`: every problem of flow and tenant files, located by file, line and path.

A tenant file is checked as the data plane would at boot: its own keys, its flow (a file or
inline), its connector bindings against the flow's calls, its channel binding, LLM settings and
knowledge file. Nothing is started and nothing is called. Each finding is reported once, also
when a flow and a tenant file using it are checked together.

A tenant's flow gets the menu and length warnings of the tenant's channel (its adapter's
`Capabilities`); a flow file alone gets WhatsApp's, the strictest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, SecretStr, ValidationError

from botfleet.adapters.channels.limits import declared_channel_limits
from botfleet.adapters.connectors.calendar.pool_config import POOL_TYPE
from botfleet.adapters.llm.options import llm_options, missing_key
from botfleet.adapters.registry import (
    CHANNEL_FACTORIES,
    NOT_CONNECTORS,
    build_connector,
    check_flow_connectors,
)
from botfleet.cli.llm_switch import unasked_llm, unused_llm
from botfleet.domain.channel_ids import channel_kind
from botfleet.domain.config_problems import describe
from botfleet.domain.errors import ConfigError, FlowIssue, FlowValidationError
from botfleet.domain.tenant_config import Binding, TenantConfig
from botfleet.domain.texts_by_language import lacks_language
from botfleet.flows import yaml_lines
from botfleet.flows.load import Flow, load_flow
from botfleet.flows.schema import FlowSpec
from botfleet.flows.tenant_file import config_key_path, display_path, read_tenant_file
from botfleet.flows.text_files import not_utf8
from botfleet.ports.clock import SystemClock
from botfleet.ports.connectors import Connector
from botfleet.testing.conversation_format import TEST_KEYS

__all__ = [
    "FileKind",
    "FileReport",
    "FileSearch",
    "Finding",
    "file_kind",
    "search_files",
    "validate_file",
    "validate_files",
]

FileKind = Literal["flow", "tenant", "unknown"]
Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One error or warning: `file:line path: message`."""

    file: str
    line: int | None
    path: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        path = f" {self.path}:" if self.path else ":"
        tag = " [warning]" if self.severity == "warning" else ""
        return f"{where}{path}{tag} {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "severity": self.severity,
            "message": self.message,
        }

    @classmethod
    def of(cls, issue: FlowIssue) -> Finding:
        """From a flow issue (or a tenant file's, `botfleet.flows.tenant_file`)."""
        severity: Severity = "warning" if issue.severity == "warning" else "error"
        return cls(issue.source, issue.line, issue.path, severity, issue.message)


@dataclass
class FileReport:
    file: str
    kind: FileKind
    findings: list[Finding] = field(default_factory=list)
    #: A tenant's: the flow file its `flow_path` names (None: an inline flow, or none read).
    flow_file: str | None = None
    #: A tenant's, in `validate_files`: how many findings its flow file has, listed in that
    #: file's own report.
    flow_findings: int = 0

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)


def file_kind(data: object) -> FileKind:
    """A tenant file has `tenant_id`; a flow has `states`."""
    if isinstance(data, dict) and "tenant_id" in data:
        return "tenant"
    if isinstance(data, dict) and "states" in data:
        return "flow"
    return "unknown"


def validate_files(paths: Iterable[str | Path], *, channel: str | None = None) -> list[FileReport]:
    """One report per file checked, in the order met: each file given, and before a tenant
    file the flow file it names (unless met already). Each finding is listed once, in the
    report of the file it is in: a tenant's report keeps its own findings and counts its
    flow's (`FileReport.flow_findings`). `channel`: the channel a flow file alone is checked
    for (default WhatsApp's limits, the strictest); a tenant's flow, for the tenant's own.

    A flow file a tenant of the same run names is not checked alone too (without `channel`):
    its findings are its tenants' checks of it, for their channels, not WhatsApp's warnings a
    Telegram tenant's flow would get (a folder holding the tenant and its flow)."""
    paths = list(paths)
    # Tenants first: which flow files they check for their own channels.
    tenants = {i: validate_file(p) for i, p in enumerate(paths) if _is_tenant_file(p)}
    used = (
        set()
        if channel is not None
        else {_identity(r.flow_file) for r in tenants.values() if r.flow_file is not None}
    )
    reports: list[FileReport] = []
    met: dict[Path, FileReport] = {}
    for index, path in enumerate(paths):
        if index in tenants:
            report = tenants[index]
        elif _identity(str(path)) in used:
            report = FileReport(str(path), "flow", [])  # its tenants' findings join it
        else:
            report = validate_file(path, channel=channel)
        flow = _flow_report(report)
        for part in (report,) if flow is None else (flow, report):
            earlier = met.get(_identity(part.file))
            if earlier is None:
                met[_identity(part.file)] = part
                reports.append(part)
            else:
                _merge(earlier, part)
    return reports


def _is_tenant_file(path: str | Path) -> bool:
    try:
        data = yaml_lines.load_with_lines(Path(path).read_text(encoding="utf-8")).data
    except (OSError, UnicodeDecodeError, yaml_lines.YamlSyntaxError):
        return False
    return file_kind(data) == "tenant"


def _flow_report(report: FileReport) -> FileReport | None:
    """A tenant's flow file as a report of its own, with the findings placed in it."""
    if report.kind != "tenant" or report.flow_file is None:
        return None
    flow = [f for f in report.findings if f.file == report.flow_file]
    report.findings = [f for f in report.findings if f.file != report.flow_file]
    report.flow_findings = len(flow)
    return FileReport(report.flow_file, "flow", flow)


def _identity(file: str) -> Path:
    """The same file named two ways (`flows/x.yaml`, `examples/../flows/x.yaml`) is one."""
    return Path(file).resolve()


def _merge(earlier: FileReport, later: FileReport) -> None:
    """A file met again (given twice, or the flow of two tenants): its findings not listed yet
    (another tenant's bindings may find others) join the first report."""
    for finding in later.findings:
        moved = replace(finding, file=earlier.file)
        if moved not in earlier.findings:
            earlier.findings.append(moved)


@dataclass
class FileSearch:
    """The files to check, and those a folder held that are not flows or tenant files:
    `tests` counts the conversation tests per folder searched, `skipped` names the rest."""

    found: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    tests: dict[Path, int] = field(default_factory=dict)


def search_files(paths: Iterable[str | Path]) -> FileSearch:
    """Files as given; folders searched recursively for flows and tenant files (`*.yaml`,
    `*.yml`). Conversation tests and other YAML in a folder are skipped, each with the reason;
    a file that cannot be read as YAML is kept, so that checking it says what is wrong."""
    search = FileSearch()
    # A folder and one inside it given together (`. tests/`): each file is met once.
    met: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            search.found.append(path)
            continue
        for candidate in sorted({*path.rglob("*.yaml"), *path.rglob("*.yml")}):
            if (resolved := candidate.resolve()) in met:
                continue
            met.add(resolved)
            reason = _not_checked(candidate)
            if reason is None:
                search.found.append(candidate)
            elif reason == _TEST:
                search.tests[path] = search.tests.get(path, 0) + 1
            else:
                search.skipped.append((candidate, reason))
    return search


_TEST = "a conversation test"


def _not_checked(path: Path) -> str | None:
    """Why a YAML file found in a folder is not checked, or None when it is a flow or tenant."""
    try:
        data = yaml_lines.load_with_lines(path.read_text(encoding="utf-8")).data
    except (OSError, UnicodeDecodeError, yaml_lines.YamlSyntaxError):
        return None
    if file_kind(data) != "unknown":
        return None
    if isinstance(data, dict) and any(k in data for k in TEST_KEYS):
        return _TEST
    return "neither a flow (no 'states' key) nor a tenant file (no 'tenant_id' key)"


def validate_file(path: str | Path, *, channel: str | None = None) -> FileReport:
    """Check one flow or tenant file (which is which is read from its keys); a flow alone for
    `channel`'s limits (None: WhatsApp's)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
        document = yaml_lines.load_with_lines(text)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return FileReport(source, "unknown", [Finding(source, None, "", "error", reason)])
    except UnicodeDecodeError as exc:
        line, message = not_utf8(exc)
        return FileReport(source, "unknown", [Finding(source, line, "", "error", message)])
    except yaml_lines.YamlSyntaxError as exc:
        problem = exc.problem
        finding = Finding(source, problem.line, problem.path, "error", problem.message)
        return FileReport(source, "unknown", [finding])
    kind = file_kind(document.data)
    report = FileReport(source, kind)
    if kind == "flow":
        report.findings += _flow_findings(path, channel)
    elif kind == "tenant":
        findings, report.flow_file = _tenant_findings(path, document.lines)
        report.findings += findings
    elif isinstance(document.data, dict) and any(k in document.data for k in TEST_KEYS):
        # A test beside the flows is easily passed to `validate` too: say which command it takes.
        message = (
            f"a conversation test, not a flow or tenant file: run it with `botfleet test {source}`"
        )
        report.findings.append(Finding(source, 1, "", "error", message))
    else:
        message = "neither a flow (no 'states' key) nor a tenant file (no 'tenant_id' key)"
        report.findings.append(Finding(source, 1, "", "error", message))
    return report


def _flow_findings(path: str | Path, channel: str | None = None) -> list[Finding]:
    limits = None if channel is None else declared_channel_limits(channel)
    try:
        flow = load_flow(path, channel=limits)
    except FlowValidationError as exc:
        return [Finding.of(issue) for issue in exc.issues]
    return [Finding.of(issue) for issue in flow.warnings]


class _TenantCheck:
    """Collects a tenant file's findings, locating config keys in its lines."""

    def __init__(self, source: str, lines: Mapping[str, int]) -> None:
        self.source, self.lines = source, lines
        self.findings: list[Finding] = []

    def add(
        self, key: str, message: str, severity: Severity = "error", *, near: str | None = None
    ) -> None:
        """`near`: the key whose line to give when `key` is not in the file (a key to add)."""
        path = config_key_path(key)
        line = yaml_lines.line_of(self.lines, near if near and path not in self.lines else path)
        self.findings.append(Finding(self.source, line, path, severity, message))

    def config_error(self, exc: ConfigError) -> None:
        for key, detail in exc.problems:
            self.add(key, detail)


def _tenant_findings(
    path: str | Path, lines: Mapping[str, int]
) -> tuple[list[Finding], str | None]:
    """The tenant file's findings (its flow's too, placed in the flow's file) and the flow
    file its `flow_path` names, as its flow's findings name it."""
    tenant = read_tenant_file(path, channels=declared_channel_limits)
    check = _TenantCheck(str(path), lines)
    check.findings += [Finding.of(issue) for issue in tenant.issues]
    config, flow = tenant.config, tenant.flow
    if config is None:
        return check.findings, None
    flow_file = None
    if config.flow_path and config.flow is None and config.flow_yaml is None:
        flow_file = str(display_path(config.resolve(config.flow_path)))
    # One binding at a time, so a broken one hides neither the others nor the flow's calls.
    connectors: dict[str, Connector] = {}
    broken: set[str] = set()
    for category, binding in config.connectors.items():
        if category in NOT_CONNECTORS:
            continue
        try:
            connectors[category] = build_connector(config, category, binding, clock=SystemClock())
        except ConfigError as exc:
            _binding_problems(check, config.tenant_id, category, binding, exc)
            broken.add(category)
            continue
        # A pool's hours are its members' (each checked on its own line).
        if binding.type != POOL_TYPE and "get_available_days" in connectors[category].operations():
            _check_opening_hours(check, category, binding.settings())
    if flow is not None:
        try:
            check_flow_connectors(config, flow.spec, connectors, unchecked=frozenset(broken))
        except ConfigError as exc:
            check.config_error(exc)
    places = [("channel", config.channel)]
    places += [(f"more_channels[{i}]", b) for i, b in enumerate(config.more_channels)]
    for place, binding in places:
        if binding.type not in CHANNEL_FACTORIES:
            known = ", ".join(sorted(CHANNEL_FACTORIES))
            check.add(f"{place}.type", f"unknown type {binding.type!r} (known: {known})")
        else:
            _check_channel(check, binding.type, binding.settings(), config.source, place=place)
            _check_greeting(check, binding.settings(), config.language, place=place)
    _check_llm(check, config, None if flow is None else flow.spec)
    _check_safe_text_languages(check, config, flow, flow_file)
    return check.findings, flow_file


def _check_greeting(
    check: _TenantCheck, settings: Mapping[str, Any], language: str, *, place: str
) -> None:
    """A web chat greeting given by language with none in the tenant's: the page shows the
    first one listed, in another language (a warning: a walk-through's pt-PT tenant got its
    pt-BR text, as documented, with no word)."""
    greeting = settings.get("greeting")
    if isinstance(greeting, Mapping) and greeting and lacks_language(dict(greeting), language):
        first = next(iter(greeting))
        check.add(
            f"{place}.greeting",
            f"no greeting in the tenant's language {language!r}: the page shows the one in "
            f"{first!r}; add one under {language!r}",
            "warning",
        )


def _check_safe_text_languages(
    check: _TenantCheck, config: TenantConfig, flow: Flow | None, flow_file: str | None
) -> None:
    """A safe text given by language (the tenant's `llm.fallback_text`, the flow's
    `settings.llm_fallback_text`) with none in the tenant's language: a turn in a language it
    lacks gets the first one listed, in another language (a warning, as for a greeting)."""
    language = config.language
    try:
        tenant_text = llm_options(config).fallback_text
    except ConfigError:  # reported by `_check_llm`
        tenant_text = None
    if lacks_language(tenant_text, language):
        check.add("llm.fallback_text", _lacks(tenant_text, language), "warning")
    flow_text = None if flow is None else flow.spec.settings.llm_fallback_text
    if flow is None or not lacks_language(flow_text, language):
        return
    path, message = "settings.llm_fallback_text", _lacks(flow_text, language)
    if flow_file is not None:  # on the flow's own line, in its file
        check.findings.append(Finding(flow_file, flow.line_of(path), path, "warning", message))
    else:  # an inline flow: in the tenant file (`flow_yaml` text: on that key)
        check.add(f"flow.{path}", message, "warning", near="flow_yaml")


def _lacks(texts: Any, language: str) -> str:
    first = next(iter(texts))
    return (
        f"no safe text in the tenant's language {language!r}: a turn in a language it lacks "
        f"gets the one in {first!r}, the first listed; add one under {language!r}"
    )


def _check_opening_hours(check: _TenantCheck, name: str, settings: dict[str, Any]) -> None:
    """A calendar without opening hours offers no day and books nothing: every back end offers
    only the windows of `schedule`. A warning (the calendar may be set up later), on the
    binding's line."""
    if any(settings.get("schedule", {}).values()):
        return
    check.add(
        f"connectors.{name}.schedule",
        "no opening hours, so no day is ever offered and nothing can be booked: add the "
        'weekly windows, e.g. schedule: {mon: ["10:00-14:00", "17:00-20:00"], tue: [...]}',
        "warning",
        near=f"connectors.{name}",
    )


def _check_llm(check: _TenantCheck, config: TenantConfig, flow: FlowSpec | None) -> None:
    """The LLM settings as the data plane reads them: an enabled provider without its key, and
    a flow that falls back to an LLM left off."""
    try:
        options = llm_options(config)
    except ConfigError as exc:
        check.config_error(exc)
        return
    problem = missing_key(options) if options.enabled else None
    if problem is not None:
        check.add(
            "llm",
            f"{problem} (until then the data plane answers questions with the safe text)",
            "warning",
        )
    if flow is None:
        return
    if options.enabled and options.fallback_text and flow.settings.llm_fallback_text:
        # The tenant's wins (docs/llm.md): a flow's text written per language (`texts`) or
        # for its own wording would never be sent, and nothing said so.
        where = "llm.fallback_text" if "llm.fallback_text" in check.lines else "llm"
        check.add(
            where,
            "llm.fallback_text wins over the flow's settings.llm_fallback_text, which is then "
            "never sent (in no language); leave one of them out",
            "warning",
        )
    mismatch = unused_llm(flow) if options.enabled else unasked_llm(flow)
    if mismatch is not None:  # on the `llm:` section, else on the provider's binding
        near = "llm" if "llm" in check.lines else "connectors.llm"
        check.add("llm.enabled", mismatch, "warning", near=near)


#: Stands for a credential a binding leaves out, to find the problems its absence alone causes
#: (a URL, so that a `url` passes as a secret does).
_STORED_AS_CREDENTIAL = "https://stored-as-credential.invalid/"


def _binding_problems(
    check: _TenantCheck, tenant_id: str, name: str, binding: Binding, exc: ConfigError
) -> None:
    """A connector binding's problems: those only a setting the control plane may keep as a
    credential causes, left out of the file (a `webhook`'s `url`, a `google_calendar`'s
    `service_account_info`, a CalDAV `password`), are warnings naming the credential, as a
    missing channel secret is; the rest, settings only the file can hold among them, errors."""
    credentials = _left_to_credentials(name, binding)
    scope = f"connector:{name}"
    for key, detail in exc.problems:
        names = credentials.get(key)
        if not names:
            check.add(key, detail)
            continue
        quoted = " and ".join(repr(n) for n in names)
        hint = (
            f"{detail} (the data plane does not start without it; put it here for a local run, "
            f"or store it as the credential {quoted} of {scope} before the tenant is served: "
            f"`botfleet cp credentials set {tenant_id} {scope} --file FILE`, FILE a JSON object "
            f"holding {quoted})"
        )
        check.add(key, hint, "warning")


def _left_to_credentials(name: str, binding: Binding) -> dict[str, list[str]]:
    """Problem key -> the settings the binding `connectors.<name>` leaves out whose absence alone
    causes it, among those its credential scope takes (the control plane's
    `credential_target`: every secret field, and the settings a model lets be stored as
    credentials). Found with the binding's settings model, as the data plane reads it at boot:
    each left-out setting given a stand-in in turn, a problem it removes (adding none) is
    that setting's."""
    from botfleet.control_plane.binding_schemas import CONNECTOR_SCOPE_PREFIX, credential_target

    raw = {"type": binding.type, **binding.settings()}
    target = credential_target(CONNECTOR_SCOPE_PREFIX + name, None, {name: raw})
    if target is None or target.model is None:
        return {}
    given = {target.fields[key] for key in raw if key in target.fields}
    left_out = sorted(set(target.fields.values()) - given)
    before = _model_problems(target.model, target.binding, target.context, name)
    found: dict[str, list[str]] = {}
    for setting in left_out:
        values = {**target.binding, setting: _STORED_AS_CREDENTIAL}
        after = _model_problems(target.model, values, target.context, name)
        if after < before:
            for key in sorted(before - after):
                found.setdefault(key, []).append(setting)
    return found


def _model_problems(
    model: type[BaseModel], values: Mapping[str, Any], context: Mapping[str, Any], name: str
) -> set[str]:
    """The keys (`connectors.<name>.<setting>`, as the data plane's messages give them) of the
    problems `model` finds in `values`."""
    try:
        model.model_validate(dict(values), context=dict(context))
    except ValidationError as exc:
        return {describe(error, prefix=f"connectors.{name}")[0] for error in exc.errors()}
    return set()


def _channel_model(kind: str) -> tuple[type[BaseModel], Any] | None:
    """The settings model of a channel type and the function the data plane reads it with."""
    if kind in ("webchat", "http_dev"):
        from botfleet.adapters.channels.webchat.settings import WebChatSettings, webchat_settings

        return WebChatSettings, webchat_settings
    if kind == "whatsapp":
        from botfleet.adapters.channels.whatsapp.settings import (
            WhatsAppSettings,
            whatsapp_settings,
        )

        return WhatsAppSettings, whatsapp_settings
    if kind == "telegram":
        from botfleet.adapters.channels.telegram.settings import (
            TelegramSettings,
            telegram_settings,
        )

        return TelegramSettings, telegram_settings
    return None


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or any(_is_secret(arg) for arg in get_args(annotation))


def _check_channel(
    check: _TenantCheck,
    kind: str,
    settings: Mapping[str, Any],
    source: str,
    *,
    place: str = "channel",
) -> None:
    """The channel binding at `place` (`channel`, `more_channels[0]`), read as the data plane
    reads it at boot.

    A missing secret (`access_token`, `bot_token`...) is a warning, as a missing LLM key is: a
    tenant file given to the control plane must leave secrets out (they are its credentials).
    """
    found = _channel_model(kind)
    if found is None:
        return
    model, read = found
    try:
        read(settings, source=source)
    except ConfigError as exc:
        secrets = {n for n, f in model.model_fields.items() if _is_secret(f.annotation)}
        for key, detail in exc.problems:
            name = key.removeprefix("channel.")
            key = place + key.removeprefix("channel")
            if name in secrets and detail.endswith("missing required key"):
                hint = (
                    f"{detail} (a secret: the data plane does not start without it; put it "
                    "here for a local run, or store it as the tenant's `channel` credentials "
                    "in the control plane)"
                    if place == "channel"
                    else f"{detail} (a secret: the data plane does not start without it; put "
                    "it here for a local run, or store it as the tenant's "
                    f"`channel:{channel_kind(kind)}` credentials in the control plane)"
                )
                check.add(key, hint, "warning")
            else:
                check.add(key, detail)
