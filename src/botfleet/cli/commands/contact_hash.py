"""`botfleet contact-hash`: the hash a contact has in a tenant's logs, to find its lines."""

from __future__ import annotations

import re
from pathlib import Path

import typer


def contact_hash(
    tenant: str = typer.Argument(..., help="The tenant id (as in the log lines' `tenant`)."),
    contact: str = typer.Argument(
        ...,
        help="The contact id exactly as the channel gives it: WhatsApp, the number's digits "
        "without '+' (34600123456); Telegram, the chat id.",
    ),
    key_file: Path = typer.Option(
        ...,
        "--key-file",
        "-k",
        help="The tenant's log-hash.key, beside its state database "
        "(e.g. var/fleet/acme/data/acme/log-hash.key under botfleet fleet).",
    ),
) -> None:
    """Print the hash CONTACT has in TENANT's logs (`contact` field): grep the logs for it.

    The exact id is hashed: a WhatsApp contact is its number's digits without '+', so an id
    starting with '+' gets a note on stderr with the hash of the id without it.
    The key is only read, never printed; without it the hash cannot be computed.
    """
    from botfleet.contact_hash import hash_with_key, read_key

    try:
        key = read_key(key_file)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(hash_with_key(key, tenant, contact))
    if contact.startswith("+"):
        # Typed as a phone number is written; stdout keeps the one hash asked for (scripts).
        # As WhatsApp gives the number: its digits, without '+' nor a separator typed in it.
        bare = re.sub(r"[\s().-]", "", contact.lstrip("+"))
        typer.echo(
            f"note: WhatsApp contact ids have no '+' ({bare}), and Telegram ids are chat ids: "
            f"the hash above is of {contact!r} exactly",
            err=True,
        )
        typer.echo(
            f"hash of {bare!r} (without the '+'): {hash_with_key(key, tenant, bare)}", err=True
        )
        # A tenant whose WhatsApp is one of its `more_channels` stores the id with its kind.
        prefixed = f"whatsapp:{bare}"
        typer.echo(
            f"hash of {prefixed!r} (WhatsApp as one of the tenant's more_channels): "
            f"{hash_with_key(key, tenant, prefixed)}",
            err=True,
        )
