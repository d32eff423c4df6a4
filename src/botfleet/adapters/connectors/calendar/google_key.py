"""What is wrong with a Google service-account key, said so that an operator can fix it.

The usual mistakes are the wrong download (an OAuth client's `client_secret.json`, a user's
`authorized_user` credentials), a file cut short or edited, and a ``private_key`` pasted with
its line breaks written as ``\\n``. google-auth only names its exception's class for most of
them (``ValueError``, ``MalformedError``), so the key is looked at first. Answers name fields,
never their values: the key is a secret.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["KeyUnusable", "key_problem", "parsed_key", "private_key_problem"]

#: What google-auth needs of a service-account key to sign its token requests.
_REQUIRED = ("client_email", "private_key", "token_uri")
#: What a key file's `type` looks like ("service_account", "authorized_user").
_TYPE_NAME = re.compile(r"[a-z_]{1,40}")
_HOW_TO_GET_ONE = "give a service account's JSON key (Google Cloud: Service accounts, Keys)"


class KeyUnusable(ValueError):
    """A key that cannot be used; the message says why, never quoting the key."""


def parsed_key(text: str) -> Any:
    """The JSON of a key file's text.

    Raises:
        KeyUnusable: the text is not JSON (the message gives the position, not the text).
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise KeyUnusable(f"not a key file's JSON (nested too deeply); {_HOW_TO_GET_ONE}") from None
    except ValueError as exc:
        at = ""
        if isinstance(exc, json.JSONDecodeError):
            at = f" at line {exc.lineno}, column {exc.colno}"
        raise KeyUnusable(f"not valid JSON{at}, cut short or edited? {_HOW_TO_GET_ONE}") from None


def key_problem(info: Any) -> str | None:
    """Why `info` (a key file's parsed JSON) is not a service-account key, or None when it
    looks like one (google-auth may still refuse its private key)."""
    if not isinstance(info, dict):
        return f"the JSON is a {type(info).__name__}, not a key file's object; {_HOW_TO_GET_ONE}"
    if "service_account_info" in info:
        # The file `botfleet cp credentials set` takes wraps the key: this is not the key.
        return "the key is wrapped in service_account_info: give the key file's own JSON"
    if "installed" in info or "web" in info:
        return f"an OAuth client's file, client_secret.json, not a key: {_HOW_TO_GET_ONE}"
    kind = info.get("type")
    if kind is not None and kind != "service_account":
        # Quoted only when it reads as a type's name: a secret pasted there must not be echoed.
        named = f"is {kind!r}," if isinstance(kind, str) and _TYPE_NAME.fullmatch(kind) else "is"
        return f"the key's type {named} not 'service_account'; {_HOW_TO_GET_ONE}"
    missing = [field for field in _REQUIRED if not info.get(field)]
    if missing:
        return f"missing {', '.join(missing)}: not a whole service-account key file"
    return private_key_problem(info["private_key"])


def private_key_problem(private_key: Any) -> str | None:
    """Why a key's ``private_key`` cannot be a PEM private key, or None when it may be."""
    if not isinstance(private_key, str):
        return "private_key is not text"
    if "-----BEGIN" not in private_key:
        return "private_key is not a PEM private key (no -----BEGIN line)"
    if "\n" not in private_key.strip() and "\\n" in private_key:
        return (
            "private_key has its line breaks written as \\n (two characters): copy the key "
            "file's JSON as it is"
        )
    return None
