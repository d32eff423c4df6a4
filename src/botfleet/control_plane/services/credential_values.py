"""Credential values checked as the data plane's boot checks them, before they are stored.

A put's secrets are merged into the binding they fill as the boot payload merges them and
validated with that binding's settings model, the adapter's own (`binding_schemas.
credential_target` says which), then with what the adapter checks beyond its model at boot (a
Google service-account key must load). So the rules live once, in the adapters: a secret the
control plane stores is one the data plane starts with. Messages name the place, never a value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from botfleet.control_plane.binding_schemas import CredentialTarget
from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.json_places import error_text, loc_place


def check_credential_values(
    target: CredentialTarget, values: Mapping[str, Any], where: str = "body"
) -> None:
    """Check a put's secrets with the rules the data plane applies to them at boot: merged over
    the binding as the boot payload merges them, validated with the binding's settings model
    (a Telegram `bot_token` as BotFather gives it, a `webhook_secret` Telegram takes, WhatsApp
    secrets without surrounding spaces, a webhook `url`...), then with what the adapter checks
    beyond its model (`_adapter_problems`: a Google service-account key that loads).

    Raises `InvalidInput` naming each refused ``<where>.<name>`` (a rule across settings, such
    as Google's "credentials_path or service_account_info, not both": `where`), never a value.
    Problems of the binding's own settings are not the put's: the binding was checked when set.
    """
    if target.model is None:
        return
    merged = {**target.binding, **values}
    try:
        parsed = target.model.model_validate(merged, context=dict(target.context))
    except ValidationError as exc:
        # A setting's alias is its place (`secret_token`): the names the put gave are the keys.
        problems = [
            (loc_place(where, e["loc"]), error_text(e["msg"]))
            for e in exc.errors()
            if not e["loc"] or str(e["loc"][0]) in values
        ]
    else:
        problems = [(f"{where}.{name}", why) for name, why in _adapter_problems(parsed)]
    if problems:
        raise _secrets_refused(problems, values)


def _adapter_problems(parsed: BaseModel) -> list[tuple[str, str]]:
    """(setting, why) for what the data plane's adapter refuses at boot beyond its settings
    model, found by the adapter's own check (never a copy of its rules)."""
    from botfleet.adapters.connectors.calendar.config import GoogleCalendarSettings

    if isinstance(parsed, GoogleCalendarSettings):
        from botfleet.adapters.connectors.calendar.google_auth import service_account_info_problem

        problem = service_account_info_problem(parsed)
        if problem is not None:
            return [("service_account_info", problem)]
    return []


def _secrets_refused(problems: list[tuple[str, str]], values: Mapping[str, Any]) -> InvalidInput:
    """One 422 naming every refused place (the first as its field) with its reason."""
    shown = [(place, _unechoed(why, values)) for place, why in problems]
    first_place, first_why = shown[0]
    others = "".join(f"; {place}: {why}" for place, why in shown[1:])
    return InvalidInput(first_place, first_why + others)


#: Shorter strings may occur in a message by chance ("at most 20 headers").
_ECHO_MIN_CHARS = 4
#: The credential holding a Google service-account key (an object, or its JSON as text).
_GOOGLE_KEY = "service_account_info"
_GOOGLE_URL = re.compile(
    r"https://(?:oauth2\.googleapis\.com|www\.googleapis\.com|accounts\.google\.com)"
    r"/[A-Za-z0-9._~%/-]{0,200}"
)
#: The fields of a Google key that hold no secret, each with the form its value has in a key
#: Google gives: such a value may be repeated by a message ("the key's type is
#: 'authorized_user', not 'service_account'"). A value of another form there may be a secret
#: pasted into the wrong field (a private key as the `type`), so it stays unrepeated.
_SHOWN_KEY_FIELDS = {
    "type": re.compile(r"[a-z_]{1,40}"),
    "project_id": re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]"),
    "client_email": re.compile(
        r"[a-z0-9][a-z0-9._-]{0,63}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){1,4}"
    ),
    "universe_domain": re.compile(r"[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){1,4}"),
    "token_uri": _GOOGLE_URL,
    "auth_uri": _GOOGLE_URL,
    "auth_provider_x509_cert_url": _GOOGLE_URL,
    "client_x509_cert_url": _GOOGLE_URL,
}


def _unechoed(message: str, values: Mapping[str, Any]) -> str:
    """`message`, unless it repeats one of the secrets: the adapters' messages are written
    never to, but a library's message (pydantic's, google-auth's) is not ours to vouch for,
    and an answer or a log line showing a secret would undo the sealing. Only a whole word
    counts: a key file's ``"type": "service_account"`` is not repeated by a message naming
    ``service_account_info``. A Google key's non-secret fields, in the form Google writes
    them (`_SHOWN_KEY_FIELDS`), may be repeated."""
    for text in _secret_strings(values):
        if len(text) >= _ECHO_MIN_CHARS and re.search(
            rf"(?<![A-Za-z0-9_]){re.escape(text)}(?![A-Za-z0-9_])", message
        ):
            return "refused (the reason is not shown: it would repeat the value)"
    return message


def _secret_strings(values: Mapping[str, Any]) -> list[str]:
    """Every string of a put's values a message must not repeat: all of them, a Google key's
    given as text included, but for its shown fields (`_SHOWN_KEY_FIELDS`)."""
    found: list[str] = []
    for name, value in values.items():
        key = _key_object(value) if name == _GOOGLE_KEY else None
        if key is None:
            found += _strings(value)
            continue
        if isinstance(value, str):
            found.append(value)  # the text itself, in case a message quotes it whole
        for field, item in key.items():
            shape = _SHOWN_KEY_FIELDS.get(field)
            if not (isinstance(item, str) and shape is not None and shape.fullmatch(item)):
                found += _strings(item)
    return found


def _key_object(value: object) -> Mapping[str, Any] | None:
    """A Google key's fields, from the object or its JSON text; None for anything else."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
    return value if isinstance(value, Mapping) else None


def _strings(value: object) -> list[str]:
    """Every string in `value`, at any depth (without recursing: a key given as text may nest
    deeper than Python recurses)."""
    found: list[str] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, Mapping):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return found
