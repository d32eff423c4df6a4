"""Flow engine: the pure step function. No I/O, no clock, no framework imports.

    step(flow, state, event, now, ctx) -> StepResult(new state, outputs, effects, diagnostics)

A connector call stops the step with `state.awaiting` set and a `CallConnector` effect; the shell
performs it and calls `step` again with `ConnectorReplied`/`ConnectorFailed`. A question for the
LLM is an `AskLLM` effect; in a state with `llm_unanswered` the shell, once the reply is sent,
calls `step` again with `LLMReplied`, and the engine decides whether the contact moves.

`now` is the clock (templates' `now`, the session timeout, the history); `delay_from` is the
moment the turn stands for, the same each time the turn runs: a `schedule_task` `delay` counts
from it, so a turn run again after a crash asks for the same due time. The shell gives the
message's reception (as journaled) or the task run's moment, to every step of the turn.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, assert_never

from botfleet.domain.built_in_texts import built_in_texts
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import Text
from botfleet.domain.texts_by_language import text_in_language
from botfleet.flows import effects, schema
from botfleet.flows.actions import enter, program, run_program
from botfleet.flows.durations import parse_duration
from botfleet.flows.effects import Diagnostic
from botfleet.flows.events import (
    ConnectorFailed,
    ConnectorReplied,
    Event,
    LLMReplied,
    MessageReceived,
    TaskFired,
)
from botfleet.flows.matching import as_option_choice, matches, suffix_of
from botfleet.flows.per_flow import PerFlow
from botfleet.flows.schedule_window import SchedulerInfo
from botfleet.flows.state import ConversationState, Resume, new_state
from botfleet.flows.static_options import static_option_title
from botfleet.flows.turn import (
    LLM_UNANSWERED_COUNT,
    StepContext,
    StepResult,
    TenantInfo,
    TurnBuilder,
)

_Candidate = tuple[str, schema.Transition]

__all__ = ["SchedulerInfo", "StepContext", "StepResult", "TenantInfo", "start_state", "step"]


def start_state(
    flow: schema.FlowSpec, tenant_id: str, contact_id: str, now: datetime
) -> ConversationState:
    """A new contact sits in `initial_state` without its `on_enter` having run."""
    return new_state(tenant_id, contact_id, flow.initial_state, now, flow.id)


def step(
    flow: schema.FlowSpec,
    state: ConversationState,
    event: Event,
    now: datetime,
    ctx: StepContext | None = None,
    *,
    delay_from: datetime | None = None,
) -> StepResult:
    """One step; `delay_from` (aware; default `now`): what a `delay` counts from."""
    ctx = ctx or StepContext()
    match event:
        case MessageReceived(message=message):
            return _on_message(flow, state, message, now, ctx, delay_from)
        case ConnectorReplied() | ConnectorFailed():
            return _on_connector(flow, state, event, now, ctx, delay_from)
        case LLMReplied():
            return _on_llm_reply(flow, state, event, now, ctx, delay_from)
        case TaskFired():
            return _on_task(flow, state, event, now, ctx, delay_from)
        case _:
            assert_never(event)


_PRESSES = (MessageType.BUTTON_REPLY, MessageType.LIST_REPLY)


def _named_press(flow: schema.FlowSpec, message: InboundMessage) -> InboundMessage:
    """A press its menu no longer names (a task's message cleared it, the provider sent it
    without its label): the flow's own options name it, for `message.option_title`, its text
    and the LLM's history ("English", not "lang_en")."""
    if not message.payload or message.option_title or message.type not in _PRESSES:
        return message
    title = static_option_title(flow, message.payload)
    if title is None:
        return message
    return replace(message, text=message.text or title, option_title=title)


