"""`botfleet cp contacts export|erase TENANT CONTACT_ID`: a contact's data on the tenant's data
plane, through the control plane (a person's request to see, or to have erased, what the
business keeps about them). A contact id starting with ``-`` (a Telegram group) goes after
``--``: ``botfleet cp contacts export acme -- -100123``.

`botfleet cp contacts list TENANT`: who talked to the bot and when, as a table (times in local
time), or as the control plane's JSON with ``--json``; when more match, the last line gives the
``--before CURSOR`` of the next page."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from botfleet.cli.commands.cp_common import run
from botfleet.cli.output_files import check_output, write_output

if TYPE_CHECKING:
    from botfleet.control_plane.contact_models import ConversationListView

contacts_app = typer.Typer(
    help="A tenant's contacts on its data plane: who talked to the bot; a contact's data, "
    "exported or erased (GDPR requests)."
)

CONTACT_ID = typer.Argument(
    ...,
    help="As the channel names the contact: the WhatsApp number (digits, no +), the Telegram "
    "chat id (one starting with - goes after --), the web chat's id.",
    show_default=False,
)


#: In the Contact column for an id the control plane withheld (null).
HIDDEN_ID = "(owner only)"


def register(app: typer.Typer) -> None:
    app.add_typer(contacts_app, name="contacts")


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only: an export holds a person's
    messages. The file is made empty and private first, so its text is never readable by
    others, also when it replaces an existing file."""
    write_output(path, b"", "--output")
    try:
        os.chmod(path, 0o600)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise typer.BadParameter(
            f"cannot make {path} private: {reason}", param_hint="--output"
        ) from None
    write_output(path, text, "--output")


@contacts_app.command("export")
def export_contact(
    ctx: typer.Context,
    tenant: str,
    contact_id: str = CONTACT_ID,
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file (owner-only) instead of stdout."
    ),
) -> None:
    """Everything the tenant's data plane holds about the contact, as JSON: conversation
    state, messages both ways (8 days), scheduled tasks."""
    if output is None:
        _say_what_was_found(run(ctx, lambda c: c.export_contact(tenant, contact_id)), tenant)
        return
    check_output(output, "--output")
    found: list[Any] = []

    def save(client: Any) -> str:
        exported = client.export_contact(tenant, contact_id)
        write_private(output, json.dumps(exported, indent=2, ensure_ascii=False))
        found.append(exported)
        return f"exported to {output}\n"

    run(ctx, save)
    _say_what_was_found(found[0], tenant)


@contacts_app.command("erase")
def erase_contact(
    ctx: typer.Context,
    tenant: str,
    contact_id: str = CONTACT_ID,
    yes: bool = typer.Option(False, "--yes", help="Do not ask: erase."),
) -> None:
    """Erase the contact's data on the tenant's data plane (conversation, messages both ways,
    scheduled tasks); prints what went. Asks first unless --yes. Export it first if the
    person asked for a copy too."""
    if not yes:
        confirm_on_stderr(
            f"Erase everything tenant {tenant!r} keeps on its data plane about contact "
            f"{contact_id!r}? This cannot be undone"
        )
    answer = run(ctx, lambda c: c.erase_contact(tenant, contact_id))
    _say_what_was_found(answer, tenant)
    _say_appointments_left(answer)


def _say_appointments_left(answer: Any) -> None:
    """A `note:` on stderr when the calendars still hold the contact's appointments: the
    erasure leaves them, and its counts alone read like everything went."""
    data = _fields(answer)
    left = data.get("appointments_left") if data is not None else None
    if isinstance(left, int) and left > 0:
        typer.echo(
            f"note: {left} upcoming appointment(s) of the contact stay in the tenant's "
            "calendar, with the name and number they were booked under: an erasure leaves "
            "them; cancel them in the calendar if the person asked for them to go too",
            err=True,
        )


def _fields(answer: Any) -> dict[str, Any] | None:
    """The control plane's answer as a dict (a model or a dict), None for anything else."""
    data = answer.model_dump() if hasattr(answer, "model_dump") else answer
    return data if isinstance(data, dict) else None


def _say_what_was_found(answer: Any, tenant: str) -> None:
    """A `note:` on stderr when the data was found under another id than the one given (a
    number written with + or spaces), or when nothing was found: zeros read like a success to
    someone who gave the number as a person writes it."""
    data = _fields(answer)
    if data is None:
        return
    asked, stored = data.get("contact_id"), data.get("stored_as")
    kept = (
        "conversation",
        "messages_received",
        "messages_sent",
        "scheduled_tasks",
        "kept_notifications",
    )
    if any(data.get(key) for key in kept):
        if stored:
            typer.echo(f"note: {asked!r} is stored as {stored!r}: that contact's data", err=True)
        return
    named = f"{asked!r} (as {stored!r})" if stored else repr(asked)
    typer.echo(
        f"note: nothing is stored under {named}: erased before, or not the id the tenant's "
        "channel gives the contact (WhatsApp: the number's digits with the country code, e.g. "
        f"4915112223334); `botfleet cp contacts list {tenant}` shows the ids",
        err=True,
    )


def confirm_on_stderr(question: str) -> None:
    """Ask `question` on stderr and read the answer from stdin: anything but y or yes (no
    terminal to ask on included) aborts, with `Aborted.` and exit status 1. Not
    `typer.confirm(err=True)`: it writes the prompt's last character (a space) to stdout,
    ahead of the JSON a script reads there."""
    typer.echo(f"{question} [y/N]: ", nl=False, err=True)
    answer = sys.stdin.readline()
    if not sys.stdin.isatty():
        typer.echo(err=True)  # no terminal echoed the answer's newline: end the prompt's line
    if answer.strip().lower() not in ("y", "yes"):
        raise typer.Abort()


