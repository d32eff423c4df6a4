"""`botfleet contact-hash`: the hash a contact has in a tenant's logs, to find its lines."""

from __future__ import annotations

from pathlib import Path

import typer


def contact_hash(
    tenant: str = typer.Argument(..., help="The tenant id (as in the log lines' `tenant`)."),
    contact: str = typer.Argument(..., help="The contact id: a phone number, a chat id..."),
    key_file: Path = typer.Option(
        ...,
        "--key-file",
        "-k",
        help="The tenant's log-hash.key, beside its state database "
        "(e.g. var/data-plane/acme/log-hash.key).",
    ),
) -> None:
    """Print the hash CONTACT has in TENANT's logs (`contact` field): grep the logs for it.

    The key is only read, never printed; without it the hash cannot be computed.
    """
    from botfleet.contact_hash import hash_with_key, read_key

    try:
        key = read_key(key_file)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(hash_with_key(key, tenant, contact))
