"""Static check: every button and list row a state offers can be matched by a transition.

A tap sends the option's id as the message's payload. It is answered in the state where the
conversation then waits: the state that sent the options, or the end of its chain of `next`
moves (a state may show buttons and move on to the menu, whose transitions take the tap). When
no transition there (nor a global one) can match the id, the tap falls to the fallback or the
error text: almost always a typo in the id or in `on_payload`, which nothing else reports.

A task's options (a reminder's buttons, its template's quick replies) are answered in whatever
state the contact is in when the tap comes: a tap is reported only when no transition of any
state, nor a global one, can match it.

Only what can be decided without running the flow is reported: ids that are templates,
transitions with a condition (it may hold) and chains through a conditional `next` are taken
to match, so the check never warns about a flow that works.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from botfleet.domain.messages import MessageType
from botfleet.flows._issues import IssueCollector
from botfleet.flows._spec_walk import state_path
from botfleet.flows.schema import (
    Action,
    FlowSpec,
    SendButtons,
    SendList,
    SendTemplate,
    State,
    Transition,
)
from botfleet.flows.yaml_lines import index_path, key_path

_BUTTON = MessageType.BUTTON_REPLY


def check_unmatched_options(spec: FlowSpec, collector: IssueCollector) -> None:
    """Warn for each literal button, row or quick-reply id that the waiting state (any state,
    for a task's) can never match."""
    for name, state in spec.states.items():
        waiting = _waiting_state(spec, name)
        if waiting is None:
            continue
        transitions = [*spec.states[waiting].transitions, *spec.global_transitions]
        base = key_path(state_path(name), "on_enter")
        for path, option_id, kind in _offered(base, state.on_enter):
            if _is_template(option_id) or any(_may_match(t, option_id, kind) for t in transitions):
                continue
            where = (
                ""
                if waiting == name
                else f" (the state {name!r} moves on to with `next`, where taps are answered)"
            )
            collector.warning(
                path,
                f"{_noun(kind, path)} {option_id!r} is matched by no transition of {waiting!r}"
                f"{where} nor by a global transition: a tap on it "
                f"{_outcome(spec.states[waiting])}",
            )
    _check_task_options(spec, collector)


def _check_task_options(spec: FlowSpec, collector: IssueCollector) -> None:
    everywhere = [t for state in spec.states.values() for t in state.transitions]
    transitions = [*everywhere, *spec.global_transitions]
    for task, actions in spec.tasks.items():
        for path, option_id, kind in _offered(key_path("tasks", task), actions):
            if _is_template(option_id) or any(_may_match(t, option_id, kind) for t in transitions):
                continue
            collector.warning(
                path,
                f"{_noun(kind, path)} {option_id!r}, sent by task {task!r}, is matched by no "
                "transition of any state nor by a global transition: a tap on it goes to the "
                "fallback of the state the contact is in (else settings.error_text); answer "
                "it with a global transition",
            )


def _noun(kind: MessageType, path: str) -> str:
    if kind is MessageType.LIST_REPLY:
        return "list row"
    return "quick reply" if ".button_payloads[" in path else "button"


def _offered(base: str, actions: Sequence[Action]) -> Iterator[tuple[str, str, MessageType]]:
    """(path of the id, id, the tap's message type) of each option `actions` send."""
    for index, action in enumerate(actions):
        path = index_path(base, index)
        if isinstance(action, SendTemplate):
            # A quick reply of a template arrives as a button reply carrying its payload (on
            # channels without templates, a button of the fallback text carrying the same).
            for number, payload in enumerate(action.button_payloads):
                if payload is not None and payload.strip():  # an empty one is an error
                    yield index_path(f"{path}.button_payloads", number), payload, _BUTTON
        elif isinstance(action, SendButtons):
            for number, button in enumerate(action.buttons):
                yield (
                    f"{index_path(f'{path}.buttons', number)}.id",
                    button.id,
                    _BUTTON,
                )
        elif isinstance(action, SendList):
            for section_index, section in enumerate(action.sections):
                rows = f"{index_path(f'{path}.sections', section_index)}.rows"
                for number, row in enumerate(section.rows):
                    yield f"{index_path(rows, number)}.id", row.id, MessageType.LIST_REPLY


def _waiting_state(spec: FlowSpec, name: str) -> str | None:
    """The state whose transitions take a tap on `name`'s options: the end of its chain of
    unconditional `next` moves; None when a conditional `next`, a loop or an unknown state
    makes it undecidable (other checks report the last two)."""
    seen = {name}
    current = name
    while True:
        following = spec.states[current].next
        if following is None:
            return current
        if not isinstance(following, str) or following not in spec.states:
            return None
        if following in seen:
            return None
        seen.add(following)
        current = following


def _may_match(transition: Transition, payload: str, kind: MessageType) -> bool:
    """Whether `transition` can fire for a tap with `payload`, its condition taken to hold."""
    if transition.on_payload is not None and not (
        _is_template(transition.on_payload) or transition.on_payload == payload
    ):
        return False
    prefix = transition.on_payload_prefix
    if prefix is not None and not (
        _is_template(prefix) or (payload.startswith(prefix) and len(payload) > len(prefix))
    ):
        return False
    if transition.on_type is not None:
        try:
            if MessageType.parse(transition.on_type) is not kind:
                return False
        except ValueError:
            return True  # an unknown type is reported by the transition checks
    return True


def _outcome(state: State) -> str:
    if state.fallback is not None:
        return f"goes to its fallback {state.fallback!r}"
    if state.llm_fallback:
        return "is answered by the LLM fallback"
    return "gets settings.error_text"


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text
