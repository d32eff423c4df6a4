"""Iterates the actions and transitions of a FlowSpec with their DSL paths. Pure."""

from __future__ import annotations

from collections.abc import Iterator

from botfleet.flows.schema import Action, FlowSpec, Transition
from botfleet.flows.yaml_lines import index_path, key_path


def state_path(name: str) -> str:
    return key_path("states", name)


def iter_actions(spec: FlowSpec) -> Iterator[tuple[str, Action]]:
    """Every action with its path: states' `on_enter` lists first, then tasks."""
    for name, state in spec.states.items():
        base = key_path(state_path(name), "on_enter")
        for index, action in enumerate(state.on_enter):
            yield index_path(base, index), action
    for task, actions in spec.tasks.items():
        base = key_path("tasks", task)
        for index, action in enumerate(actions):
            yield index_path(base, index), action


def transition_lists(spec: FlowSpec) -> Iterator[tuple[str, list[Transition]]]:
    """Each ordered transition list with its path: the global one first, then each state's."""
    yield "global_transitions", spec.global_transitions
    for name, state in spec.states.items():
        yield key_path(state_path(name), "transitions"), state.transitions


def iter_transitions(spec: FlowSpec) -> Iterator[tuple[str, Transition]]:
    for base, transitions in transition_lists(spec):
        for index, transition in enumerate(transitions):
            yield index_path(base, index), transition
