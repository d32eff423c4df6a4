"""Every log event botfleet writes at warning level or above is documented, so an operator who
meets one in a log can look up what it means and what to do.

What counts as documented: the event's name in backticks in a docs/*.md file. docs/operations.md
is the operators' reference: its "Logs" tables hold the events of the runtime (flow diagnostics
included: the step loop writes them), the stores, the scheduler, the boot and the control
plane's requests, and an event written by those modules (`OPERATIONS_MODULES`) must be there.
The others may be documented beside what they are about, as the project does: a channel's
(docs/channels.md: the WhatsApp and Telegram error lists), a connector's (docs/connectors.md),
the LLM fallback's (docs/llm.md); operations.md points to those files.

Events are found with `ast` in src/botfleet: calls of a logger (`log`, `_log`, `logger`,
`contact_log`...) at `warning`, `error`, `exception`, `critical` or `ContactLog.failure`, whose
first argument is the event's name. A name built at run time is followed to where it comes
from: a local variable's assigned strings, an f-string as a pattern, and for the few call sites
that log a name carried by a value (`DYNAMIC_SITES`), the constructors that make those values.
A new call site of that kind fails `test_every_dynamic_event_site_is_known` until it is listed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SRC = REPO / "src" / "botfleet"
DOCS = REPO / "docs"

#: Logger methods at warning level or above (`failure`: `ContactLog`'s error with a traceback).
LEVEL_METHODS = frozenset({"warning", "warn", "error", "exception", "critical", "failure"})
#: A receiver that is a logger: `log`, `_log`, `logger`, `self._logger`, `contact_log`,
#: `get_logger("serve")`.
LOGGER = re.compile(r"(^|_)(log|logger|get_logger)$", re.IGNORECASE)
#: The modules whose events an operator of any tenant meets: documented in docs/operations.md.
OPERATIONS_MODULES = (
    "data_plane/app.py",
    "data_plane/api/",
    "data_plane/config_source/",
    "data_plane/runtime/",
    "adapters/scheduling/",
    "adapters/stores/",
    "contact_hash.py",
    "control_plane/api/",
    "control_plane/bootstrap.py",
)


@dataclass(frozen=True)
class Event:
    """An event name (or, built at run time, a regex of it) and where it is written."""

    name: str
    where: str  # path relative to src/botfleet, and line
    pattern: bool = False

    def documented_in(self, text: str) -> bool:
        if self.pattern:
            return re.search(f"`{self.name}`", text) is not None
        return f"`{self.name}`" in text


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _relative(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _sources() -> Iterator[Path]:
    yield from sorted(SRC.rglob("*.py"))


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _receiver(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _receiver(node.func)
    return ""


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _event_argument(call: ast.Call) -> ast.expr | None:
    """The event argument of a logger call at warning or above; None for other calls."""
    func = call.func
    if not isinstance(func, ast.Attribute) or not LOGGER.search(_receiver(func.value)):
        return None
    if func.attr in LEVEL_METHODS and call.args:
        return call.args[0]
    if func.attr == "log" and len(call.args) > 1:  # log(level, event): a level known here?
        level = _string(call.args[0])
        return call.args[1] if level is None or level in LEVEL_METHODS else None
    return None


def _placeholder_pattern(node: ast.JoinedStr) -> str:
    parts = []
    for value in node.values:
        text = _string(value)
        parts.append(re.escape(text) if text is not None else r"[^`]+?")
    return "".join(parts)


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _assigned_strings(function: ast.AST, name: str) -> list[str]:
    """Every string constant in the values assigned to `name` inside `function`."""
    found = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            found += [s for n in ast.walk(node.value) if (s := _string(n)) is not None]
    return found


@dataclass(frozen=True)
class Site:
    """A logger call whose event is not a string in the call itself."""

    path: str
    line: int
    function: ast.AST | None
    argument: ast.expr


@cache
def _scan() -> tuple[tuple[Event, ...], tuple[Site, ...]]:
    events: list[Event] = []
    sites: list[Site] = []
    for path in _sources():
        tree = _tree(path)
        owner: dict[ast.AST, ast.AST] = {}
        for function in _functions(tree):
            for node in ast.walk(function):
                owner.setdefault(node, function)  # outermost first: walk is breadth-first
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            argument = _event_argument(node)
            if argument is None:
                continue
            where = f"{_relative(path)}:{node.lineno}"
            name = _string(argument)
            if name is not None:
                events.append(Event(name, where))
            elif isinstance(argument, ast.JoinedStr):
                events.append(Event(_placeholder_pattern(argument), where, pattern=True))
            else:
                sites.append(Site(_relative(path), node.lineno, owner.get(node), argument))
    return tuple(events), tuple(sites)


def _constructed(called: str, index: int, under: str, *, levels: int | None = None) -> set[str]:
    """The string passed as argument `index` to calls of `called` in modules under `under`
    (with `levels`: only calls whose argument `levels` is "warning" or "error")."""
    found = set()
    for path in _sources():
        if not _relative(path).startswith(under):
            continue
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Call) or _called(node) != called:
                continue
            if levels is not None and (
                len(node.args) <= levels or _string(node.args[levels]) not in {"warning", "error"}
            ):
                continue
            value = _string(node.args[index]) if len(node.args) > index else None
            if value is not None:
                found.add(value)
    return found


def _class_attribute(name: str) -> set[str]:
    """The strings assigned to class attributes called `name` anywhere in src/botfleet."""
    found = set()
    for path in _sources():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.AnnAssign):
                target: ast.expr | None = node.target
            elif isinstance(node, ast.Assign):
                target = node.targets[0]
            else:
                continue
            value = _string(node.value)
            if isinstance(target, ast.Name) and target.id == name and value is not None:
                found.add(value)
    return found


def _channel_meanings(channel: str) -> set[str]:
    """A channel's error events: its `ErrorMeaning`s and its transport failures' events."""
    under = f"adapters/channels/{channel}/"
    return _constructed("ErrorMeaning", 0, under) | _constructed("_transport_failure", 1, under)


def _flow_diagnostics() -> set[str]:
    """Diagnostics of the flow engine at warning or error, which the step loop logs."""
    return (
        _constructed("diagnose", 1, "flows/", levels=0)
        | _constructed("Diagnostic", 1, "flows/", levels=0)
        | _constructed("_report", 0, "flows/render.py")  # always "warning" (or raised)
    )


#: Modules that log an event carried by a value, and where those values' events come from.
DYNAMIC_SITES: dict[str, Callable[[], set[str]]] = {
    "adapters/channels/whatsapp/metrics.py": lambda: _channel_meanings("whatsapp"),
    "adapters/channels/telegram/send.py": lambda: _channel_meanings("telegram"),
    "data_plane/resilience/connector.py": lambda: _class_attribute("log_event"),
    "data_plane/runtime/step_loop.py": _flow_diagnostics,
}


def _site_events(site: Site) -> list[Event]:
    where = f"{site.path}:{site.line}"
    if isinstance(site.argument, ast.Name) and site.function is not None:
        assigned = _assigned_strings(site.function, site.argument.id)
        if assigned:
            return [Event(name, where) for name in assigned]
    source = DYNAMIC_SITES.get(site.path)
    return [] if source is None else [Event(name, where) for name in sorted(source())]


def all_events() -> list[Event]:
    events, sites = _scan()
    return [*events, *(e for site in sites for e in _site_events(site))]


@cache
def _docs() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(DOCS.glob("*.md"))}


def test_the_scan_finds_the_events_it_is_meant_to() -> None:
    """A scan that silently found nothing would pass every check below."""
    names = {event.name for event in all_events()}
    for expected in (
        "turn_failed",  # contact_log.failure
        "task_missed",  # log.warning in the scheduler
        "config_poll_refused",  # a variable assigned in the function
        "calendar_not_found",  # a class attribute (`log_event`)
        "whatsapp_token_expired",  # a channel's ErrorMeaning
        "telegram_unreachable",  # a channel's transport failure
        "state_reset",  # a flow diagnostic
        "database unavailable",  # the control plane's
    ):
        assert expected in names
    assert "data_plane_ready" not in names  # info
    assert "schedule_task_skipped" not in names  # info, in a module with warnings


def test_every_dynamic_event_site_is_known() -> None:
    _, sites = _scan()
    unresolved = sorted(f"{s.path}:{s.line}" for s in sites if not _site_events(s))
    assert unresolved == [], "list each in DYNAMIC_SITES with where its events come from"
    listed = {s.path for s in sites if not isinstance(s.argument, ast.Name)}
    assert listed == set(DYNAMIC_SITES), "a listed module no longer logs a dynamic event"


@pytest.mark.parametrize("event", all_events(), ids=lambda e: f"{e.name}@{e.where}")
def test_the_event_is_documented(event: Event) -> None:
    docs = _docs()
    documented = [name for name, text in docs.items() if event.documented_in(text)]
    if event.where.startswith(OPERATIONS_MODULES):
        assert "operations.md" in documented, f"document {event.name} in docs/operations.md"
    assert documented, f"document {event.name} (written at {event.where}) in docs/*.md"
