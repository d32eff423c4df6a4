"""Warnings about a transition that enters again a state that says nothing on entry. Pure.

A transition never sends anything itself (it has only `set_data`): what the contact gets when
one fires is what entering its target sends, its `on_enter` and where its `next` leads.
Entering again the state the contact is in (`target: $current` in `global_transitions`, or a
state's own transition naming that state) is how a flow asks a question again; a state with
no `on_enter` (or one that only sets data) and no `next` then answers with nothing at all: a
"français" typed in a waiting state, a "help" that targets its own state. No `error_text` is
sent either, since a transition fired.

Only what surely sends nothing is warned about, so that no working flow is: an `on_enter` with
any other action (a message, a connector call whose `on_error` may speak) and any `next` count
as answering. A `fallback` naming its own state is left alone: in a state that sends nothing,
it is how a flow stays quiet on purpose (a contact talking with the team), where no fallback
would send `error_text`.
"""

from __future__ import annotations

from botfleet.flows._issues import IssueCollector
from botfleet.flows._spec_walk import state_path
from botfleet.flows.schema import CURRENT_STATE, FlowSpec, SetData, State
from botfleet.flows.yaml_lines import index_path, key_path

#: States named in one warning before "and N more".
_SHOWN = 5


def check_silent_reentries(spec: FlowSpec, collector: IssueCollector) -> None:
    """Warn at each transition that can enter again a state sending nothing: every global one
    with `target: $current` (it fires in whatever state the contact is in), and a state's own
    transition whose target is that state."""
    silent = [name for name, state in spec.states.items() if says_nothing(state)]
    if not silent:
        return
    for index, transition in enumerate(spec.global_transitions):
        if transition.target == CURRENT_STATE:
            path = f"{index_path('global_transitions', index)}.target"
            collector.warning(path, _current_message(spec, silent))
    for name in silent:
        base = key_path(state_path(name), "transitions")
        for index, transition in enumerate(spec.states[name].transitions):
            if transition.target == name:
                collector.warning(f"{index_path(base, index)}.target", _own_message(name))


def says_nothing(state: State) -> bool:
    """Entering `state` surely sends nothing: no `next`, and no `on_enter` action but
    `set_data`."""
    return state.next is None and all(isinstance(action, SetData) for action in state.on_enter)


def _own_message(name: str) -> str:
    return (
        f"this transition enters {name!r} again, which sends nothing (no on_enter that sends "
        f"a message, no next): the contact gets no answer at all, not even "
        f"settings.error_text; give {name!r} an on_enter that asks again, or target a state "
        "that says something"
    )


def _current_message(spec: FlowSpec, silent: list[str]) -> str:
    shown = ", ".join(repr(name) for name in silent[:_SHOWN])
    if len(silent) > _SHOWN:
        shown += f" and {len(silent) - _SHOWN} more"
    states = f"state{'s' * (len(silent) > 1)} {shown}"
    initial = (
        f" (a new contact's first message is matched in {spec.initial_state!r}, the initial state)"
        if spec.initial_state in silent
        else ""
    )
    return (
        f"{CURRENT_STATE} enters again the state the contact is in, and entering {states} "
        f"sends nothing (no on_enter that sends a message, no next): a contact there gets no "
        f"answer at all{initial}; give each an on_enter that asks again, or a next to a state "
        "that does"
    )