def _on_message(
    flow: schema.FlowSpec,
    state: ConversationState,
    message: InboundMessage,
    now: datetime,
    ctx: StepContext,
    delay_from: datetime | None,
) -> StepResult:
    state, reset = _known_node(flow, state)
    fresh = _expire_session(flow, state, now)
    # A session that timed out starts over like a new contact, whose first message reaches
    # the initial state's fallback (its menu), never the LLM: the text answered a question
    # the bot asked hours ago (flow-dsl.md, "New contacts" and `session_timeout`).
    expired, state = fresh is not state, fresh
    if state.awaiting is not None:  # a turn cut short by a crash is abandoned
        state = replace(state, awaiting=None)
    message = as_option_choice(
        message,
        state.last_options,
        from_list=state.last_options_list,
        today=ctx.tenant.local_time(now).date(),
    )
    message = _named_press(flow, message)
    turn = TurnBuilder(flow, state, now, ctx, message, delay_from=delay_from)
    turn.diagnostics.extend(reset)
    if message.contact_name:
        turn.set_data({"contact_name": message.contact_name})
    turn_id = message.message_id
    current = flow.states[state.node]
    renderer = turn.renderer()
    for where, transition in _candidates(flow, state.node):
        if matches(transition, message, renderer, where):
            if reset:
                _say_restart(turn)
            turn.fired.append(where)
            _fire(turn, transition, message, where)
            # `$current` is the state matched against: a new contact's, a restarted or
            # timed-out one's is `initial_state`, entered then (its `on_enter` included).
            target = state.node if transition.target == schema.CURRENT_STATE else transition.target
            enter(turn, target, origin=state.node, chain=(), turn_id=turn_id)
            return turn.result()
    if message.type is MessageType.REACTION:
        # A 👍 on the bot's last message (or taking one back) is not an answer: sending the
        # contact to the fallback or the error text would answer a reaction with "I didn't
        # understand". Flows that want reactions match them with `on_type: reaction`.
        return turn.result()
    if reset:
        _say_restart(turn)
    if message.type in _UNREAD_TYPES:
        _say_unread(turn)
    # A contact restarted because their state is gone (a new flow version) is answered as a
    # new contact's first message is: the text was meant for a question the flow no longer
    # asks, and the initial state's fallback (its menu) says where they are; an LLM answer
    # to it would not.
    if (
        current.llm_fallback
        and ctx.llm_available
        and not reset
        and not expired
        and _is_question(message, state)
        and (_has_words(message.text) or not (current.fallback or flow.settings.error_text))
    ):
        turn.fired.append(f"states.{state.node}.llm_fallback")
        turn.effects.append(_question(turn, state.node, message))
    elif current.fallback:
        turn.fired.append(f"states.{state.node}.fallback")
        enter(turn, current.fallback, origin=state.node, chain=(), turn_id=turn_id)
    elif flow.settings.error_text:
        turn.say(Text(flow.settings.error_text))
    return turn.result()


def _question(turn: TurnBuilder, node: str, message: InboundMessage) -> effects.AskLLM:
    """The LLM question of a message no transition of `node` took."""
    # Given by language: the text of the turn's, as the runtime's built-in one (else the
    # tenant's, else the first listed).
    fallback_text = text_in_language(
        turn.flow.settings.llm_fallback_text, turn.language(), turn.ctx.tenant.language
    )
    language = turn.chosen_language()
    if turn.flow.states[node].llm_unanswered is None:
        return effects.AskLLM(message.text, node, fallback_text, language)
    # The flow moves on an unanswered question: the shell says how it went (`LLMReplied`).
    return effects.AskLLM(message.text, node, fallback_text, language, True, message)


#: Per flow: each state's transitions in the order they are tried, with their paths, filled
#: state by state as turns reach them.
_CANDIDATES: PerFlow[dict[str, tuple[_Candidate, ...]]] = PerFlow(lambda flow: {})


def _candidates(flow: schema.FlowSpec, node: str) -> tuple[_Candidate, ...]:
    """`global_transitions` then the state's own, each with its path (e.g. for `fired`)."""
    by_node = _CANDIDATES(flow)
    found = by_node.get(node)
    if found is None:
        found = (
            *((f"global_transitions[{i}]", t) for i, t in enumerate(flow.global_transitions)),
            *(
                (f"states.{node}.transitions[{i}]", t)
                for i, t in enumerate(flow.states[node].transitions)
            ),
        )
        by_node[node] = found
    return found


