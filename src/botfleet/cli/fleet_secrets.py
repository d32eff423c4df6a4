"""The secrets `botfleet fleet start` gives a data plane: from the environment or from files
only their owner may read, never from the command line (`ps` shows it), checked as the data
plane checks them, and never shown in an error."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import typer


@dataclass(frozen=True)
class Secret:
    """Where one secret of the spec comes from."""

    name: str  # as in the JSON files that hold it: boot_token, cache_key, internal_token
    variable: str
    option: str
    how_to_get: str


BOOT_TOKEN = Secret(
    "boot_token",
    "BOTFLEET_BOOT_TOKEN",
    "--boot-token-file",
    "it is the `boot_token` printed once when the tenant was created (`botfleet cp tenants "
    "apply`); `botfleet cp boot-token rotate TENANT` issues a new one",
)
CACHE_KEY = Secret(
    "cache_key",
    "BOTFLEET_CACHE_KEY",
    "--cache-key-file",
    "make one once per tenant and keep it with its other secrets (a key made afresh at each "
    "start cannot open the secrets of the copy cached under the previous one): (umask 077; "
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' "
    "> TENANT.cache-key)",
)
INTERNAL_TOKEN = Secret(
    "internal_token",
    "BOTFLEET_INTERNAL_TOKEN",
    "--internal-token-file",
    "it is the `internal_token` of the tenant's `data_plane` credentials; make one with "
    "python -c 'import secrets; print(secrets.token_urlsafe(32))' and store it with "
    "`botfleet cp credentials set TENANT data_plane --file dp.json`",
)


def read_secret(secret: Secret, file: Path | None, tenant: str) -> str:
    """The secret from `file` when given, else from its environment variable; a usage error
    naming where it looked (never the value) when it is missing or malformed."""
    if file is not None:
        value, source = _from_file(secret, file), f"{secret.option} {file}"
    else:
        value, source = os.environ.get(secret.variable, "").strip(), secret.variable
        if not value:
            raise typer.BadParameter(
                f"no {secret.name.replace('_', ' ')}: set {secret.variable} or give "
                f"{secret.option} (never on the command line: `ps` shows it); "
                f"{secret.how_to_get.replace('TENANT', tenant)}",
                param_hint=secret.option,
            )
    problem = _cache_key_problem(value) if secret is CACHE_KEY else _token_problem(value)
    if problem:
        raise typer.BadParameter(
            f"{source}: {problem} (the value is not shown)", param_hint=secret.option
        )
    return value


def _from_file(secret: Secret, file: Path) -> str:
    """The file's text, or its `secret.name` field when it holds a JSON object (the answer of
    `cp tenants apply`, the `data_plane` credentials file). Refused when others may read it."""

    def refuse(problem: str) -> typer.BadParameter:
        return typer.BadParameter(f"{file}: {problem}", param_hint=secret.option)

    try:
        mode = stat.S_IMODE(file.stat().st_mode)
        if not file.is_file():
            raise refuse("not a file")
        if mode & 0o077:
            raise refuse(
                f"its group or others may use it (mode {mode:04o}), and it holds a secret: "
                f"chmod 600 {file}"
            )
        text = file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise refuse(f"cannot read it: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise refuse("not UTF-8 text") from None
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError:
            raise refuse("starts like JSON but is not valid JSON (the text is not shown)") from None
        field = loaded.get(secret.name) if isinstance(loaded, dict) else None
        if not isinstance(field, str) or not field.strip():
            raise refuse(f"a JSON object without a {secret.name!r} string")
        text = field.strip()
    if not text:
        raise refuse("empty")
    return text


def _token_problem(value: str) -> str | None:
    # As the data plane checks it: a token sent as `Bearer <token>` in a header.
    if all("!" <= c <= "~" for c in value):
        return None
    return "not one token of printable ASCII characters (spaces or control characters inside)"


def _cache_key_problem(value: str) -> str | None:
    # As the data plane checks DP_CACHE_KEY, which it would exit on.
    import base64
    import binascii

    keys = [key.strip() for key in value.split(",") if key.strip()]
    for number, key in enumerate(keys, start=1):
        try:
            valid = len(base64.urlsafe_b64decode(key)) == 32
        except (ValueError, binascii.Error):
            valid = False
        if not valid:
            return f"key {number} of {len(keys)} is not a Fernet key (32 url-safe base64 bytes)"
    return None if keys else "no key, only commas"
