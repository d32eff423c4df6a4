"""Static validation of a flow: graph checks plus content checks. Pure, no I/O.

Used by `load.py` after schema validation and by the control plane before publishing a flow.
Errors make a flow unusable (unknown states, broken templates, loops); warnings point at
things that are legal but probably unintended (unreachable states, the channel's limits: the
tenant's channel when the caller names it, else WhatsApp's, the strictest).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botfleet.domain.cron import parse_cron
from botfleet.domain.errors import FlowIssue
from botfleet.flows._constant_conditions import constant_truth
from botfleet.flows._content_checks import (
    check_actions,
    check_duration,
    check_task_name,
    check_transitions,
    data_keys_set,
)
from botfleet.flows._failed_reads import continue_result_keys
from botfleet.flows._issues import IssueCollector, did_you_mean, sort_issues
from botfleet.flows._option_checks import check_option_id_lengths, check_unmatched_options
from botfleet.flows._reentry_checks import check_silent_reentries
from botfleet.flows._service_option_checks import check_service_options
from botfleet.flows._settings_checks import ENGINE_DATA_KEYS, check_settings
from botfleet.flows._spec_walk import state_path, transition_lists
from botfleet.flows._template_checks import check_condition, templates_in
from botfleet.flows._texts_checks import check_texts
from botfleet.flows.actions import MAX_CHAIN
from botfleet.flows.channel_limits import WHATSAPP, ChannelLimits
from botfleet.flows.connector_categories import CATEGORY_OPERATIONS, FLOW_CATEGORIES
from botfleet.flows.durations import parse_duration
from botfleet.flows.schema import (
    CURRENT_STATE,
    Action,
    FlowSpec,
    InvokeConnector,
    State,
    Transition,
)
from botfleet.flows.suggestions import closest
from botfleet.flows.yaml_lines import TextLines, index_path, key_path

#: Connector categories a flow may invoke unless the caller says otherwise; each also under
#: named bindings, `<category>.<name>` (`connector_names`): the categories with operations of
#: their own (`calendar`, `notification`) and the scripted `mock`.
DEFAULT_CONNECTOR_CATEGORIES: frozenset[str] = FLOW_CATEGORIES


@dataclass(frozen=True, slots=True)
class _Edge:
    path: str
    origin: str | None  # None: can fire in any state (global transitions, scheduled tasks)
    target: str


def validate_spec(
    spec: FlowSpec,
    *,
    source: str = "<flow>",
    lines: Mapping[str, int] | None = None,
    known_connectors: frozenset[str] | None = None,
    known_operations: Mapping[str, frozenset[str]] | None = None,
    bindings: frozenset[str] | None = None,
    texts: Mapping[str, TextLines] | None = None,
    channel: ChannelLimits | None = None,
) -> list[FlowIssue]:
    """Every error and warning of a schema-valid flow, in file order.

    Args:
        spec: the flow.
        source: how to name the flow in issues (its file path).
        lines: DSL path -> line, from `yaml_lines`, to locate each issue.
        known_connectors: connector categories allowed (default `DEFAULT_CONNECTOR_CATEGORIES`);
            a call may name one (`notification`) or a named binding of one
            (`notification.front_desk`).
        known_operations: operations per category (or per named binding), over each
            category's own (`CATEGORY_OPERATIONS`): a call to an operation its binding or
            category does not have is an error. A category neither lists (the scripted
            `mock`) may call any.
        bindings: the tenant's binding names (its `connectors:` keys), when the flow is checked
            for a tenant: a named binding the tenant does not have is then an error. None: the
            flow alone, where any well-formed name under a known category may be bound later
            (whether a bare category is bound is the tenant check's, `check_flow_connectors`).
        texts: DSL path -> the lines of a text written over several lines, from
            `yaml_lines`, to place a problem inside a template on its own line.
        channel: the tenant's channel (`channel_limits`), whose limits the menu and length
            warnings check and name. None: the flow alone, checked against WhatsApp's, the
            strictest.
    """
    collector = IssueCollector(
        source,
        lines,
        texts,
        continue_result_keys(spec),
        text_table=spec.text_table,
        data_keys=frozenset(data_keys_set(spec) | ENGINE_DATA_KEYS),
    )
    edges = list(_edges(spec))
    _check_targets(spec, edges, collector)
    _check_reachability(spec, edges, collector)
    _check_dead_ends(spec, collector)
    _check_missing_fallbacks(spec, collector)
    _check_llm_unanswered(spec, collector)
    check_silent_reentries(spec, collector)
    _check_next(spec, collector)
    _check_shadowed_transitions(spec, collector)
    check_unmatched_options(spec, collector)
    check_service_options(spec, collector)
    check_option_id_lengths(spec, collector, channel or WHATSAPP)
    check_transitions(spec, collector)
    connectors = DEFAULT_CONNECTOR_CATEGORIES if known_connectors is None else known_connectors
    operations = {**CATEGORY_OPERATIONS, **(known_operations or {})}
    check_actions(spec, collector, connectors, operations, bindings, channel=channel or WHATSAPP)
    _check_schedules(spec, collector)
    check_settings(spec, collector)
    check_texts(spec, collector)
    return sort_issues(collector.issues)


# ---------------------------------------------------------------- graph


def _next_routes(name: str, state: State) -> Iterator[tuple[str, str, str | None]]:
    """(path of the target, target, condition) for each way `next` can go."""
    path = key_path(state_path(name), "next")
    if isinstance(state.next, str):
        yield path, state.next, None
    elif state.next is not None:  # conditional branches: [{target, condition}]
        for index, route in enumerate(state.next):
            yield f"{index_path(path, index)}.target", route.target, route.condition


def _edges(spec: FlowSpec) -> Iterator[_Edge]:
    for index, transition in enumerate(spec.global_transitions):
        # `$current` stays in whatever state fires it: no state is reached, or left, by it.
        if transition.target != CURRENT_STATE:
            yield _Edge(f"global_transitions[{index}].target", None, transition.target)
    for name, state in spec.states.items():
        base = state_path(name)
        for index, transition in enumerate(state.transitions):
            yield _Edge(f"{base}.transitions[{index}].target", name, transition.target)
        if state.fallback is not None:
            yield _Edge(f"{base}.fallback", name, state.fallback)
        if state.llm_unanswered is not None:
            yield _Edge(key_path(base, "llm_unanswered"), name, state.llm_unanswered)
        for path, target, _ in _next_routes(name, state):
            yield _Edge(path, name, target)
        yield from _error_edges(f"{base}.on_enter", state.on_enter, name)
    for task, actions in spec.tasks.items():
        yield from _error_edges(key_path("tasks", task), actions, None)


def _error_edges(base: str, actions: list[Action], origin: str | None) -> Iterator[_Edge]:
    for index, action in enumerate(actions):
        if not isinstance(action, InvokeConnector) or action.on_error is None:
            continue
        path = f"{index_path(base, index)}.on_error"
        if isinstance(action.on_error, str):
            yield _Edge(path, origin, action.on_error)
        elif action.on_error.target is not None:
            yield _Edge(f"{path}.target", origin, action.on_error.target)


def _check_targets(spec: FlowSpec, edges: list[_Edge], collector: IssueCollector) -> None:
    if CURRENT_STATE in spec.states:
        collector.error(
            state_path(CURRENT_STATE),
            f"{CURRENT_STATE!r} is reserved: as a global transition's target it means the "
            "state the contact is in; give this state another name",
        )
    if spec.initial_state not in spec.states:
        hint = did_you_mean(spec.initial_state, spec.states)
        collector.error("initial_state", f"unknown state {spec.initial_state!r}{hint}")
    for edge in edges:
        if edge.target == CURRENT_STATE:
            collector.error(edge.path, _misplaced_current(edge.origin))
        elif edge.target not in spec.states:
            collector.error(
                edge.path, f"unknown state {edge.target!r}" + did_you_mean(edge.target, spec.states)
            )


def _misplaced_current(origin: str | None) -> str:
    """Said where `$current` is not a global transition's target: what to write instead."""
    where = "only a global transition's target"
    if origin is None:  # a task's on_error: a task may run in any state
        return f"{CURRENT_STATE!r} is {where} (the state the contact is in): name a state here"
    return (
        f"{CURRENT_STATE!r} is {where} (the state the contact is in): here that is always "
        f"{origin!r}, so name it"
    )


def _check_reachability(spec: FlowSpec, edges: list[_Edge], collector: IssueCollector) -> None:
    """Warn about states nothing leads to from the initial state.

    An unknown target (already an error) is taken to lead where its did-you-mean points, so a
    typo in one target does not also make every state behind it "unreachable". A state that
    only an unknown target suggesting no state might lead to is named in one warning on that
    target instead of one warning each.
    """
    if spec.initial_state not in spec.states:
        return  # already an error; every state would look unreachable
    routes: list[tuple[_Edge, str]] = []
    unresolved: list[_Edge] = []
    for edge in edges:
        if edge.target == CURRENT_STATE:
            continue  # an error already; it would name its own state, which adds no route
        target = edge.target if edge.target in spec.states else closest(edge.target, spec.states)
        if target is None:
            unresolved.append(edge)
        else:
            routes.append((edge, target))
    reached = {spec.initial_state} | {target for edge, target in routes if edge.origin is None}
    pending = list(reached)
    while pending:
        origin = pending.pop()
        for edge, target in routes:
            if edge.origin == origin and target not in reached:
                reached.add(target)
                pending.append(target)
    unreachable = [name for name in spec.states if name not in reached]
    if unresolved and unreachable:
        collector.warning(
            unresolved[0].path,
            f"no transition, fallback, next or on_error leads to {_names(unreachable)} from "
            f"the initial state {spec.initial_state!r}; not listed as unreachable one by one "
            "while a target names no state (it may be the way to them): fix the target first",
        )
        return
    for name in unreachable:
        collector.warning(
            state_path(name),
            f"state {name!r} is unreachable: no transition, fallback, next or on_error "
            f"leads to it from the initial state {spec.initial_state!r}",
        )


def _names(states: list[str]) -> str:
    shown = ", ".join(states[:5]) + (f" and {len(states) - 5} more" if len(states) > 5 else "")
    return f"state{'s' * (len(states) > 1)} {shown}"


def _check_dead_ends(spec: FlowSpec, collector: IssueCollector) -> None:
    if any(t.target != CURRENT_STATE for t in spec.global_transitions):
        return  # a global transition can leave any state
    # `$current` ones only enter the same state again.
    globals_ = (
        f"its global_transitions only enter it again ({CURRENT_STATE})"
        if spec.global_transitions
        else "the flow has no global_transitions"
    )
    for name, state in spec.states.items():
        if not state.transitions and state.fallback is None and state.next is None:
            collector.warning(
                state_path(name),
                f"state {name!r} can never be left: it has no transitions, fallback or next "
                f"and {globals_} (fine only for a final state)",
            )


def _check_missing_fallbacks(spec: FlowSpec, collector: IssueCollector) -> None:
    """A state that waits for the user, where a message nothing matches has nowhere to go."""
    if _catches_all(spec.global_transitions):
        return
    _check_initial_state_answers(spec, collector)
    for name, state in spec.states.items():
        if state.next is not None or _answers_anything(state):
            continue
        if not state.transitions:
            continue  # never left, or left only by global transitions: _check_dead_ends' case
        collector.warning(
            key_path(state_path(name), "fallback"),
            f"no fallback: a message no transition of {name!r} matches gets "
            f"settings.error_text and stays in {name!r}; add `fallback: {name}` to ask again",
        )


def _check_initial_state_answers(spec: FlowSpec, collector: IssueCollector) -> None:
    """A new contact is placed in `initial_state` without its `on_enter` (and so without its
    `next`): their first message is matched there. An initial state that only moves on with
    `next` answers it with the error text (a walk-through's first "olá" got "Desculpe, algo
    correu mal.")."""
    name = spec.initial_state
    state = spec.states.get(name)
    if state is None or state.next is None or _answers_anything(state):
        return
    collector.warning(
        key_path(state_path(name), "fallback"),
        f"no fallback: a new contact is placed in {name!r} without its on_enter or next, and "
        f"their first message, matched there, gets settings.error_text; add `fallback: "
        f"{name}` (its on_enter then runs for them)",
    )


def _check_llm_unanswered(spec: FlowSpec, collector: IssueCollector) -> None:
    """`llm_unanswered` only ever fires where the LLM is asked; `llm_unanswered_after` only
    counts for it. (Its target is checked with the other targets.)"""
    for name, state in spec.states.items():
        base = state_path(name)
        if state.llm_unanswered is not None and not state.llm_fallback:
            collector.warning(
                key_path(base, "llm_unanswered"),
                f"llm_unanswered is never entered: state {name!r} does not ask the LLM; add "
                "`llm_fallback: true` to it",
            )
        if state.llm_unanswered_after is not None and state.llm_unanswered is None:
            collector.warning(
                key_path(base, "llm_unanswered_after"),
                f"llm_unanswered_after counts for nothing: state {name!r} has no "
                "`llm_unanswered` state to enter",
            )


def _answers_anything(state: State) -> bool:
    """A message no trigger of `state` matches still has somewhere to go."""
    return state.fallback is not None or state.llm_fallback or _catches_all(state.transitions)


def _catches_all(transitions: Iterable[Transition]) -> bool:
    """One of `transitions` has neither trigger nor condition: it matches every message."""
    return any(not t.has_trigger and t.condition is None for t in transitions)


def _check_next(spec: FlowSpec, collector: IssueCollector) -> None:
    """Conditions of `next` branches parse; `next` cycles (flow-dsl.md, "Cycles of `next`").

    Whether a condition holds depends on data, connector results and the message, so it is
    never decided here: a cycle is an error only when it cannot be left whatever the conditions
    say, and a warning when only a condition can end it.
    """
    moves: dict[str, list[str]] = {}  # state -> the states its `next` may go to
    always: set[str] = set()  # states whose `next` always goes somewhere
    for name, state in spec.states.items():
        targets = moves.setdefault(name, [])
        for path, target, condition in _next_routes(name, state):
            if target in spec.states:  # unknown targets are reported by _check_targets
                targets.append(target)
            if condition is not None:
                check_condition(collector, f"{path.removesuffix('.target')}.condition", condition)
            else:
                always.add(name)
                break  # later branches never run
    trapped = _trapped(moves, always)
    for cycle in _next_cycles(moves):
        path = key_path(state_path(cycle[0]), "next")
        shown = " -> ".join([*cycle, cycle[0]])
        if cycle[0] in trapped:  # a cycle's states are all trapped or none is
            collector.error(path, f"'next' loops forever: {shown}")
        else:
            collector.warning(
                path,
                f"'next' cycle {shown} runs without waiting for the user until a 'next' "
                f"condition on it stops or leads out; a turn that enters more than {MAX_CHAIN} "
                "states is stopped with the error text",
            )


def _trapped(moves: Mapping[str, list[str]], always: set[str]) -> set[str]:
    """The states from which `next` goes on for ever: the largest set of states that always
    move on, each only to states of the set."""
    trapped = set(always)
    changed = True
    while changed:
        leaving = {name for name in trapped if any(t not in trapped for t in moves[name])}
        trapped -= leaving
        changed = bool(leaving)
    return trapped


def _next_cycles(moves: Mapping[str, list[str]]) -> Iterator[list[str]]:
    """One cycle per group of states that `next` can go round (a strongly connected
    component), in file order: the shortest one through the group's first state."""
    order = {name: i for i, name in enumerate(moves)}
    for group in sorted(_components(moves), key=lambda g: min(order[n] for n in g)):
        first = min(group, key=order.__getitem__)
        if len(group) == 1 and first not in moves[first]:
            continue  # a single state that does not go to itself is no cycle
        yield _shortest_cycle(first, moves, group)


def _shortest_cycle(first: str, moves: Mapping[str, list[str]], group: set[str]) -> list[str]:
    came_from: dict[str, str] = {}
    frontier = [first]
    while frontier:
        following: list[str] = []
        for name in frontier:
            for target in moves[name]:
                if target == first:
                    cycle = [name]
                    while cycle[-1] != first:
                        cycle.append(came_from[cycle[-1]])
                    return cycle[::-1]
                if target in group and target not in came_from:
                    came_from[target] = name
                    following.append(target)
        frontier = following
    raise AssertionError(f"{first} is in a cycle but none was found")


def _components(moves: Mapping[str, list[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components, iterative (a flow may have many states)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in moves:
        if root in index:
            continue
        work = [(root, iter(moves[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(moves[target])))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                found.append(group)
    return found


def _check_shadowed_transitions(spec: FlowSpec, collector: IssueCollector) -> None:
    for base, transitions in transition_lists(spec):
        catch_all: int | None = None
        for index, transition in enumerate(transitions):
            path = index_path(base, index)
            if catch_all is not None:
                above = transitions[catch_all].condition
                why = "no condition" if above is None else f"the condition {above!r}, always true"
                collector.warning(
                    path,
                    f"can never fire: {index_path(base, catch_all).rsplit('.', 1)[-1]} above it "
                    f"has no trigger and {why}, so it matches every message first",
                )
                continue
            condition = transition.condition
            truth = None if condition is None else constant_truth(condition)
            if truth is False:
                collector.warning(
                    f"{path}.condition",
                    f"can never fire: {condition!r} is always false, whatever the turn",
                )
            elif truth is True and transition.has_trigger:
                collector.warning(
                    f"{path}.condition",
                    f"{condition!r} is always true, whatever the turn: it checks nothing; "
                    "leave it out, or test what the turn brings (data.<key>, message.text)",
                )
            if not transition.has_trigger and (condition is None or truth is True):
                catch_all = index


# ---------------------------------------------------------------- standing schedules


def _check_schedules(spec: FlowSpec, collector: IssueCollector) -> None:
    schedules = spec.standing_schedules
    items = (
        [(key_path("standing_schedules", k), s) for k, s in schedules.items()]
        if isinstance(schedules, dict)
        else [(index_path("standing_schedules", i), s) for i, s in enumerate(schedules)]
    )
    for path, schedule in items:
        check_task_name(spec, schedule.task, f"{path}.task", collector)
        if schedule.cron is not None:
            _check_cron(schedule.cron, f"{path}.cron", collector)
        if schedule.interval is not None:
            check_duration(schedule.interval, f"{path}.interval", collector)
            _check_interval_positive(schedule.interval, f"{path}.interval", collector)
        _check_unrendered(schedule.data, f"{path}.data", collector)
        if schedule.contact_id is None or not schedule.contact_id.strip():
            collector.warning(
                path,
                "no contact_id: every run is skipped (logged task_without_contact), since a "
                "task runs in a contact's conversation; give the contact_id of whom it "
                "messages (the owner's number, say). To message each of many contacts, give "
                "each a task that schedules itself again (docs/scheduler.md)",
            )


def _check_interval_positive(interval: str, path: str, collector: IssueCollector) -> None:
    """`0m` parses as a duration, but a data plane refuses the schedule at boot (a rule that
    would run without pause) and `botfleet chat`/`test` never run it: an error here too."""
    try:
        if parse_duration(interval) <= timedelta(0):
            collector.error(path, f"{interval!r}: an interval must be longer than zero")
    except ValueError:
        pass  # `check_duration` said why


def _check_unrendered(value: Any, path: str, collector: IssueCollector) -> None:
    """A standing schedule's `data` reaches its task as written: `{{ today }}` there stays
    those characters. Said where it is written, with where templates do run."""
    for where, _text in templates_in(path, value):
        collector.warning(
            where,
            "a standing schedule's data is not rendered: the task gets this text as "
            "written; put the template in the task's actions ({{ today }} and {{ now }} "
            "are there), or give a plain value",
        )


#: The names a cron field takes besides numbers (`botfleet.domain.cron`), in English.
_CRON_NAMES = {
    "day-of-week": "day names are sun, mon, tue, wed, thu, fri, sat (or 0-7, 0 and 7 being "
    "Sunday), e.g. mon-fri",
    "month": "month names are jan, feb, mar, apr, may, jun, jul, aug, sep, oct, nov, dec (or 1-12)",
}


def _cron_names_hint(message: str) -> str:
    """The names a field accepts, when the error is a word it does not know (`lun-vie`)."""
    if "is not a number or a name" not in message:
        return ""
    for field, names in _CRON_NAMES.items():
        if f"{field} field" in message:
            return f": {names}"
    return ": this field takes numbers only"


#: Any fixed start will do: a rule that fires at all fires within 28 years of any moment, and
#: a fixed one keeps validation independent of the clock.
_CRON_PROBE_START = datetime(2000, 1, 1, tzinfo=UTC)


def _check_cron(expression: str, path: str, collector: IssueCollector) -> None:
    """The scheduler's own parser, so a rule it would drop at boot fails here first."""
    try:
        # The zone cannot be known here (it is the tenant's), and it changes neither whether a
        # rule parses nor whether it ever fires: only the instants.
        rule = parse_cron(expression, "UTC")
    except ValueError as exc:
        message = str(exc)
        if not message.startswith(repr(expression)):
            message = f"{expression!r}: {message}"
        collector.error(path, f"cron {message}{_cron_names_hint(message)}")
        return
    if rule.next_after(_CRON_PROBE_START, inclusive=True) is None:
        collector.error(path, f"cron {expression!r} never fires (no such date)")
