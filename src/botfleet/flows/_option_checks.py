"""Static check: every button and list row a state offers can be matched by a transition.

A tap sends the option's id as the message's payload. It is answered in the state where the
conversation then waits: the state that sent the options, or the end of its chain of `next`
moves (a state may show buttons and move on to the menu, whose transitions take the tap). When
no transition there (nor a global one) can match the id, the tap falls to the fallback or the
error text: almost always a typo in the id or in `on_payload`, which nothing else reports.

Only what can be decided without running the flow is reported: ids that are templates,
transitions with a condition (it may hold) and chains through a conditional `next` are taken
to match, so the check never warns about a flow that works.
"""

from __future__ import annotations

from collections.abc import Iterator

from botfleet.domain.messages import MessageType
from botfleet.flows._issues import IssueCollector
from botfleet.flows._spec_walk import state_path
from botfleet.flows.schema import FlowSpec, SendButtons, SendList, State, Transition
from botfleet.flows.yaml_lines import index_path, key_path


def check_unmatched_options(spec: FlowSpec, collector: IssueCollector) -> None:
    """Warn for each literal button or row id that the waiting state can never match."""
    for name, state in spec.states.items():
        waiting = _waiting_state(spec, name)
        if waiting is None:
            continue
        transitions = [*spec.states[waiting].transitions, *spec.global_transitions]
        for path, option_id, kind in _offered(name, state):
            if _is_template(option_id) or any(_may_match(t, option_id, kind) for t in transitions):
                continue
            where = (
                ""
                if waiting == name
                else f" (the state {name!r} moves on to with `next`, where taps are answered)"
            )
            what = "button" if kind is MessageType.BUTTON_REPLY else "list row"
            collector.warning(
                path,
                f"{what} {option_id!r} is matched by no transition of {waiting!r}{where} nor "
                f"by a global transition: a tap on it {_outcome(spec.states[waiting])}",
            )


def _offered(name: str, state: State) -> Iterator[tuple[str, str, MessageType]]:
    """(path of the id, id, the tap's message type) of each option `state` sends on entry."""
    base = key_path(state_path(name), "on_enter")
    for index, action in enumerate(state.on_enter):
        path = index_path(base, index)
        if isinstance(action, SendButtons):
            for number, button in enumerate(action.buttons):
                yield (
                    f"{index_path(f'{path}.buttons', number)}.id",
                    button.id,
                    MessageType.BUTTON_REPLY,
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
