"""The metrics an operator scrapes and alerts on are the ones docs/operations.md describes.

Registered metrics are found with `ast` in src/botfleet (calls of prometheus_client's `Counter`,
`Gauge`, `Histogram`, `Summary` with a `botfleet_` name), under the name a scrape shows (a
counter with `_total`). Each must be named in docs/operations.md's "Metrics" section, or belong
to a family it names with a wildcard (`botfleet_whatsapp_*`) and be named in another docs/*.md
(docs/channels.md lists the channels' counters). Each name that section gives must exist, and
every metric in its alert table too. Every label must be one whose values are known to be
bounded (`BOUNDED_LABELS` says why each is): a contact id, message id, URL or text as a label
would grow a series per value, in the process and in every scrape.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SRC = REPO / "src" / "botfleet"
DOCS = REPO / "docs"
METRIC_TYPES = frozenset({"Counter", "Gauge", "Histogram", "Summary"})

#: Label names whose values come from a closed set, and why. A new label needs a line here.
BOUNDED_LABELS = {
    "connector": "the tenant's binding names, from its configuration",
    "operation": "the operations a flow may call: literal names in the published flow",
    "outcome": "ok/timeout/unavailable/... and the LLM's outcomes, set by the code",
    "state": "a circuit breaker's three states",
    "kind": "LLM token kinds; WhatsApp call kinds (text, interactive, template, read)",
    "event": "error meanings of a channel's table (ErrorMeaning), pre-registered",
    "status": "WhatsApp STATUSES or 'other'; the control plane's HTTP status codes",
    "method": "Telegram Bot API methods the sender calls; seven HTTP methods or 'other'",
    "route": "the control plane's route templates or '<unmatched>', never a path",
    "result": "boot pulls: served, not_modified, refused",
    "change": "Telegram my_chat_member changes (MEMBER_EVENTS), pre-registered",
    "channel": "the kind of the contact's channel (whatsapp, telegram, webchat), never the id",
}


@dataclass(frozen=True)
class Metric:
    name: str  # as a scrape shows it
    labels: tuple[str, ...]
    where: str


def _strings(node: ast.AST | None) -> tuple[str, ...]:
    if isinstance(node, ast.List | ast.Tuple):
        return tuple(
            e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        )
    return ()


@cache
def registered() -> tuple[Metric, ...]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            kind = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if kind not in METRIC_TYPES or not isinstance(first, ast.Constant):
                continue
            name = str(first.value)
            if not name.startswith("botfleet_"):
                continue
            labels = _strings(node.args[2]) if len(node.args) > 2 else ()
            for keyword in node.keywords:
                if keyword.arg == "labelnames":
                    labels = _strings(keyword.value)
            if kind == "Counter":
                name = name.removesuffix("_total") + "_total"
            where = f"{path.relative_to(SRC).as_posix()}:{node.lineno}"
            found.append(Metric(name, labels, where))
    return tuple(found)


def _metrics_section() -> str:
    text = (DOCS / "operations.md").read_text(encoding="utf-8")
    start = text.index("\n## Metrics\n")
    return text[start : text.index("\n## ", start + 1)]


def _named(text: str) -> set[str]:
    """Metric names in `text`; wildcards keep their `*`."""
    return set(re.findall(r"botfleet_[a-z0-9_]*[a-z0-9*]", text))


def _alert_rows() -> list[str]:
    section = _metrics_section()
    table = section[section.index("| alert |") :]
    return [line for line in table.splitlines()[2:] if line.startswith("|")]


def test_the_scan_finds_the_metrics_of_both_planes() -> None:
    names = {m.name for m in registered()}
    assert {
        "botfleet_messages_in_total",
        "botfleet_turn_seconds",
        "botfleet_connector_breaker_state",
        "botfleet_tasks_missed_total",
        "botfleet_whatsapp_errors_total",
        "botfleet_cp_http_requests_total",
    } <= names


def test_no_label_can_take_unbounded_values() -> None:
    unknown = sorted(
        f"{m.name}{{{label}}} at {m.where}"
        for m in registered()
        for label in m.labels
        if label not in BOUNDED_LABELS
    )
    assert unknown == [], "a new label: say in BOUNDED_LABELS why its values are bounded"


def test_every_registered_metric_is_documented() -> None:
    section = _named(_metrics_section())
    families = [name.removesuffix("*") for name in section if name.endswith("*")]
    everywhere = set().union(*(_named(p.read_text(encoding="utf-8")) for p in DOCS.glob("*.md")))
    missing = sorted(
        m.name
        for m in registered()
        if m.name not in section
        and not (m.name.startswith(tuple(families)) and m.name in everywhere)
    )
    assert missing == []


def test_every_metric_the_docs_name_exists() -> None:
    names = {m.name for m in registered()}
    # A histogram's series: `_bucket`, `_sum`, `_count` of a registered name.
    series = names | {f"{n}{s}" for n in names for s in ("_bucket", "_sum", "_count")}
    unknown = sorted(
        name
        for name in _named(_metrics_section())
        if (name.endswith("*") and not any(n.startswith(name[:-1]) for n in names))
        or (not name.endswith("*") and name not in series)
    )
    assert unknown == []


def test_each_alert_names_a_metric_and_a_threshold() -> None:
    rows = _alert_rows()
    assert len(rows) >= 5
    for row in rows:
        expression = re.split(r"(?<!\\)\|", row)[2]  # `\|` inside a cell is the cell's
        assert _named(expression), row
        # A comparison with a number: the threshold.
        assert re.search(r"(==|>|<)\s*\d", expression), row