def _known_node(
    flow: schema.FlowSpec, state: ConversationState
) -> tuple[ConversationState, list[Diagnostic]]:
    """A stored state the flow no longer has (the flow changed) restarts at `initial_state`."""
    if state.node in flow.states:
        return state, []
    reset = Diagnostic(
        "warning",
        "state_reset",
        f"states.{state.node}",
        f"flow {flow.id!r} has no state {state.node!r}; restarting at {flow.initial_state!r}",
    )
    return replace(state, node=flow.initial_state, last_options=()), [reset]


def _say_restart(turn: TurnBuilder) -> None:
    """`settings.restart_text`, said before the answer to a contact whose state is gone: the
    answer alone (the main menu where they expected a question) would read as a mistake."""
    source = turn.flow.settings.restart_text
    if source:
        text = turn.renderer().text(source, "settings.restart_text")
        if text.strip():
            turn.say(Text(text))


#: Messages whose content the flow cannot read (a voice note, a photo, a sticker, a poll): with
#: no transition for them, the fallback alone would ask again as if nothing had been sent.
#: Not a location or a contact card (the flow reads them: `message.extra`), nor presses.
_UNREAD_TYPES = frozenset(
    {
        MessageType.AUDIO,
        MessageType.IMAGE,
        MessageType.VIDEO,
        MessageType.DOCUMENT,
        MessageType.UNSUPPORTED,
    }
)


def _say_unread(turn: TurnBuilder) -> None:
    """`settings.media_text`, else the built-in sentence of the turn's language: said before
    the fallback so the contact knows to type instead. `""` (or a blank render) says nothing."""
    source = turn.flow.settings.media_text
    if source is None:
        text = built_in_texts(turn.language(), turn.ctx.tenant.language).media
    else:
        text = turn.renderer().text(source, "settings.media_text") if source else ""
    if text.strip():
        turn.say(Text(text))


def _fire(
    turn: TurnBuilder, transition: schema.Transition, message: InboundMessage, where: str
) -> None:
    """A transition's effects in order: set_data, suffix extraction, services expansion."""
    if transition.set_data:
        turn.set_data(turn.renderer().value(dict(transition.set_data), f"{where}.set_data"))
    suffix = suffix_of(transition, message)
    if transition.extract_suffix_as and suffix is not None:
        turn.set_data({transition.extract_suffix_as: suffix})
        service = turn.flow.services.get(suffix)
        if service is not None:
            values = {f"service_{prop}": value for prop, value in service.items()}
            # YAML values keep their type; dates become ISO text (data must stay JSON).
            turn.set_data(turn.renderer().value(values, f"services.{suffix}"))


def _on_connector(
    flow: schema.FlowSpec,
    state: ConversationState,
    event: ConnectorReplied | ConnectorFailed,
    now: datetime,
    ctx: StepContext,
    delay_from: datetime | None,
) -> StepResult:
    resume = state.awaiting
    if resume is None or resume.request_id != event.request_id:
        # Not the call we wait for (a late reply to an abandoned turn): change nothing.
        stale = Diagnostic(
            "warning",
            "stale_connector_reply",
            f"states.{state.node}",
            f"no call {event.request_id!r} is pending; reply ignored",
        )
        return StepResult(state=state, diagnostics=(stale,))
    turn = TurnBuilder(
        flow,
        state,
        now,
        ctx,
        resume.message,
        overlay=resume.overlay,
        resumed=True,
        delay_from=delay_from,
    )
    turn.origin_options = resume.origin_options
    turn.origin_options_list = resume.origin_options_list
    actions = program(turn, resume.kind, resume.name)
    action = actions[resume.index - 1] if 0 < resume.index <= len(actions) else None
    if not isinstance(action, schema.InvokeConnector):  # flow swapped while the call ran
        turn.diagnose(
            "warning",
            "stale_connector_reply",
            f"states.{state.node}",
            "the flow changed while the connector call was running",
        )
        return turn.result()
    if isinstance(event, ConnectorReplied):
        return _go_on(turn, resume, action.result_key, event.result)
    base = f"tasks.{resume.name}" if resume.kind == "task" else f"states.{resume.name}.on_enter"
    where = f"{base}[{resume.index - 1}]"
    # A refusal that is a business answer (409 "slot taken", 422 "not bookable") and that the
    # flow handles is no fault to alert on; one of configuration (401, 404) stays an error.
    handled_answer = event.status in _ANSWER_STATUSES and action.on_error is not None
    turn.diagnose(
        "warning" if handled_answer else "error",
        "connector_failed",
        where,
        f"{action.connector}.{action.operation}: {event.error_kind} {event.detail}".strip(),
    )
    route = action.on_error
    if isinstance(route, schema.ErrorRoute) and route.continue_:
        # On with the program: the next actions see the failure in `result_key`.
        if route.text:
            said = turn.renderer().text(route.text, f"{where}.on_error.text").strip()
            if said:
                turn.say(Text(said))
        # The kind (`unavailable`, `timeout`...) and a refusal's HTTP status, not the detail:
        # it names hosts, which a template could send on to the contact.
        failed: dict[str, Any] = {"failed": True, "error": event.error_kind}
        if event.status is not None:
            failed["status"] = event.status
        return _go_on(turn, resume, action.result_key, failed)
    _route_error(turn, action, where, resume.origin, resume.kind, resume.chain, resume.turn_id)
    return turn.result()


