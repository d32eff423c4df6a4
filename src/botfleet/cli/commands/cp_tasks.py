"""`botfleet cp tasks run TENANT TASK CONTACT_ID`: run a task of the tenant's flow now for a
contact, through the control plane (the team answering a contact through the bot during a
hand-off: ``--text "..."`` is the ``team_reply`` task's ``data: {text: ...}``). A contact id
starting with ``-`` (a Telegram group) goes after ``--``.

`botfleet cp tasks run TENANT --job JOB_ID`: run a pending job now (a reminder due later) with
its own task, contact and data, as the scheduler would fire it; it does not fire again.

`botfleet cp tasks cancel TENANT JOB_ID`: cancel a pending reminder.

`botfleet cp tasks list TENANT`: the pending scheduled jobs, soonest first.

A run of TASK CONTACT_ID is strict unless ``--allow-missing``: when a template of the task lacks
a value (``--data`` left one out) nothing is sent, stored or scheduled, the missing values are
printed as ``warnings:`` lines, and the command exits 1. A ``--job`` run uses the job's stored
data and is not strict unless ``--strict`` (a job so refused stays pending).

A run that went with problems (a value its templates did not find under ``--allow-missing``, an
option left out) prints them after the answer, on stderr, as ``warnings:`` lines (yellow on a
terminal), and still exits 0: the task ran and its messages went, so running it again would send
them again.
"""

from __future__ import annotations

from typing import Any

import typer

from botfleet.cli.commands.cp_common import REFUSED, json_object, run

tasks_app = typer.Typer(
    help="A tenant's flow tasks on its data plane: run one now for a contact, or a pending job "
    "now; cancel a pending job; list the pending jobs."
)


def register(app: typer.Typer) -> None:
    app.add_typer(tasks_app, name="tasks")


@tasks_app.command("run")
def run_task(
    ctx: typer.Context,
    tenant: str,
    task: str | None = typer.Argument(
        None,
        help="A task of the tenant's flow (its `tasks:`); not with --job.",
        show_default=False,
    ),
    contact_id: str | None = typer.Argument(
        None,
        help="As the channel names the contact: the WhatsApp number, the Telegram chat id "
        "(one starting with - goes after --), the web chat's id; not with --job.",
        show_default=False,
    ),
    job: str | None = typer.Option(
        None,
        "--job",
        help="Run this pending job now (its job_id, as `tasks list` shows it: once:<key> or "
        "standing:<name>) with its own task, contact and data, instead of TASK CONTACT_ID. A "
        "reminder run so does not fire again later.",
        show_default=False,
    ),
    data: str | None = typer.Option(
        None,
        "--data",
        help="The task's data: a JSON object, or @FILE to read it from a file.",
        show_default=False,
    ),
    text: str | None = typer.Option(
        None,
        "--text",
        help="Shorthand for --data '{\"text\": TEXT}' (what the hand-off's team_reply sends).",
        show_default=False,
    ),
    strict: bool | None = typer.Option(
        None,
        "--strict/--allow-missing",
        help="--strict: send nothing when a template of the task lacks a value (exit 1, the "
        "missing values listed). The default for TASK CONTACT_ID; --allow-missing sends anyway "
        "(the missing values render empty). A --job run is not strict unless --strict.",
        show_default=False,
    ),
) -> None:
    """Run the task now for the contact (or the pending job, --job), in the contact's order,
    and print what became of it as JSON. Strict for TASK CONTACT_ID: a template value the
    --data lacks sends nothing and exits 1 (--allow-missing sends anyway). Exits 1 when the
    task failed on the data plane (the answer is printed too); exits 0 with `warnings:` lines
    on stderr when its turn reported problems (a missing template value...)."""
    if job is not None:
        if task is not None or contact_id is not None:
            raise typer.BadParameter(
                "give --job JOB_ID, or TASK and CONTACT_ID, not both", param_hint="--job"
            )
        if data is not None or text is not None:
            raise typer.BadParameter(
                "a pending job runs with its own data: leave out --data and --text "
                "(or run the task with TASK CONTACT_ID and your data)",
                param_hint="--job",
            )
        strictly = bool(strict)  # a job's own data: sent as scheduled unless asked
        result = run(ctx, lambda c: c.run_job(tenant, job, strict=strictly))
        task = result.task
    else:
        if task is None or contact_id is None:
            raise typer.BadParameter(
                "give TASK and CONTACT_ID, or --job JOB_ID to run a pending job with its own "
                f"data (botfleet cp tasks list {tenant} shows the job ids)",
                param_hint="TASK CONTACT_ID",
            )
        if data is not None and text is not None:
            raise typer.BadParameter("give --data or --text, not both", param_hint="--text")
        values = {"text": text} if text is not None else json_object(data, "--data") or {}
        strictly = strict is not False
        result = run(ctx, lambda c: c.run_task(tenant, task, contact_id, values, strict=strictly))
    if result.status == "refused":
        _print_refusal(result.warnings, tenant, by_job=job is not None)
        raise typer.Exit(REFUSED)
    if result.status == "failed":
        typer.echo(
            f"error: the task {task!r} failed on the data plane of tenant {tenant!r} and "
            f"nothing of it was committed; its task_failed log line (run {result.run_id}) "
            "says why",
            err=True,
        )
        raise typer.Exit(REFUSED)
    if result.warnings:
        _print_warnings(result.warnings, tenant, by_job=job is not None)


