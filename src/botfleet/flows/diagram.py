"""A flow's state graph as Mermaid or Graphviz DOT text (`botfleet graph`). Pure, no I/O.

Edges, in flow order: the start marker to `initial_state`; `global_transitions` from an "any
state" node (back to it for a `$current` target: the contact stays where it fires); then per
state its transitions (labelled by trigger), its `next` routes (bold, labelled by condition),
its `fallback` and `llm_unanswered` (dashed) and its connectors' `on_error` targets (dotted).
States with `llm_fallback: true` are marked. The output is deterministic, so a generated
diagram can be committed beside its flow and checked for staleness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from botfleet.flows.schema import (
    CURRENT_STATE,
    ErrorRoute,
    FlowSpec,
    InvokeConnector,
    State,
    Transition,
)

__all__ = ["Edge", "EdgeKind", "flow_dot", "flow_edges", "flow_mermaid", "trigger_label"]

EdgeKind = Literal["start", "transition", "next", "fallback", "error"]

#: Conditions longer than this are shortened in labels (the flow file has the full text).
MAX_CONDITION = 60
START_ID = "__start__"
ANY_ID = "__any__"
LLM_MARK = "LLM fallback"
_PLAIN_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Words Mermaid's flowchart grammar reads as keywords, so they cannot be node ids.
_MERMAID_KEYWORDS = frozenset(
    {"end", "graph", "flowchart", "subgraph", "style", "class", "classdef", "click", "linkstyle"}
)


@dataclass(frozen=True, slots=True)
class Edge:
    """One arrow. `source` None: from any state (a global transition) or the start marker;
    `target` `$current`: back to the state it fired in."""

    source: str | None
    target: str
    label: str
    kind: EdgeKind
    path: str = ""


def trigger_label(transition: Transition) -> str:
    """What makes a transition fire, e.g. `menu_book`, `service_*`, `[image]`, `if ...`."""
    parts: list[str] = []
    if transition.on_payload is not None:
        parts.append(transition.on_payload)
    if transition.on_payload_prefix is not None:
        parts.append(f"{transition.on_payload_prefix}*")
    if transition.on_type is not None:
        parts.append(f"[{transition.on_type}]")
    if transition.condition is not None:
        parts.append(f"if {_short(transition.condition)}")
    return " ".join(parts) or "any message"


def flow_edges(spec: FlowSpec) -> list[Edge]:
    """Every edge of the graph, in the order the flow file lists them."""
    edges = [Edge(None, spec.initial_state, "", "start")]
    for i, transition in enumerate(spec.global_transitions):
        label = trigger_label(transition)
        edges.append(Edge(None, transition.target, label, "transition", f"global_transitions[{i}]"))
    for name, state in spec.states.items():
        edges.extend(_state_edges(name, state))
    return edges


def _state_edges(name: str, state: State) -> list[Edge]:
    base = f"states.{name}"
    edges = [
        Edge(name, t.target, trigger_label(t), "transition", f"{base}.transitions[{i}]")
        for i, t in enumerate(state.transitions)
    ]
    if isinstance(state.next, str):
        edges.append(Edge(name, state.next, "", "next", f"{base}.next"))
    elif state.next is not None:
        for i, route in enumerate(state.next):
            label = f"if {_short(route.condition)}" if route.condition else ""
            if not label and i > 0:
                label = "otherwise"
            edges.append(Edge(name, route.target, label, "next", f"{base}.next[{i}]"))
    if state.fallback is not None:
        edges.append(Edge(name, state.fallback, "fallback", "fallback", f"{base}.fallback"))
    if state.llm_unanswered is not None:
        path = f"{base}.llm_unanswered"
        edges.append(Edge(name, state.llm_unanswered, "LLM unanswered", "fallback", path))
    for i, action in enumerate(state.on_enter):
        if isinstance(action, InvokeConnector) and (target := _error_target(action)) is not None:
            path = f"{base}.on_enter[{i}].on_error"
            edges.append(Edge(name, target, f"{action.operation} failed", "error", path))
    return edges


def _error_target(action: InvokeConnector) -> str | None:
    route = action.on_error
    if isinstance(route, ErrorRoute):
        return route.target
    return route


def _short(condition: str) -> str:
    text = " ".join(condition.split())
    return text if len(text) <= MAX_CONDITION else text[: MAX_CONDITION - 1] + "…"


def _node_ids(spec: FlowSpec, edges: list[Edge]) -> dict[str, str]:
    """State name -> a node id both formats accept (the name itself when it is plain)."""
    names = list(spec.states)
    names += [
        e.target
        for e in edges
        if e.target not in spec.states and e.target not in names and e.target != CURRENT_STATE
    ]
    ids: dict[str, str] = {}
    for index, name in enumerate(names):
        plain = _PLAIN_ID.fullmatch(name) and name.lower() not in _MERMAID_KEYWORDS
        ids[name] = name if plain else f"state_{index}"
    # No one state is `$current`'s: its arrow loops on "any state", where it starts.
    ids.setdefault(CURRENT_STATE, ANY_ID)
    return ids


# ---------------------------------------------------------------- Mermaid


def flow_mermaid(spec: FlowSpec) -> str:
    """A Mermaid flowchart (paste into Markdown inside a ```mermaid block)."""
    edges = flow_edges(spec)
    ids = _node_ids(spec, edges)
    lines = [
        "flowchart TD",
        f"    %% flow {spec.id}: generated by `botfleet graph`, do not edit by hand",
        f'    {START_ID}(("start"))',
    ]
    if spec.global_transitions:
        lines.append(f'    {ANY_ID}{{{{"any state"}}}}')
    for name, state in spec.states.items():
        label = _mermaid_text(name) + (f"<br/>{LLM_MARK}" if state.llm_fallback else "")
        lines.append(f'    {ids[name]}["{label}"]')
    for edge in edges:
        source = ids[edge.source] if edge.source else (START_ID if edge.kind == "start" else ANY_ID)
        lines.append(f"    {source} {_mermaid_arrow(edge)} {ids[edge.target]}")
    llm_states = [ids[n] for n, s in spec.states.items() if s.llm_fallback]
    if llm_states:
        lines.append("    classDef llm fill:#fff4d6,stroke:#c99a06")
        lines.append(f"    class {','.join(llm_states)} llm")
    return "\n".join(lines) + "\n"


def _mermaid_arrow(edge: Edge) -> str:
    arrow = {"start": "-->", "transition": "-->", "next": "==>", "fallback": "-.->"}.get(
        edge.kind, "-.->"
    )
    return f'{arrow}|"{_mermaid_text(edge.label)}"|' if edge.label else arrow


def _mermaid_text(text: str) -> str:
    """Entity codes for the characters Mermaid's label syntax would read as markup."""
    swaps = {'"': "#quot;", "|": "#124;", "<": "#lt;", ">": "#gt;"}
    return "".join(swaps.get(c, c) for c in text)


# ---------------------------------------------------------------- Graphviz DOT

_DOT_STYLES: dict[str, str] = {
    "start": "",
    "transition": "",
    "next": "style=bold",
    "fallback": "style=dashed",
    "error": "style=dotted, color=firebrick",
}


def flow_dot(spec: FlowSpec) -> str:
    """A Graphviz digraph (`dot -Tsvg flow.dot -o flow.svg`)."""
    edges = flow_edges(spec)
    lines = [
        f"// flow {spec.id}: generated by `botfleet graph`, do not edit by hand",
        f"digraph {_dot_text(spec.id)} {{",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        f'  {_dot_text(START_ID)} [shape=circle, label="start", width=0.3];',
    ]
    if spec.global_transitions:
        lines.append(f'  {_dot_text(ANY_ID)} [shape=hexagon, label="any state"];')
    for name, state in spec.states.items():
        if state.llm_fallback:
            label = _dot_text(f"{name}\n{LLM_MARK}")
            lines.append(
                f'  {_dot_text(name)} [label={label}, style="rounded,filled", fillcolor="#fff4d6"];'
            )
        else:
            lines.append(f"  {_dot_text(name)};")
    for edge in edges:
        source = edge.source or (START_ID if edge.kind == "start" else ANY_ID)
        attributes = [f"label={_dot_text(edge.label)}"] if edge.label else []
        if _DOT_STYLES[edge.kind]:
            attributes.append(_DOT_STYLES[edge.kind])
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        target = ANY_ID if edge.target == CURRENT_STATE else edge.target
        lines.append(f"  {_dot_text(source)} -> {_dot_text(target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