#: HTTP statuses of a refusal that a back end gives as an answer about the request itself.
_ANSWER_STATUSES = frozenset({409, 422})


def _go_on(turn: TurnBuilder, resume: Resume, result_key: str | None, result: Any) -> StepResult:
    """The program after a connector call: its result in `result_key`, then the next actions."""
    if result_key:
        turn.set_data({result_key: result})
    run_program(
        turn,
        resume.kind,
        resume.name,
        resume.index,
        origin=resume.origin,
        chain=resume.chain,
        turn_id=resume.turn_id,
    )
    return turn.result()


def _route_error(
    turn: TurnBuilder,
    action: schema.InvokeConnector,
    where: str,
    origin: str,
    kind: str,
    chain: tuple[str, ...],
    turn_id: str,
) -> None:
    """`on_error` decides; without it: the error text, back in the state before the message.

    Never silence: a route with no target whose text renders empty also gets the error text.
    """
    route = action.on_error
    if isinstance(route, str):
        enter(turn, route, origin=origin, chain=chain, turn_id=turn_id)
        return
    said = ""
    if isinstance(route, schema.ErrorRoute) and route.text:
        said = turn.renderer().text(route.text, f"{where}.on_error.text").strip()
        if said:
            turn.say(Text(said))
    if isinstance(route, schema.ErrorRoute) and route.target:
        enter(turn, route.target, origin=origin, chain=chain, turn_id=turn_id)
        return
    if not said:
        turn.say(Text(turn.error_text()))
    if kind == "state":
        turn.return_to(origin, turn.origin_options, from_list=turn.origin_options_list)


def _on_task(
    flow: schema.FlowSpec,
    state: ConversationState,
    event: TaskFired,
    now: datetime,
    ctx: StepContext,
    delay_from: datetime | None,
) -> StepResult:
    """A due task runs in the contact's context; its carried data is visible but not stored."""
    state, reset = _known_node(flow, state)
    turn = TurnBuilder(flow, state, now, ctx, overlay=event.data, delay_from=delay_from)
    turn.diagnostics.extend(reset)
    if event.task not in flow.tasks:
        # Most often a job an earlier version of the flow scheduled: the run names it.
        detail = f"flow {flow.id!r} has no task {event.task!r}; run {event.job_id!r} sent nothing"
        turn.diagnose("error", "unknown_task", f"tasks.{event.task}", detail)
        return turn.result()
    turn.fired.append(f"tasks.{event.task}")
    run_program(
        turn,
        "task",
        event.task,
        0,
        origin=state.node,
        chain=(),
        turn_id=event.job_id or f"task:{event.task}",
    )
    return turn.result()


#: `llm_question` outcomes of a text that was no question for the document: one too long to
#: ask (the contact is asked to write it in a few words) or without words. They neither count
#: as unanswered nor start the count again.
_NO_QUESTION_OUTCOMES = frozenset({"question_too_long", "empty_question"})


