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

Also: literal ids longer than the tenant's channel carries as they are (`check_option_id_lengths`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

from botfleet.domain.degrade import shorten
from botfleet.domain.messages import MessageType
from botfleet.flows._issues import IssueCollector
from botfleet.flows._send_template_checks import MAX_TEMPLATE_PAYLOAD
from botfleet.flows._spec_walk import iter_actions, state_path
from botfleet.flows.channel_limits import ChannelLimits
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


# ---------------------------------------------------------------- id lengths

_Form = Literal["buttons", "list"]


def check_option_id_lengths(
    spec: FlowSpec, collector: IssueCollector, channel: ChannelLimits
) -> None:
    """Warn for each literal id longer than the channel's press carries as it is.

    The adapters never send such an id: they send the option by its position in its menu and
    the menu's fingerprint (`#opt<n>.<fingerprint>`, `adapters.channels.option_ids`), which the
    engine reads as that option only while that menu is the last one shown; a press of an
    older menu gets the state's fallback (else `settings.error_text`). Measured in the form the
    options go out in (`botfleet.domain.degrade`): WhatsApp buttons over 3, or whose titles read
    the same, go as list rows (200 characters, not a button's 256); as numbered text no id is
    sent. Ids that are templates (and `send_dynamic_options`) are only known at run time.

    Telegram's limit is 64 bytes of `callback_data`, for buttons, rows and a template's quick
    replies (sent as buttons of its fallback text on a channel without templates). On WhatsApp
    quick replies go in the template, whose payloads are kept to 256 characters (an error of
    `_send_template_checks`).
    """
    caps = channel.capabilities
    for path, action in iter_actions(spec):
        if isinstance(action, SendButtons):
            ids = [b.id for b in action.buttons]
            form = _form(channel, [(b.id, b.title) for b in action.buttons])
            paths = [f"{path}.buttons[{i}].id" for i in range(len(ids))]
            _warn_long_ids(ids, paths, form, channel, collector, buttons=len(ids))
        elif isinstance(action, SendList):
            ids, paths = [], []
            for s, section in enumerate(action.sections):
                for r, row in enumerate(section.rows):
                    ids.append(row.id)
                    paths.append(f"{path}.sections[{s}].rows[{r}].id")
            fits = caps.lists and len(dict.fromkeys(ids)) <= caps.max_list_rows
            _warn_long_ids(ids, paths, "list" if fits else None, channel, collector)
        elif isinstance(action, SendTemplate) and not caps.templates:
            _check_quick_reply_ids(action, path, channel, collector)


def _check_quick_reply_ids(
    action: SendTemplate, path: str, channel: ChannelLimits, collector: IssueCollector
) -> None:
    """A template's quick replies as the buttons of its fallback text (`degrade`)."""
    titles = action.button_titles
    shown: list[tuple[str, str]] = []
    ids: list[str] = []
    paths: list[str] = []
    for index, payload in enumerate(action.button_payloads):
        if payload is None or not payload.strip():
            continue  # no button there (an empty one is an error)
        title = titles[index] if index < len(titles) else None
        shown.append((payload, title or ""))
        if len(payload) <= MAX_TEMPLATE_PAYLOAD:  # a longer one is an error already
            ids.append(payload)
            paths.append(f"{path}.button_payloads[{index}]")
    form = _form(channel, shown)
    _warn_long_ids(ids, paths, form, channel, collector, buttons=len(shown), quick_replies=True)


def _form(channel: ChannelLimits, options: list[tuple[str, str]]) -> _Form | None:
    """How buttons (id, title) go out on `channel`: as buttons, as a list's rows, or as
    numbered text (None), as `degrade` decides. Titles only known once rendered are taken to
    differ (the buttons form, the one with the higher limit)."""
    caps = channel.capabilities
    count = len(dict.fromkeys(option_id for option_id, _ in options))
    if caps.buttons and count <= caps.max_buttons:
        limit = caps.max_button_title
        keys = [" ".join(shorten(t.strip() or i.strip(), limit).split()) for i, t in options]
        unknown = any(_is_template(i) or _is_template(t) for i, t in options)
        if unknown or len(set(keys)) == len(keys):
            return "buttons"
    if caps.lists and count <= caps.max_list_rows:
        return "list"
    return None


def _warn_long_ids(
    ids: list[str],
    paths: list[str],
    form: _Form | None,
    channel: ChannelLimits,
    collector: IssueCollector,
    *,
    buttons: int = 0,
    quick_replies: bool = False,
) -> None:
    """`buttons`: how many buttons `ids` are (0: list rows), said when they go out as a list;
    `quick_replies`: a template's (buttons of its fallback text)."""
    if form is None:
        return  # numbered text: no id is sent
    chars = channel.max_button_id if form == "buttons" else channel.max_row_id
    most_bytes = channel.max_option_id_bytes
    for option_id, path in zip(ids, paths, strict=True):
        if _is_template(option_id):
            continue
        size, encoded = len(option_id), len(option_id.encode("utf-8", "surrogatepass"))
        if chars is not None and size > chars:
            limit, unit = chars, "characters"
            what = "a reply button's id" if form == "buttons" else "a list row's id"
            if buttons and form == "list":
                what += f" (these {buttons} buttons go out as a list there)"
        elif most_bytes is not None and encoded > most_bytes:
            size, limit, unit = encoded, most_bytes, "bytes"
            what = (
                "a button's id (a quick reply is a button of the template's fallback text there)"
                if quick_replies
                else "its option's id"
            )
        else:
            continue
        collector.warning(
            path,
            f"{size} {unit}: a press on {channel.name} carries at most {limit} {unit} of "
            f"{what}, so it sends this one by its position instead (`#opt<n>.<fingerprint>`), "
            "which picks it from the menu shown last only (a press of an older menu goes to the "
            f"state's fallback, else settings.error_text); an id of at most {limit} {unit} is "
            "sent as it is",
        )
