"""`botfleet cp tasks run TENANT TASK CONTACT_ID`: run a task of the tenant's flow now for a
contact, through the control plane (the team answering a contact through the bot during a
hand-off: ``--text "..."`` is the ``team_reply`` task's ``data: {text: ...}``). A contact id
starting with ``-`` (a Telegram group) goes after ``--``.

`botfleet cp tasks list TENANT`: the pending scheduled jobs, soonest first."""

from __future__ import annotations

from typing import Any

import typer

from botfleet.cli.commands.cp_common import REFUSED, json_object, run

tasks_app = typer.Typer(
    help="A tenant's flow tasks on its data plane: run one now for a contact; list the "
    "pending jobs."
)


def register(app: typer.Typer) -> None:
    app.add_typer(tasks_app, name="tasks")


@tasks_app.command("run")
def run_task(
    ctx: typer.Context,
    tenant: str,
    task: str = typer.Argument(
        ..., help="A task of the tenant's flow (its `tasks:`).", show_default=False
    ),
    contact_id: str = typer.Argument(
        ...,
        help="As the channel names the contact: the WhatsApp number, the Telegram chat id "
        "(one starting with - goes after --), the web chat's id.",
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
) -> None:
    """Run the task now for the contact, in the contact's order, and print what became of it
    as JSON. Exits 1 when the task failed on the data plane (the answer is printed too)."""
    if data is not None and text is not None:
        raise typer.BadParameter("give --data or --text, not both", param_hint="--text")
    values = {"text": text} if text is not None else json_object(data, "--data") or {}
    result = run(ctx, lambda c: c.run_task(tenant, task, contact_id, values))
    if result.status == "failed":
        typer.echo(
            f"error: the task {task!r} failed on the data plane of tenant {tenant!r} and "
            f"nothing of it was committed; its task_failed log line (run {result.run_id}) "
            "says why",
            err=True,
        )
        raise typer.Exit(REFUSED)


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
