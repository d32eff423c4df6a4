"""A terminal conversation with a bot in the sandbox (`botfleet chat`).

The bot runs in the conversation-test sandbox: the real runtime, in-memory state, mock
connectors, the tenant's LLM as the `mock_llm` provider, a clock frozen at the start (`:wait`
moves it). Each notification the flow sends (`notification.send`, recorded, never delivered)
is a `(notification: event {...})` line before what the bot said in that turn. Input is read
line by line, so piped input works as well as a terminal.

Outputs are shown as a channel sends them (`testing.sandbox_channels`: the tenant's, or
`--channel`): degraded to its capabilities, and a press is the message that channel delivers,
as in `botfleet test`. `:send` sends the other message types (`chat_sends`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import typer
import yaml

from botfleet.adapters.llm import build_llm_connector, llm_options
from botfleet.adapters.scheduling.rules import duration_text
from botfleet.cli.chat_sends import SEND_HELP, SEND_USAGE, SendError, parse_send
from botfleet.domain.errors import BotPlatformError, ConfigError
from botfleet.domain.outputs import Output
from botfleet.domain.tenant_config import TenantConfig
from botfleet.domain.yaml_text import safe_load
from botfleet.flows.durations import parse_duration
from botfleet.flows.load import Flow
from botfleet.flows.tenant_file import config_error_issues
from botfleet.ports.connectors import LLMConnector
from botfleet.ports.scheduling import ScheduledJob
from botfleet.testing.conversation_calls import watch_scripted_calls
from botfleet.testing.sandbox import (
    Contact,
    Sandbox,
    describe_notification,
    describe_output,
    open_sandbox,
    sandbox_config,
    unmocked_categories,
)
from botfleet.testing.sandbox_channels import sandbox_channel, tenant_channel

__all__ = ["HELP", "chat_session", "flow_notice", "mock_llm", "parse_data", "show_flow_notice"]

HELP = f"""commands:
  :state            the state the conversation is in
  :data             the conversation's data
  :tasks            the pending scheduled tasks (reminders): due time, key, data
  :press ID         press a button or pick a list row by its id
{SEND_HELP}
  :wait DURATION    move the clock (e.g. 2h, 1d); scheduled tasks that fall due run
  :reset            forget this conversation and start over
  :quit             leave (end of input does too)
anything else is a message; a number picks one of the choices shown"""


#: Said when an argument is given to a command that takes none: ignoring it would read as done
#: (`:data lang=nl` showing the data as if `lang` were set; `:reset all` forgetting anyway).
_NO_ARGUMENT = {
    ":state": ":state takes no argument: it shows the state the conversation is in",
    ":data": ":data takes no argument: it shows the conversation's data (to start with values "
    "in it: botfleet chat --data KEY=VALUE)",
    ":tasks": ":tasks takes no argument: it lists the pending tasks of this conversation "
    "(and the standing schedules)",
    ":reset": ":reset takes no argument: it forgets this conversation",
}

#: Said when the argument is missing: the command is known, only its argument is not there.
_USAGE = {
    ":press": ":press ID  (e.g. :press menu_book)",
    ":send": SEND_USAGE,
    ":wait": ":wait DURATION  (e.g. :wait 2h)",
}


def flow_notice(event: Mapping[str, Any]) -> str | None:
    """A runtime event about the flow itself as a transcript line, or None for the others.

    The flow's diagnostics (a missing template value, a failed template, a bad option, a
    connector error...) name their place in the flow (`where`); scheduling problems name the
    task. A live bot only logs them; in a chat they explain what the bot just said.
    """
    name, detail = event.get("event"), event.get("detail", "")
    if "where" in event:
        return f"! {detail or name} in {event['where']}"
    if name == "schedule_task_skipped" and detail:  # it says what and why (`passed_detail`)
        return f"! {detail}"
    if name in ("schedule_task_skipped", "schedule_task_rejected"):
        return f"! task {event.get('task')!r} not scheduled: {detail}"
    if name == "turn_call_limit":
        return f"! the turn stopped after {event.get('limit')} connector calls"
    return None


def show_flow_notice(event: Mapping[str, Any]) -> bool:
    """Echo the flow's events (`flow_notice`) dimmed in the transcript; True when it did."""
    line = flow_notice(event)
    if line is None:
        return False
    typer.echo(typer.style(line, dim=True))
    return True


