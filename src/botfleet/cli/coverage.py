"""Which states and transitions of a flow the conversation tests exercised. Pure.

A state counts once its `on_enter` ran (it was entered), or once a message was answered in it
(one of its own transitions, its fallback or its LLM fallback fired): a new contact's first
message is matched in the initial state without entering it, so an initial state no transition
leads back to is exercised that way. Transitions are the paths the engine reports as fired:
`global_transitions[i]`, `states.S.transitions[i]`, `states.S.fallback`,
`states.S.llm_fallback`, `states.S.llm_unanswered` and `states.S.next` (or `states.S.next[i]`
for conditional routes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from botfleet.flows.diagram import flow_edges
from botfleet.flows.load import Flow
from botfleet.flows.schema import FlowSpec
from botfleet.testing.conversation import ConversationResult

__all__ = ["FlowCoverage", "coverage_by_flow", "flow_inventory", "format_coverage"]


def flow_inventory(spec: FlowSpec) -> tuple[list[str], list[str]]:
    """(state names, transition paths) of a flow, in file order."""
    paths = [e.path for e in flow_edges(spec) if e.kind in ("transition", "next", "fallback")]
    paths += [f"states.{n}.llm_fallback" for n, s in spec.states.items() if s.llm_fallback]
    order = {p: i for i, p in enumerate(_file_order(spec))}
    return list(spec.states), sorted(paths, key=lambda p: order.get(p, len(order)))


def _file_order(spec: FlowSpec) -> list[str]:
    paths = [f"global_transitions[{i}]" for i in range(len(spec.global_transitions))]
    for name, state in spec.states.items():
        base = f"states.{name}"
        if state.llm_fallback:
            paths.append(f"{base}.llm_fallback")
        paths += [f"{base}.transitions[{i}]" for i in range(len(state.transitions))]
        paths += [f"{base}.fallback", f"{base}.llm_unanswered", f"{base}.next"]
        paths += [f"{base}.next[{i}]" for i in range(len(state.next_targets()))]
    return paths


@dataclass(frozen=True, slots=True)
class FlowCoverage:
    """One flow's coverage over every test that ran it."""

    flow: Flow
    states: tuple[str, ...]
    transitions: tuple[str, ...]
    entered: frozenset[str]
    fired: frozenset[str]

    @property
    def missed_states(self) -> list[str]:
        answered = {_state_of(path) for path in self.fired}
        return [s for s in self.states if s not in self.entered and s not in answered]

    @property
    def missed_transitions(self) -> list[str]:
        return [t for t in self.transitions if t not in self.fired]

    @property
    def state_percent(self) -> float:
        return _percent(len(self.states) - len(self.missed_states), len(self.states))

    @property
    def transition_percent(self) -> float:
        covered = len(self.transitions) - len(self.missed_transitions)
        return _percent(covered, len(self.transitions))


def _state_of(path: str) -> str | None:
    """`states.S.transitions[0]` (or `.fallback`, `.llm_fallback`, `.next...`) -> `S`."""
    if not path.startswith("states."):
        return None
    name, dot, _rest = path.removeprefix("states.").rpartition(".")
    return name if dot else None


def _percent(part: int, whole: int) -> float:
    return 100.0 if whole == 0 else 100.0 * part / whole


def coverage_by_flow(results: Iterable[ConversationResult]) -> list[FlowCoverage]:
    """Coverage per flow file (tests of one flow add up), in the order flows were first seen."""
    flows: dict[str, Flow] = {}
    entered: dict[str, set[str]] = {}
    fired: dict[str, set[str]] = {}
    for result in results:
        if result.flow is None:
            continue
        key = result.flow.source
        flows.setdefault(key, result.flow)
        entered.setdefault(key, set()).update(result.entered)
        fired.setdefault(key, set()).update(result.fired)
    report = []
    for key, flow in flows.items():
        states, transitions = flow_inventory(flow.spec)
        report.append(
            FlowCoverage(
                flow,
                tuple(states),
                tuple(transitions),
                frozenset(entered[key]),
                frozenset(fired[key]),
            )
        )
    return report


def format_coverage(coverage: FlowCoverage) -> str:
    """A short report: totals, then what no test exercised with its file:line."""
    states, transitions = coverage.states, coverage.transitions
    covered_states = len(states) - len(coverage.missed_states)
    covered_transitions = len(transitions) - len(coverage.missed_transitions)
    lines = [
        f"coverage of {coverage.flow.spec.id} ({coverage.flow.source})",
        f"  states       {covered_states:>3}/{len(states):<3} {coverage.state_percent:5.1f}%",
        f"  transitions  {covered_transitions:>3}/{len(transitions):<3} "
        f"{coverage.transition_percent:5.1f}%",
    ]
    missed = [f"states.{s}" for s in coverage.missed_states] + coverage.missed_transitions
    if missed:
        lines.append("  not exercised:")
        for path in missed:
            line = coverage.flow.line_of(path)
            where = f"{coverage.flow.source}:{line}" if line else coverage.flow.source
            lines.append(f"    {path}  ({where})")
    return "\n".join(lines)
