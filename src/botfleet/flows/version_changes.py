"""What publishing a flow version does to conversations under way. Pure: two FlowSpecs in,
warnings out; nothing is read from a data plane.

A publish swaps the flow under running conversations (docs/flow-dsl.md, "Publishing a new
version while conversations are running"). Three things bite, each visible in the two texts:

- `state_removed`: a state contacts can wait in is gone; their next message restarts them
  at `initial_state` and the answer they gave is lost.
- `task_removed`: a task the live version schedules is gone; reminders it scheduled send
  nothing when due.
- `task_data_missing`: a task the live version schedules now reads a `data` key that neither
  the reminders it scheduled carry nor it ever sets: the value renders empty in them.

The list is bounded, whatever the flows: it is answered, stored in the audit entry and printed,
and a tenant writes both flows. At most `MAX_LISTED_CHANGES` are listed, then one
`more_changes` counts the others; a name (state, task, data key) longer than
`MAX_QUOTED_NAME` is cut, since each change quotes one and a state_removed names the new
`initial_state` too (thousands of states removed by a flow whose initial state has a name of
100 kB would otherwise answer gigabytes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, nodes

from botfleet.flows._settings_checks import ENGINE_DATA_KEYS
from botfleet.flows._spec_walk import iter_actions, iter_transitions
from botfleet.flows.render import is_template
from botfleet.flows.schema import Action, FlowSpec, InvokeConnector, ScheduleTask, SetData
from botfleet.flows.yaml_lines import index_path, key_path

#: Filters and tests that make a missing value harmless: `data.x | default('...')`,
#: `data.x is defined`.
_GUARDING_FILTERS = frozenset({"default", "d"})
_GUARDING_TESTS = frozenset({"defined", "undefined", "none"})
# Only parses (never renders): the flows' sandboxed environment, with its budgets, is not
# needed, and the syntax is Jinja's default in both.
_PARSER = Environment(autoescape=False)
#: Most changes listed for one publish; the others are counted in one `more_changes`.
MAX_LISTED_CHANGES = 100
#: Longest name quoted in a change's path or message; a longer one is cut, ending in "…".
MAX_QUOTED_NAME = 80


@dataclass(frozen=True, slots=True)
class VersionChange:
    """One way publishing a version affects conversations under way."""

    code: str  # state_removed | task_removed | task_data_missing | more_changes
    path: str  # where, in the flow of the version it is about (e.g. states.ASK_DAY)
    message: str  # what happens, in one sentence

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def version_changes(live: FlowSpec, new: FlowSpec) -> tuple[VersionChange, ...]:
    """What replacing the `live` version by `new` does to contacts the live one is serving:
    removed states first, then removed tasks, then the data keys tasks lose; at most
    `MAX_LISTED_CHANGES` of them, then one `more_changes` counting the others by code."""
    found = chain(
        _removed_states(live, new), _removed_tasks(live, new), _missing_task_data(live, new)
    )
    listed = tuple(islice(found, MAX_LISTED_CHANGES))
    rest = Counter(change.code for change in found)
    if not rest:
        return listed
    return (*listed, _more_changes(rest))


def _more_changes(rest: Counter[str]) -> VersionChange:
    counts = ", ".join(f"{count} {code}" for code, count in sorted(rest.items()))
    return VersionChange(
        "more_changes",
        "flow",
        f"{rest.total()} more changes are not listed ({counts}); the first "
        f"{MAX_LISTED_CHANGES} are above: botfleet cp flows diff shows the versions' differences",
    )


def _quoted(name: str) -> str:
    """`name` as a change quotes it: cut to `MAX_QUOTED_NAME` characters."""
    return name if len(name) <= MAX_QUOTED_NAME else f"{name[: MAX_QUOTED_NAME - 1]}…"


def _removed_states(live: FlowSpec, new: FlowSpec) -> Iterator[VersionChange]:
    initial = _quoted(new.initial_state)
    for name, state in live.states.items():
        # A state with a plain `next` moves on in the same turn: nobody is left waiting in it.
        if name in new.states or isinstance(state.next, str):
            continue
        yield VersionChange(
            "state_removed",
            key_path("states", _quoted(name)),
            f"contacts waiting in it restart at {initial}: their next message is "
            "answered as a new contact's first one, so what they answer is lost (keep the "
            "state until they have answered, or set settings.restart_text to tell them)",
        )


def _removed_tasks(live: FlowSpec, new: FlowSpec) -> Iterator[VersionChange]:
    scheduled = _scheduled_tasks(live)
    # A task only standing schedules run leaves no reminder behind: they are re-synced at the
    # swap, and dropped ones removed.
    standing = {schedule.task for _, schedule in live.schedules} - scheduled.keys()
    for name in live.tasks:
        if name in new.tasks or name in standing:
            continue
        task = _quoted(name)
        yield VersionChange(
            "task_removed",
            key_path("tasks", task),
            "pending reminders of this task will send nothing when due (logged as "
            f"unknown_task); keep the task until they have run (GET /tasks?task={task} lists "
            "them)",
        )


def _missing_task_data(live: FlowSpec, new: FlowSpec) -> Iterator[VersionChange]:
    written = _contact_keys(live) | ENGINE_DATA_KEYS
    for task, carried in _scheduled_tasks(live).items():
        actions = new.tasks.get(task)
        if actions is None:
            continue  # reported as task_removed
        # A key the live task already read is no change: its reminders render as they did.
        before = {key for action in live.tasks.get(task, ()) for key in _data_keys_read(action)}
        known = written | carried | before | _keys_set_by(actions)
        reported: set[str] = set()
        for index, action in enumerate(actions):
            for key in sorted(_data_keys_read(action, unguarded=True) - known - reported):
                reported.add(key)
                read = f"data.{_quoted(key)}"
                yield VersionChange(
                    "task_data_missing",
                    index_path(key_path("tasks", _quoted(task)), index),
                    f"reads {read}, which reminders the live version scheduled do not "
                    f"carry and it never sets: it renders empty in them (give it a default: "
                    f"{{{{ {read} | default('...') }}}})",
                )


def _scheduled_tasks(spec: FlowSpec) -> dict[str, set[str]]:
    """Each task `schedule_task` actions schedule, with the `data` keys every one of them
    carries (a key only some carry is missing from the others' reminders)."""
    carried: dict[str, set[str]] = {}
    for _, action in iter_actions(spec):
        if isinstance(action, ScheduleTask):
            keys = {key.split(".", 1)[0] for key in action.data}
            seen = carried.get(action.task)
            carried[action.task] = keys if seen is None else seen & keys
    return carried


def _contact_keys(spec: FlowSpec) -> set[str]:
    """Top-level keys the flow writes into a contact's own `data`: `data_keys_written`
    without the `data` a `schedule_task` carries, which only its job holds."""
    keys = _keys_set_by([action for _, action in iter_actions(spec)])
    extracts = False
    for _, transition in iter_transitions(spec):
        keys.update(key.split(".", 1)[0] for key in transition.set_data)
        if transition.extract_suffix_as:
            keys.add(transition.extract_suffix_as)
            extracts = True
    if extracts:  # an extracted service key copies each property p to `service_<p>`
        keys.update(f"service_{p}" for service in spec.services.values() for p in service)
    return keys


def _keys_set_by(actions: list[Action]) -> set[str]:
    """Top-level keys `actions` write into `data` (set_data, a connector's or a
    schedule_task's result_key)."""
    keys: set[str] = set()
    for action in actions:
        if isinstance(action, SetData):
            keys.update(key.split(".", 1)[0] for key in action.values)
        elif isinstance(action, InvokeConnector | ScheduleTask) and action.result_key:
            keys.add(action.result_key.split(".", 1)[0])
    return keys


def _data_keys_read(action: Action, *, unguarded: bool = False) -> set[str]:
    """Top-level `data` keys the action's templates read; with `unguarded`, only those read
    without a guard (a `default`, an `is defined`, an `if` on the key)."""
    keys: set[str] = set()
    for source in _template_strings(action.model_dump(exclude={"action"})):
        try:
            tree = _PARSER.parse(source)
            keys |= _unguarded_data_reads(tree) if unguarded else _all_data_keys(tree)
        except (TemplateSyntaxError, RecursionError):
            continue  # the validator reports a broken template; nothing to compare here
    return keys


def _template_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if is_template(value):
            yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _template_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _template_strings(item)


def _unguarded_data_reads(tree: nodes.Node) -> set[str]:
    found: set[str] = set()
    # Walked with a stack, not recursion: a deeply nested template must not overflow. Each
    # node carries whether a missing value there is handled, and the keys an enclosing `if`
    # tested (`{% if data.x %}{{ data.x }}{% endif %}` prints nothing when x is missing).
    stack: list[tuple[nodes.Node, bool, frozenset[str]]] = [(tree, False, frozenset())]
    while stack:
        node, guarded, tested = stack.pop()
        key = _data_key(node)
        if key is not None:
            if not guarded and key not in tested:
                found.add(key)
            continue
        if isinstance(node, nodes.If | nodes.CondExpr):
            tested = tested | _all_data_keys(node.test)
        for child in node.iter_child_nodes():
            stack.append((child, guarded or _guards(node, child), tested))
    return found


def _all_data_keys(node: nodes.Node) -> frozenset[str]:
    found = {_data_key(n) for n in (node, *node.find_all((nodes.Getattr, nodes.Getitem)))}
    return frozenset(key for key in found if key is not None)


def _data_key(node: nodes.Node) -> str | None:
    """`x` of `data.x` or `data['x']`."""
    if isinstance(node, nodes.Getattr) and _is_data(node.node):
        return node.attr
    if (
        isinstance(node, nodes.Getitem)
        and _is_data(node.node)
        and isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
    ):
        return node.arg.value
    return None


def _is_data(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Name) and node.name == "data"


def _guards(parent: nodes.Node, child: nodes.Node) -> bool:
    """Whether a missing value in `child` is handled by `parent`."""
    if isinstance(parent, nodes.Filter) and parent.name in _GUARDING_FILTERS:
        return child is parent.node
    if isinstance(parent, nodes.Test) and parent.name in _GUARDING_TESTS:
        return child is parent.node
    if isinstance(parent, nodes.If | nodes.CondExpr):
        return child is parent.test
    return False
