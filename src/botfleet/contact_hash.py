"""How logs name a contact: a keyed hash of its id (a phone number, a chat id), never the id.

`hash_contact(tenant, contact)` is the first 12 hex characters of HMAC-SHA256 under the tenant's
log-hash key. The tenant id alone was no salt: it is printed in the same line, and the phone
numbers of a country are few enough to try them all in about a minute. Without the key, a hash
cannot be tested against a guess; with it, every line about one contact carries the same hash
(runtime and scheduler alike: both call this module), across restarts too when the key is kept.

A data plane sets its tenant's key once, at bootstrap, from `log-hash.key` beside the state
database (`load_or_create_key`, created on first start). A tenant without a key set (in-memory
stores: tests, `botfleet chat`, the sandbox) hashes with a random key of this process.

Adapters call this module and must not import the data plane, hence its place at the top.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import stat
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import overload

import structlog

# Loaded at boot only: its events belong with the other boot events operators watch.
log = structlog.get_logger("botfleet.data_plane.boot")

KEY_FILE = "log-hash.key"
KEY_BYTES = 32
HASH_CHARS = 12

_PROCESS_KEY = secrets.token_bytes(KEY_BYTES)
_KEYS: dict[str, bytes] = {}


@overload
def hash_contact(tenant_id: str, contact_id: str) -> str: ...


@overload
def hash_contact(tenant_id: str, contact_id: str | None) -> str | None: ...


def hash_contact(tenant_id: str, contact_id: str | None) -> str | None:
    """The contact's hash in the tenant's logs (None for no contact: a standing job's run)."""
    if contact_id is None:
        return None
    return _digest(_KEYS.get(tenant_id, _PROCESS_KEY), tenant_id, contact_id)


#: Shorter ids are not scrubbed: "a" would mangle every word, and is no phone number.
MIN_SCRUBBED_LENGTH = 4


def scrub_contact(text: str, tenant_id: str, contact_id: str) -> str:
    """`text` with the raw `contact_id` replaced by its hash (`<contact 1a2b...>`): error texts
    quote the ids they refused. The one rule of the runtime's and the channels' lines."""
    if len(contact_id) < MIN_SCRUBBED_LENGTH or contact_id not in text:
        return text
    return text.replace(contact_id, f"<contact {hash_contact(tenant_id, contact_id)}>")


#: Fewer digits than a phone number has, with its country code, anywhere: Graph's error codes
#: (131000) and subcodes, HTTP statuses, counts.
MIN_NUMBER_DIGITS = 7
#: Digits with at most two of `+ ( ) - . space` between two of them, not inside a word or a
#: longer run (a wamid's letters and digits, a hex hash). Each repetition takes one digit: linear.
_NUMBER = r"(?<![\w+(])[+(]{0,2}\d(?:[ .()\-]{0,2}\d)*\)?(?!\w)"
#: A hash already put in, whose 12 hex characters may all be digits: left as it is.
_PLACED = r"<(?:contact|number) [0-9a-f]+>"
_NUMBER_OR_PLACED = re.compile(f"{_PLACED}|{_NUMBER}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: A contact id that is a number as people write it (a WhatsApp `wa_id`, a Telegram chat id).
_NUMBER_ID = re.compile(r"[+\-(). \d]+")


def scrub_numbers(
    text: str, tenant_id: str | None = None, contact_ids: Iterable[str] = (), *, prefix: str = ""
) -> str:
    """`text` with each run of digits that may be a phone number replaced.

    A run with the digits of one of `contact_ids` becomes that contact's `<contact <hash>>`;
    another becomes `<number <hash>>`, the hash a contact of `tenant_id` whose id is those
    digits has (a WhatsApp contact's: the line can be matched with that contact's), or
    `<number>` without a tenant. `prefix`: the ids' kind on a tenant's more channel
    (`whatsapp:`), hashed with them as the runtime knows them.
    """
    known: dict[str, str] = {}
    for contact_id in contact_ids:
        if _NUMBER_ID.fullmatch(contact_id):
            known.setdefault(_digits(contact_id), contact_id)

    def replace(match: re.Match[str]) -> str:
        run = match.group()
        digits = _digits(run)
        if run.startswith("<") or len(digits) < MIN_NUMBER_DIGITS or _ISO_DATE.fullmatch(run):
            return run
        # A closing parenthesis the number did not open is the text's ("(call 600 111 222)").
        kept = ")" if run.endswith(")") and run.count(")") > run.count("(") else ""
        if tenant_id is None:
            return "<number>" + kept
        if digits in known:
            return f"<contact {hash_contact(tenant_id, prefix + known[digits])}>{kept}"
        return f"<number {hash_contact(tenant_id, prefix + digits)}>{kept}"

    return _NUMBER_OR_PLACED.sub(replace, text)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


# The key is part of the memo's key, so setting a tenant's key never serves a stale hash.
@lru_cache(maxsize=8192)
def _digest(key: bytes, tenant_id: str, contact_id: str) -> str:
    # The tenant is hashed too: tenants without a key of their own share the process's key.
    message = f"{tenant_id}\x00{contact_id}".encode()
    return hmac.digest(key, message, "sha256").hex()[:HASH_CHARS]


def hash_with_key(key: bytes, tenant_id: str, contact_id: str) -> str:
    """The hash `hash_contact` gives under `key` (operators finding a contact's log lines)."""
    return _digest(key, tenant_id, contact_id)


def read_key(path: Path) -> bytes:
    """The key stored at `path`, read only (never created or replaced, unlike at boot).

    Raises:
        ValueError: missing, unreadable or not a key; the message names the path.
    """
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(
            f"{path}: no such file (a data plane creates {KEY_FILE} beside its state database "
            "at its first start)"
        ) from None
    except OSError as exc:
        raise ValueError(f"{path}: unreadable ({type(exc).__name__})") from None
    if len(key) != KEY_BYTES:
        raise ValueError(
            f"{path}: {len(key)} bytes instead of {KEY_BYTES}, not a log-hash key (a data plane "
            "replaces such a file with a new key at its next start)"
        )
    return key


def use_key(tenant_id: str, key: bytes | None) -> None:
    """Hash `tenant_id`'s contacts under `key` from now on; None: the process's random key."""
    if key is None:
        _KEYS.pop(tenant_id, None)
    else:
        _KEYS[tenant_id] = key


def key_file_beside(state_db: Path) -> Path:
    return state_db.parent / KEY_FILE


def load_or_create_key(path: Path) -> bytes:
    """The key stored at `path`; created there (owner-only) if missing, replaced (logged) if
    unusable. Never raises: a key that cannot be saved is still used, for this process only."""
    problem: str | None = None
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as exc:
        problem = f"unreadable: {type(exc).__name__}"
    else:
        if len(key) == KEY_BYTES:
            _keep_private(path)
            return key
        problem = f"{len(key)} bytes instead of {KEY_BYTES}"
    key = secrets.token_bytes(KEY_BYTES)
    try:
        _write_key(path, key, replace=problem is not None)
    except FileExistsError:
        # Another process created it since the read: both must hash alike, so take that one.
        return load_or_create_key(path)
    except OSError as exc:
        log.warning(
            "log_hash_key_not_saved",
            path=str(path),
            error=type(exc).__name__,
            detail="contact hashes in the logs will not match those of other runs",
        )
        return key
    if problem is None:
        log.info("log_hash_key_created", path=str(path))
    else:
        log.warning(
            "log_hash_key_replaced",
            path=str(path),
            problem=problem,
            detail="contact hashes in the logs will not match those of earlier runs",
        )
    return key


def _keep_private(path: Path) -> None:
    # A restored backup can come back world-readable; the key is as sensitive as the hashes'
    # phone numbers. Failing to tighten it is no reason not to start.
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
    except OSError:
        pass


def _write_key(path: Path, key: bytes, *, replace: bool) -> None:
    """Write-then-rename, so a crash never leaves half a key. Unless `replace`, an existing
    file wins (FileExistsError): two processes starting together end up with one key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)  # atomic, and fails if the file exists
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links
                os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