_JOB_HINT = (
    "hint: to run a pending job with the data it was scheduled with, use --job JOB_ID "
    "(botfleet cp tasks list {tenant} shows the job ids)"
)


def _print_refusal(warnings: list[Any], tenant: str, *, by_job: bool) -> None:
    """A strict run refused: what its templates lack, and what to do, on stderr."""
    typer.secho("error: a template of the task lacks a value:", fg=typer.colors.RED, err=True)
    for warning in warnings:
        line = f"  {warning.code} at {warning.where}: {warning.message}"
        typer.secho(_terminal_safe(line), fg=typer.colors.YELLOW, err=True)
    if by_job:
        advice = "nothing was sent and the job stays pending; leave out --strict to send anyway"
    else:
        advice = "nothing was sent; pass the values with --data, or --allow-missing to send anyway"
    typer.echo(advice, err=True)
    if not by_job:
        typer.echo(_JOB_HINT.format(tenant=tenant), err=True)


def _print_warnings(warnings: list[Any], tenant: str, *, by_job: bool) -> None:
    """The run's warnings on stderr, one a line, in yellow where the terminal shows colours."""
    count = len(warnings)
    header = (
        f"warnings: the task ran, but its turn reported {count} problem{'s' * (count != 1)} "
        "(its messages may read wrong):"
    )
    typer.secho(header, fg=typer.colors.YELLOW, err=True)
    for warning in warnings:
        line = f"  {warning.code} at {warning.where}: {warning.message}"
        typer.secho(_terminal_safe(line), fg=typer.colors.YELLOW, err=True)
    if not by_job:
        typer.echo(_JOB_HINT.format(tenant=tenant), err=True)


def _terminal_safe(text: str) -> str:
    """`text` with its control characters written as escapes: the flow's names are the
    tenant's, and printed raw an escape sequence would drive the operator's terminal."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


@tasks_app.command("cancel")
def cancel_job(
    ctx: typer.Context,
    tenant: str,
    job_id: str = typer.Argument(
        ...,
        help="The pending job, as `tasks list` shows its job_id: once:<key> (a reminder).",
        show_default=False,
    ),
) -> None:
    """Cancel a pending reminder (a one-off job) of the tenant, as the flow's cancel_task of
    its key does: it never runs. Prints what the job was as JSON. A standing schedule cannot
    be cancelled (it is the flow's `standing_schedules`): exit 1."""
    run(ctx, lambda c: c.cancel_job(tenant, job_id))


@tasks_app.command("list")
def list_tasks(
    ctx: typer.Context,
    tenant: str,
    contact: str | None = typer.Option(
        None, "--contact", help="Only this contact's jobs.", show_default=False
    ),
    task: str | None = typer.Option(
        None, "--task", help="Only jobs of this task.", show_default=False
    ),
    limit: int | None = typer.Option(
        None,
        "--limit",
        min=1,
        max=1000,
        help="At most N jobs, the soonest (1 to 1000; the control plane's default is 200).",
        show_default=False,
    ),
) -> None:
    """The tenant's pending scheduled jobs (one-off tasks and standing schedules), soonest
    first, as JSON."""

    def ask(client: Any) -> Any:
        return client.list_tasks(tenant, contact_id=contact, task=task, limit=limit)

    run(ctx, ask)