def _on_llm_reply(
    flow: schema.FlowSpec,
    state: ConversationState,
    event: LLMReplied,
    now: datetime,
    ctx: StepContext,
    delay_from: datetime | None,
) -> StepResult:
    """`llm_unanswered`: a question the document did not answer (any outcome but `answered`
    and the `_NO_QUESTION_OUTCOMES`: out of scope, a malformed or refused reply, the provider's
    failure, a quota) counts; the `llm_unanswered_after`-th in a row enters the state named.
    The reply (the safe text) is sent already: what the state sends follows it."""
    turn = TurnBuilder(flow, state, now, ctx, event.message, resumed=True, delay_from=delay_from)
    current = flow.states.get(state.node)
    if current is None or state.node != event.state or current.llm_unanswered is None:
        return turn.result()  # not the state that asked (cannot happen within one turn)
    if event.outcome == "answered":
        turn.unset_data(LLM_UNANSWERED_COUNT)
        return turn.result()
    if event.outcome in _NO_QUESTION_OUTCOMES:
        return turn.result()
    missed = _unanswered_count(state.data.get(LLM_UNANSWERED_COUNT)) + 1
    if missed < (current.llm_unanswered_after or 1):
        turn.set_data({LLM_UNANSWERED_COUNT: missed})
        return turn.result()
    turn.fired.append(f"states.{state.node}.llm_unanswered")
    enter(
        turn,
        current.llm_unanswered,
        origin=state.node,
        chain=(),
        turn_id=event.message.message_id,
    )
    return turn.result()


def _unanswered_count(value: Any) -> int:
    """`data.llm_unanswered_count` as a count: 0 when absent, or when a flow put something
    else there."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(value, 0)


def _is_question(message: InboundMessage, state: ConversationState) -> bool:
    """Free text worth asking the LLM about: a bare number is a menu choice that matched
    nothing, not a question."""
    if not message.is_free_text:
        return False
    return not message.text.strip().rstrip(".)").isdigit()


def _has_words(text: str) -> bool:
    """Whether a text holds a letter or a digit. One without (emoji, punctuation, invisible
    characters) is no question: the state's fallback (its menu) or the error text answers
    "🏺✨" better than "I do not have that information", and spares a provider call; with
    neither, the LLM's safe text still answers it rather than silence."""
    return any(char.isalnum() for char in text)


def _asked_since(state: ConversationState) -> datetime | None:
    """When a bot-side step (a scheduled task) last showed the options on screen, if it did
    after the contact's last message: the options are there and the history's last line is
    the bot's, written after that message (a message's turn writes its lines at the time of
    the message). A task that sent nothing writes no line, and one whose text offered nothing
    cleared the options: neither opens a session."""
    if not state.last_options or not state.history:
        return None
    last = state.history[-1]
    return last.at if last.role == "bot" and last.at > state.last_heard else None


def _expire_session(
    flow: schema.FlowSpec, state: ConversationState, now: datetime
) -> ConversationState:
    """`settings.session_timeout`: a contact silent for longer starts over, like a new contact
    (initial state, no options on screen, `data` emptied but for the keys `session_keeps`
    names); the history is kept for the LLM.

    Silence is counted from the contact's last message: tasks and connector replies in between
    are the bot talking, and must not keep a session alive. Unless the bot asked since: a
    scheduled task that put options on screen after that message (a survey days later:
    `_asked_since`) opened a session, and the answer to it within the timeout belongs to it
    (flow-dsl.md, "Numbered and typed answers")."""
    timeout = flow.settings.session_timeout
    if not timeout or state.version == 0:
        return state
    try:
        limit = parse_duration(timeout)
    except ValueError:  # the validator reports it; an unusable value never expires anything
        return state
    if now - state.last_heard <= limit:
        return state
    asked_at = _asked_since(state)
    if asked_at is not None and now - asked_at <= limit:
        return state
    kept = {key: state.data[key] for key in flow.settings.session_keeps if key in state.data}
    return replace(state, node=flow.initial_state, data=kept, last_options=())
