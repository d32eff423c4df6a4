"""Running a program (a state's `on_enter` or a task's actions). Pure: effects are data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botfleet.domain.instants import elapsed_after
from botfleet.domain.outputs import Buttons, ListMenu, Option, Section, Text
from botfleet.flows import effects, schema
from botfleet.flows._schedule_checks import parse_run_late_within
from botfleet.flows.durations import parse_duration
from botfleet.flows.render import Renderer, is_template, shared_budget
from botfleet.flows.schedule_window import run_at_passed
from botfleet.flows.state import Resume
from botfleet.flows.template_messages import template_message
from botfleet.flows.turn import TurnBuilder

#: Most `on_enter` programs one step may run (entering states via `next`, fallbacks, on_error).
MAX_CHAIN = 10


def program(turn: TurnBuilder, kind: str, name: str) -> Sequence[schema.Action]:
    if kind == "task":
        return turn.flow.tasks.get(name, [])
    state = turn.flow.states.get(name)
    return state.on_enter if state else []


def run_program(
    turn: TurnBuilder,
    kind: str,
    name: str,
    start: int,
    *,
    origin: str,
    chain: tuple[str, ...],
    turn_id: str,
) -> None:
    """Run actions from `start`; stop at a connector call (setting `awaiting`); follow `next`."""
    actions = program(turn, kind, name)
    base = f"tasks.{name}" if kind == "task" else f"states.{name}.on_enter"
    for index in range(start, len(actions)):
        action = actions[index]
        where = f"{base}[{index}]"
        if action.when is not None and not turn.renderer().condition(action.when, f"{where}.when"):
            continue
        if isinstance(action, schema.InvokeConnector):
            _call_connector(turn, action, where, kind, name, index, origin, chain, turn_id)
            return
        _run_action(turn, action, where, turn_id)
    if kind == "state" and name in turn.flow.states:
        target = _next_target(turn, name)
        if target is not None:
            enter(turn, target, origin=origin, chain=chain, turn_id=turn_id)


def _next_target(turn: TurnBuilder, name: str) -> str | None:
    nxt = turn.flow.states[name].next
    if nxt is None:
        return None
    if isinstance(nxt, str):
        turn.fired.append(f"states.{name}.next")
        return nxt
    r = turn.renderer()
    for i, route in enumerate(nxt):
        where = f"states.{name}.next[{i}]"
        if route.condition is None or r.condition(route.condition, f"{where}.condition"):
            turn.fired.append(where)
            return route.target
    return None


def enter(
    turn: TurnBuilder, target: str, *, origin: str, chain: tuple[str, ...], turn_id: str
) -> None:
    """Move to `target` and run its `on_enter`; a chain longer than MAX_CHAIN is stopped."""
    if target not in turn.flow.states:
        turn.diagnose("error", "unknown_state", f"states.{turn.node}", f"unknown state {target!r}")
        turn.say(Text(turn.error_text()))
        return
    chain = (*chain, target)
    if len(chain) > MAX_CHAIN:
        turn.diagnose(
            "error",
            "step_limit_exceeded",
            f"states.{target}",
            f"more than {MAX_CHAIN} states entered in one turn: {' -> '.join(chain)}",
        )
        turn.say(Text(turn.error_text()))
        return
    turn.node = target
    turn.entered.append(target)
    run_program(turn, "state", target, 0, origin=origin, chain=chain, turn_id=turn_id)


def _call_connector(
    turn: TurnBuilder,
    action: schema.InvokeConnector,
    where: str,
    kind: str,
    name: str,
    index: int,
    origin: str,
    chain: tuple[str, ...],
    turn_id: str,
) -> None:
    params = turn.renderer().value(dict(action.params), f"{where}.params")
    request_id = f"{turn_id}/{kind}:{name}/{index}"
    tenant, contact = turn.ctx.tenant.id, turn.original.contact_id
    turn.effects.append(
        effects.CallConnector(
            request_id=request_id,
            connector=action.connector,
            operation=action.operation,
            params=params,
            # Deterministic: re-running the same message after a crash reuses the key, so a
            # create operation (book_appointment) is never done twice.
            idempotency_key=f"{tenant}:{contact}:{request_id}",
        )
    )
    turn.awaiting = Resume(
        kind=kind,
        name=name,
        index=index + 1,
        request_id=request_id,
        origin=origin,
        chain=chain,
        turn_id=turn_id,
        overlay=dict(turn.overlay),
        message=turn.message,
        origin_options=turn.origin_options,
    )


def _run_action(turn: TurnBuilder, action: schema.Action, where: str, turn_id: str) -> None:
    r = turn.renderer()
    match action:
        case schema.SendText():
            text = r.text(action.text, f"{where}.text")
            if text.strip():
                turn.say(Text(text))
        case schema.SendButtons():
            turn.say(
                Buttons(
                    r.text(action.body, f"{where}.body"),
                    _options(turn, r, action.buttons, f"{where}.buttons", set()),
                )
            )
        case schema.SendList():
            ids: set[str] = set()  # row ids are unique across the list's sections
            sections = tuple(
                Section(
                    r.text(s.title, f"{where}.sections[{i}].title"),
                    _options(turn, r, s.rows, f"{where}.sections[{i}].rows", ids),
                )
                for i, s in enumerate(action.sections)
            )
            body = r.text(action.body, f"{where}.body")
            turn.say(ListMenu(body, _list_label(turn, r, action.button_label, where), sections))
        case schema.SendDynamicOptions():
            _dynamic_options(turn, action, where)
        case schema.SetData():
            turn.set_data(r.value(dict(action.values), f"{where}.values"))
        case schema.SendTemplate():
            turn.say(template_message(turn, r, action, where))
        case schema.ScheduleTask():
            _schedule(turn, action, where)
        case schema.CancelTask():
            key = r.text(action.idempotency_key, f"{where}.idempotency_key")
            turn.effects.append(effects.CancelTask(key, turn.original.contact_id))
        case _:  # invoke_connector is handled by the caller
            raise AssertionError(f"unhandled action {action!r}")


def _options(
    turn: TurnBuilder,
    r: Renderer,
    specs: Sequence[schema.OptionSpec],
    where: str,
    ids: set[str],
) -> tuple[Option, ...]:
    """The options as sent; `ids` holds the ids already used by the same message.

    An id that renders empty, or the same as an earlier option's, is left out with a warning:
    channels refuse an empty id (WhatsApp the whole message), and the reply carries only the id,
    so a repeated one could never tell the two options apart.
    """
    options: list[Option] = []
    for i, s in enumerate(specs):
        # Plain fields (the usual case) need neither the renderer nor a path for diagnostics.
        option_id = r.text(s.id, f"{where}[{i}].id") if is_template(s.id) else s.id
        if not option_id.strip() or option_id in ids:
            problem = "rendered empty" if not option_id.strip() else f"{option_id!r} repeats"
            detail = f"option id {s.id!r} {problem}; the option is left out"
            turn.diagnose("warning", "bad_option_id", f"{where}[{i}].id", detail)
            continue
        ids.add(option_id)
        title = r.text(s.title, f"{where}[{i}].title") if is_template(s.title) else s.title
        description = s.description
        if is_template(description):
            description = r.text(description, f"{where}[{i}].description")
        options.append(Option(option_id, title, description))
    return tuple(options)


def _dynamic_options(turn: TurnBuilder, action: schema.SendDynamicOptions, where: str) -> None:
    r = turn.renderer()
    raw = _lookup({**turn.data, **turn.overlay}, action.source_key)
    items: list[Option] = []
    ids: set[str] = set()
    # The same missing `item.x` in every item is one mistake of the flow: said once.
    described: list[effects.Diagnostic] = []
    # One template's work for all the items: their number is the connector's, or the data's.
    budget = shared_budget()
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(item, dict) and item.get("id") not in (None, ""):
            option = Option(
                str(item["id"]),
                str(item.get("title", item["id"])),
                str(item.get("description", "") or ""),
            )
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            option = Option(str(item), str(item))
        else:
            turn.diagnose(
                "warning",
                "bad_option_item",
                f"{where}.source_key",
                f"item {i} of data.{action.source_key} has no id; skipped",
            )
            continue
        if option.id in ids:  # as `_options`: a reply carries only the id
            turn.diagnose(
                "warning",
                "bad_option_id",
                f"{where}.source_key",
                f"item {i} of data.{action.source_key}: id {option.id!r} repeats; skipped",
            )
            continue
        ids.add(option.id)
        if action.description is not None:
            scoped = r.with_names({"item": item}, sink=described, budget=budget)
            text = scoped.text(action.description, f"{where}.description").strip()
            option = Option(option.id, option.title, text)
        items.append(option)
    turn.diagnostics.extend(dict.fromkeys(described))
    if raw is not None and not isinstance(raw, list):
        turn.diagnose(
            "warning",
            "bad_option_source",
            f"{where}.source_key",
            f"data.{action.source_key} is not a list",
        )
    if not items:
        empty = r.text(action.empty_text, f"{where}.empty_text")
        if empty.strip():
            turn.say(Text(empty))
        return
    body = r.text(action.text, f"{where}.text")
    # Three short choices read best as buttons; anything else as a list. Channels degrade further.
    if len(items) <= 3 and not any(o.description for o in items):
        turn.say(Buttons(body, tuple(items)))
    else:
        label = _list_label(turn, r, action.button_label, where)
        turn.say(ListMenu(body, label, (Section("", tuple(items)),)))


def _list_label(turn: TurnBuilder, r: Renderer, written: str | None, where: str) -> str:
    """The flow's `button_label`, else the word degradation gives the lists it makes for this
    contact: otherwise a Spanish contact would get the flow's lists behind "Options" and a
    channel's behind "Opciones". A label that renders blank gets the word too: channels would
    put their own English one there."""
    label = "" if written is None else r.text(written, f"{where}.button_label")
    return label if label.strip() else turn.menu_texts().list_button


def _lookup(data: Mapping[str, Any], key: str) -> Any:
    """`data[key]`, else `key` read as a dotted path (`booking.slots`), as the validator and
    templates (`{{data.booking.slots}}`) read it; None when absent."""
    # A key that itself contains dots (a `result_key: booking.slots`) worked before dotted
    # paths did, so it still wins.
    if key in data:
        return data[key]
    value: Any = data
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _schedule(turn: TurnBuilder, action: schema.ScheduleTask, where: str) -> None:
    r = turn.renderer()
    run_at: datetime | None
    try:
        if action.delay is not None:
            # From the turn's moment, not the clock: a turn run again after a crash asks for
            # the same due time, which names the same run (docs/scheduler.md).
            delay = parse_duration(r.text(action.delay, f"{where}.delay"))
            run_at = elapsed_after(turn.delay_from, delay)
        else:
            run_at = _parse_run_at(r.value(action.run_at, f"{where}.run_at"), turn)
    except ValueError as exc:
        turn.diagnose("error", "schedule_task_invalid", where, str(exc))
        _schedule_outcome(turn, action, {"scheduled": False, "reason": "bad_run_at"})
        return
    except OverflowError:  # e.g. delay "999999999d": a valid duration, but past year 9999
        turn.diagnose("error", "schedule_task_invalid", where, "run time is out of range")
        _schedule_outcome(turn, action, {"scheduled": False, "reason": "bad_run_at"})
        return
    late = None if action.run_late_within is None else parse_run_late_within(action.run_late_within)
    if isinstance(late, str):  # refused when the flow is validated; a flow built unchecked
        turn.diagnose("error", "schedule_task_invalid", where, late)
        # The time it is due cannot be used without the window it may run late in.
        _schedule_outcome(turn, action, {"scheduled": False, "reason": "bad_run_at"})
        return
    # The default key is built, not rendered: a contact id is channel input, never a template.
    key = f"{action.task}:{turn.original.contact_id}"
    if action.idempotency_key is not None:
        key = r.text(action.idempotency_key, f"{where}.idempotency_key")
    turn.effects.append(
        effects.ScheduleTask(
            task=action.task,
            run_at=run_at,
            idempotency_key=key,
            contact_id=turn.original.contact_id,
            data=r.value(dict(action.data), f"{where}.data"),
            run_late_within=late,
        )
    )
    if action.result_key:
        _schedule_outcome(turn, action, _verdict(turn, run_at, late))


def _verdict(turn: TurnBuilder, run_at: datetime, late: timedelta | None) -> dict[str, Any]:
    """What the scheduler will make of the request (`schedule_window`), by the turn's `now`.

    The scheduler judges again by its own clock, milliseconds later: only a task due right at
    the edge of the window can be "scheduled" here and refused there, one that was due minutes
    ago and would have run at once. The effect is made whatever the verdict: the request still
    replaces the job pending under its key (a moved appointment whose new reminder time has
    passed must lose the old reminder)."""
    scheduling = turn.ctx.scheduling
    if not scheduling.enabled:
        return {"scheduled": False, "reason": "disabled"}
    if run_at_passed(run_at, turn.now, scheduling.grace, late):
        return {"scheduled": False, "reason": "past"}
    # An instant, not the tenant's wall time: what a template compares and formats alike.
    # `runs_now`: due already (within the window), it is sent right after this turn, so a
    # flow says "here it is" rather than "we'll remind you" (a booking at 18:02 for a
    # reminder at 18:00).
    return {
        "scheduled": True,
        "run_at": run_at.astimezone(UTC).isoformat(),
        "runs_now": run_at <= turn.now,
    }


def _schedule_outcome(
    turn: TurnBuilder, action: schema.ScheduleTask, outcome: dict[str, Any]
) -> None:
    if action.result_key:
        turn.set_data({action.result_key: outcome})


def _parse_run_at(value: Any, turn: TurnBuilder) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value or "").strip()
        if not text:
            # Said as what it can mean: the renderer's own line before this one says which.
            raise ValueError(
                "run_at rendered empty: a value it reads is missing, or its template failed"
            )
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"run_at {text!r} is not an ISO date-time") from None
    if moment.tzinfo is None:  # wall time in the tenant's zone
        moment = moment.replace(tzinfo=turn.local_now.tzinfo)
    return moment


__all__ = ["MAX_CHAIN", "enter", "run_program"]
