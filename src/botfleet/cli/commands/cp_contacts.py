"""`botfleet cp contacts export|erase TENANT CONTACT_ID`: a contact's data on the tenant's data
plane, through the control plane (a person's request to see, or to have erased, what the
business keeps about them). A contact id starting with ``-`` (a Telegram group) goes after
``--``: ``botfleet cp contacts export acme -- -100123``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer

from botfleet.cli.commands.cp_common import run
from botfleet.cli.output_files import check_output, write_output

contacts_app = typer.Typer(
    help="A contact's data on a tenant's data plane: export it, erase it (GDPR requests)."
)

CONTACT_ID = typer.Argument(
    ...,
    help="As the channel names the contact: the WhatsApp number (digits, no +), the Telegram "
    "chat id (one starting with - goes after --), the web chat's id.",
    show_default=False,
)


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
        run(ctx, lambda c: c.export_contact(tenant, contact_id))
        return
    check_output(output, "--output")

    def save(client: Any) -> str:
        exported = client.export_contact(tenant, contact_id)
        write_private(output, json.dumps(exported, indent=2, ensure_ascii=False))
        return f"exported to {output}\n"

    run(ctx, save)


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
        typer.confirm(
            f"Erase everything tenant {tenant!r}'s data plane holds about contact "
            f"{contact_id!r}? This cannot be undone",
            abort=True,
            err=True,
        )
    run(ctx, lambda c: c.erase_contact(tenant, contact_id))