def parse_data(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` items; values are read as YAML, so `30` is a number and `[a, b]` a list.

    Raises:
        ValueError: an item has no `=` or no key.
    """
    return dict(_key_value(item) for item in items)


def _key_value(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--data {item!r}: expected KEY=VALUE")
    try:
        value = safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, date):  # data is stored as JSON: dates stay as written
        value = raw.strip()
    return key.strip(), value


def mock_llm(config: TenantConfig) -> LLMConnector | None:
    """The tenant's LLM as the `mock_llm` provider (its scripted rules, else the knowledge)."""
    options = llm_options(config)
    if not options.enabled:
        return None
    return build_llm_connector(options.model_copy(update={"provider": "mock_llm"}))


async def chat_session(
    config: TenantConfig,
    flow: Flow,
    llm: LLMConnector | None,
    contact: Contact,
    at: datetime | None,
    state: str | None,
    data: dict[str, Any],
    read: Callable[[], str],
    *,
    echo: bool = False,
    default_calendar: bool = False,
    channel: str | None = None,
    fixtures: Mapping[str, Mapping[str, Any]] | None = None,
) -> int:
    """Chat until the input ends; 1 when the bot cannot start. `default_calendar`: `config`
    runs a flow file (no tenant file), so a calendar the flow calls is the default one.
    `channel`: the channel the bot is on (`sandbox_channels.CHANNELS`; default the tenant's
    channel, `tenant_channel`). `fixtures`: connector fixtures by binding name, as a
    conversation test's `connectors:` (checked beforehand: `conversation_fixtures`).

    Raises:
        ValueError: `channel` is not one chat knows.
    """
    shown_as = sandbox_channel(channel or tenant_channel(config))
    try:
        mocked = sandbox_config(
            config, flow.spec, fixtures, unmocked="fail", default_calendar=default_calendar
        )
    except ConfigError as exc:  # the tenant's calendar, refused as the data plane would
        for issue in config_error_issues(exc):
            typer.echo(str(issue), err=True)
        return 1
    start = at or datetime.now(ZoneInfo(config.timezone)).replace(second=0, microsecond=0)
    async with open_sandbox(mocked, at=start, llm=llm, contact=contact, channel=shown_as) as bot:
        watch_scripted_calls(bot)  # a scripted hook's sends are printed as a recorded one's
        typer.echo(
            f"Chatting with {config.display_name()} (flow {flow.spec.id}) as {contact.id} "
            f"on {shown_as.name}; clock frozen at {bot.clock.now().isoformat()}. "
            ":help lists commands."
        )
        unmocked = unmocked_categories(config, flow.spec, default_calendar=default_calendar)
        for category in [c for c in unmocked if c not in (fixtures or {})]:
            typer.echo(f"note: connector {category!r} has no mock here: its calls fail")
        if state is not None or data:
            try:
                mark, failed = len(bot.notifications), len(bot.task_failures)
                _show(bot, await bot.enter(state, data), mark)
            except (ValueError, BotPlatformError) as exc:
                typer.echo(f"error: {exc}", err=True)
                return 1
            _show_task_failures(bot, failed)
        await _loop(bot, read, echo)
    return 0


def _show(bot: Sandbox, outputs: list[Output], mark: int) -> None:
    """The notifications sent since `mark` (during the turn: before its messages leave, as in a
    served bot), then what the bot said, as the channel sent it."""
    for notification in bot.notifications[mark:]:
        typer.echo(describe_notification(notification))
    for output in outputs:
        text, *choices = describe_output(output)
        typer.echo("bot> " + text.replace("\n", "\n     "))
        for choice in choices:
            typer.echo(f"     {choice.strip()}")


async def _press(bot: Sandbox, payload: str) -> list[Output]:
    """Press the option `payload` as the channel delivers the press (`Sandbox.press_of`), and
    say so when that is not a press of its id: an option of a menu shown as numbered text has
    nothing to press, so its number is typed, as the contact would; an id too long for the
    channel went by position. An id no menu shows is pressed anyway (a button of an older
    message, a payload as a first message)."""
    press = await bot.press_of(payload)
    name = bot.channel.name
    if press.route == "number":
        _note(f'({name} shows it as numbered text: typed "{press.text}")')
    elif press.route == "position":
        _note(
            f"({name} sent its id by position, too long to send back: "
            f'pressed as the typed "{press.text}")'
        )
    return await bot.deliver(press)


def _show_task_failures(bot: Sandbox, mark: int) -> None:
    """The scheduled tasks that failed since `mark`, as a broken turn is said: a live bot only
    logs them (`task_failed`, silenced here), and a failed reminder sends nothing, which reads
    as a reminder with nothing to say."""
    for failure in bot.task_failures[mark:]:
        typer.echo(f"error: {failure.describe()}", err=True)


def _note(line: str) -> None:
    typer.echo(typer.style(line, dim=True))


async def _loop(bot: Sandbox, read: Callable[[], str], echo: bool) -> None:
    while True:
        typer.echo("you> ", nl=False)
        line = read()
        if not line:  # end of input
            typer.echo()
            return
        if echo:  # piped input is not shown by a terminal: show it, for a readable transcript
            typer.echo(line.rstrip("\n"))
        text = line.strip()
        if not text:
            continue
        if text in (":quit", ":q", ":exit"):
            return
        failed = len(bot.task_failures)
        try:
            await _handle(bot, text)
        except Exception as exc:  # a broken turn is shown, the chat goes on
            typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        _show_task_failures(bot, failed)


def _misused(command: str, argument: str) -> str | None:
    """What to say instead of running a known command given the wrong arguments, else None."""
    if command in _NO_ARGUMENT and argument:
        return f"error: {_NO_ARGUMENT[command]}; nothing was done"
    if command in _USAGE and not argument:
        return f"usage: {_USAGE[command]}"
    return None


def _tasks_text(bot: Sandbox, jobs: list[ScheduledJob]) -> str:
    """`:tasks`: the pending jobs as `botfleet cp tasks list` has them (task, due time, key,
    data), due times on the tenant's clock and counted from the chat's, so `:wait` runs them."""
    if not jobs:
        return "(no pending tasks)"
    zone = ZoneInfo(bot.runtime.ctx.tenant.timezone)
    now = bot.clock.now()
    lines = [f"pending tasks ({len(jobs)}, soonest first):"]
    for job in jobs:
        if job.next_run_at is None:
            due = "due: not known"
        else:
            ahead = job.next_run_at - now
            when = f"in {duration_text(ahead)}" if ahead > timedelta() else "now"
            due = f"due {job.next_run_at.astimezone(zone).isoformat()} ({when})"
        standing = job.kind == "standing"
        lines.append(f"  {job.task}  {due}" + ("  [standing schedule]" if standing else ""))
        lines.append(f"    {'schedule' if standing else 'key'}: {job.key}")
        if job.contact_id != bot.contact.id:
            lines.append(f"    contact: {job.contact_id or '(none)'}")
        lines.append(f"    data: {json.dumps(job.data, ensure_ascii=False, sort_keys=True)}")
    return "\n".join(lines)


#: The commands that show something of the conversation and change nothing.
_LOOKS = (":state", ":data", ":tasks")


async def _look(bot: Sandbox, command: str) -> str:
    """What `:state`, `:data` or `:tasks` shows."""
    if command == ":state":
        return f"state: {(await bot.state()).node}"
    if command == ":data":
        shown = yaml.safe_dump(dict((await bot.state()).data), allow_unicode=True, sort_keys=True)
        return shown.rstrip()
    return _tasks_text(bot, await bot.pending_tasks())


async def _handle(bot: Sandbox, text: str) -> None:
    command, _, argument = text.partition(" ")
    argument = argument.strip()
    mark = len(bot.notifications)
    misused = _misused(command, argument)
    if misused is not None:
        typer.echo(misused)
    elif command in _LOOKS:
        typer.echo(await _look(bot, command))
    elif command == ":reset":
        await bot.reset()
        typer.echo("(conversation forgotten: your next message starts over)")
    elif command == ":press":
        _show(bot, await _press(bot, argument), mark)
    elif command == ":send":
        try:
            message = parse_send(argument)
        except SendError as exc:
            typer.echo(f"error: {exc}")
            return
        kind, payload, extra = message.kind.value, message.payload, message.extra
        _show(bot, await bot.send(kind, text=message.text, payload=payload, extra=extra), mark)
    elif command == ":wait":
        try:
            duration = parse_duration(argument)
        except ValueError as exc:  # a typo, said as `:send`'s are: the chat goes on
            typer.echo(f"error: {exc}")
            return
        moved = await bot.wait(duration)
        typer.echo(f"(now {bot.clock.now().isoformat()})")
        _show(bot, moved, mark)
    elif command == ":help":
        typer.echo(HELP)
    elif command.startswith(":"):
        typer.echo(f"unknown command {text!r}\n{HELP}")
    else:
        _show(bot, await bot.say(text), mark)