#: `--hours` up to 20 years: the data plane keeps no conversation longer than that matters.
MAX_HOURS = 20 * 366 * 24
#: The table is as wide as its rows (a contact id is never cut); the terminal wraps the rest.
_UNBOUNDED_WIDTH = 10_000


@contacts_app.command("list")
def list_conversations(
    ctx: typer.Context,
    tenant: str,
    since: str | None = typer.Option(
        None,
        "--since",
        help="Only conversations with a turn since this ISO time (2024-05-06T09:00; local "
        "time unless it has an offset: +02:00, Z).",
        show_default=False,
    ),
    hours: int | None = typer.Option(
        None,
        "--hours",
        min=1,
        max=MAX_HOURS,
        help="Only conversations with a turn in the last N hours (not with --since).",
        show_default=False,
    ),
    limit: int | None = typer.Option(
        None,
        "--limit",
        min=1,
        max=1000,
        help="At most N conversations, the most recent (1 to 1000; the control plane's "
        "default is 100).",
        show_default=False,
    ),
    before: str | None = typer.Option(
        None,
        "--before",
        metavar="CURSOR",
        help="The next page: the older conversations, after the page whose last line (or "
        "JSON `next`) gave this cursor. Give the same start: the last line's command does (an "
        "--hours as the --since it named).",
        show_default=False,
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the control plane's JSON answer."),
) -> None:
    """Who talked to the tenant's bot and when, the most recent first: the contact, the state
    they are in, their last message and when the conversation started; never what was said."""
    active_since = _active_since(since, hours)

    # The next page's command: the same tenant, limit and start (`--hours` as the instant it
    # named, or the next page's window would have moved on).
    again = ["botfleet", "cp", "contacts", "list", _pasteable(tenant)]
    if limit is not None:
        again += ["--limit", str(limit)]
    if active_since is not None:
        again += ["--since", active_since.isoformat()]

    def ask(client: Any) -> Any:
        listed = client.list_conversations(
            tenant, active_since=active_since, limit=limit, before=before
        )
        if as_json:
            return listed
        return conversations_table(listed, active_since, paged=bool(before), again=" ".join(again))

    run(ctx, ask)


def _active_since(since: str | None, hours: int | None) -> datetime | None:
    """The aware time `--since` or `--hours` names (a naive `--since` is local time)."""
    if since is not None and hours is not None:
        raise typer.BadParameter("give --since or --hours, not both", param_hint="--since")
    if hours is not None:
        return datetime.now(UTC) - timedelta(hours=hours)
    if since is None:
        return None
    try:
        moment = datetime.fromisoformat(since)
        return moment if moment.utcoffset() is not None else moment.astimezone()
    except (ValueError, OverflowError):
        raise typer.BadParameter(
            f"{since!r} is not an ISO time: give e.g. 2024-05-06T09:00 (local time) or "
            "2024-05-06T09:00+02:00",
            param_hint="--since",
        ) from None


def conversations_table(
    listed: ConversationListView,
    since: datetime | None,
    *,
    paged: bool = False,
    again: str = "",
) -> str:
    """`listed` as a table, one conversation a row, and a line saying what it shows (`paged`:
    a page after the first, asked with --before; `again`: the command that lists it, which
    the line completes with the next page's `--before`)."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header in ("Contact", "Channel", "State", "Last message", "Started"):
        table.add_column(header, no_wrap=True)
    for c in listed.conversations:
        table.add_row(
            # Null: a web chat visitor's id (their credential), withheld from keys below owner.
            _plain(c.contact_id if c.contact_id is not None else HIDDEN_ID),
            _plain(c.channel or "-"),  # "-": a data plane that does not say
            _plain(c.state),
            _local(c.last_message_at),
            _local(c.created_at),
        )
    summary = _summary(listed, since, paged, again)
    if not listed.conversations:
        return f"{summary}\n"
    return f"{_rendered(table)}\n{summary}\n"


def _summary(
    listed: ConversationListView, since: datetime | None, paged: bool, again: str = ""
) -> str:
    after = f" since {_local(since)}" if since is not None else ""
    more = " more" if paged else ""
    if not listed.conversations:
        return f"no{more} conversations{after}"
    counted = f"{listed.count}{more} conversation{'s' * (listed.count != 1)}{after}"
    if listed.truncated and listed.next is not None:
        if not paged:
            counted = f"the {listed.count} most recent conversations{after}"
        cursor = _pasteable(listed.next)
        if again:
            return f"{counted}; more match: the next page: {again} --before {cursor}"
        return f"{counted}; more match: the next page with --before {cursor}"
    if listed.truncated:  # a data plane of a release that does not page
        return (
            f"the {listed.count} most recent conversations{after}; more match: raise --limit "
            "(up to 1000) or give a later --since"
        )
    return counted


def _pasteable(cursor: str) -> str:
    """`cursor` to paste into a shell as one word: as it is when base64url, as the data plane
    writes it; quoted, and its characters that would act on the terminal shown as escapes,
    otherwise (another server's answer)."""
    import shlex

    return shlex.quote("".join(_escaped(c) for c in cursor))


def _escaped(char: str) -> str:
    return char if char.isprintable() else char.encode("unicode_escape").decode()


def _local(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M %Z")


def _plain(text: str) -> Any:
    """`text` as it is, never read as rich markup, with characters that would act on the
    terminal (escape sequences from a data plane's answer) shown as escapes."""
    from rich.text import Text

    shown = "".join(_escaped(c) for c in text)
    return Text(shown)


def _rendered(table: Any) -> str:
    import io

    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=_UNBOUNDED_WIDTH, no_color=True, highlight=False)
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())
