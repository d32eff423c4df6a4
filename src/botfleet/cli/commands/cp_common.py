"""Shared plumbing of the `botfleet cp` commands: the target, the call, the output."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import typer

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

    ModelT = TypeVar("ModelT", bound=BaseModel)

DEFAULT_URL = "http://localhost:8001"
#: Exit status: the control plane refused (an HTTP error status).
REFUSED = 1
#: Exit status: no control plane answered at the URL (down, timeout, or another server).
UNREACHABLE = 2


@dataclass(frozen=True)
class Target:
    url: str
    key: str | None
    timeout_s: float


def emit(value: Any) -> None:
    """Print an answer: models and lists of models as JSON, text as it is."""
    from pydantic import BaseModel

    if isinstance(value, str):
        typer.echo(value, nl=not value.endswith("\n"))
        return
    if value is None:
        return
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    typer.echo(terminal_safe_json(json.dumps(value, indent=2, ensure_ascii=False, default=str)))


#: Characters JSON lets through raw that drive a terminal or reorder what it shows: C1 controls
#: and DEL, and the bidirectional overrides, isolates and marks.
_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe_json(text: str) -> str:
    """JSON text with those characters written as `\\uXXXX` escapes: the same JSON value, but
    what a web chat visitor typed (an export holds it) cannot drive the operator's terminal or
    make a line read backwards. (JSON escapes the C0 controls itself.)"""
    return _UNSAFE.sub(lambda found: f"\\u{ord(found[0]):04x}", text)


def api_key(value: str | None) -> str | None:
    """The API key as given, without surrounding whitespace (a key read from a file keeps its
    newline); "" is no key. A key that cannot be sent in a header is refused, never shown
    (the HTTP library's error would print it)."""
    if value is None or not value.strip():
        return None
    key = value.strip()
    if not (key.isascii() and key.isprintable()) or any(c.isspace() for c in key):
        raise typer.BadParameter(
            "the API key has spaces, control or non-ASCII characters, which no key has "
            "(check BOTFLEET_API_KEY; the key is not shown)",
            param_hint="--key",
        )
    return key


def control_plane_url(ctx: typer.Context, param: typer.CallbackParam, value: str) -> str:
    """`--url` (or BOTFLEET_CP_URL), refused before any request when it holds a user name or
    password: see `refuse_credentials_in_url`."""
    source = ctx.get_parameter_source(param.name or "url")
    # By name: typer carries its own copy of click, whose enum this is.
    hint = "BOTFLEET_CP_URL" if source is not None and source.name == "ENVIRONMENT" else "--url"
    refuse_credentials_in_url(value, key_hint="--key or BOTFLEET_API_KEY", param_hint=hint)
    return value


def refuse_credentials_in_url(url: str, *, key_hint: str, param_hint: str | None = None) -> None:
    """A usage error when `url` holds ``user:password@``: the HTTP library sends it as
    ``Authorization: Basic``, replacing the API key, and every call fails with 401 "missing
    API key", which points nowhere near the URL. The password is never shown."""
    try:
        netloc = urlsplit(url.strip()).netloc
    except ValueError:  # not a URL at all: the HTTP library says why, when it is used
        return
    if "@" not in netloc:
        return
    from botfleet.control_plane.client import mask_url

    raise typer.BadParameter(
        f"{mask_url(url.strip())}: the control plane takes an API key ({key_hint}), not a "
        "user name or password in its URL; remove the 'user:password@' part from the URL",
        param_hint=param_hint,
    )


def positive_seconds(value: float) -> float:
    """`--timeout`: more than 0 seconds."""
    if not value > 0:
        raise typer.BadParameter(f"{value:g}: give a number of seconds above 0")
    return value


#: The shortest text `redact` takes out of a message as the key.
_SHORTEST_KEY = 8


def redact(message: str, key: str | None) -> str:
    """`message` without the API key nor a password written in a URL (``user:pass@``). A "key"
    shorter than `_SHORTEST_KEY` is no key the control plane accepts (its admin key has 16
    characters or more, a tenant's far more), and taking its letters out of every word made the
    message unreadable (`--key e`: "invalid API k***y")."""
    if key and len(key) >= _SHORTEST_KEY:
        message = message.replace(key, "***")
    return re.sub(r"(?<=://)[^/@\s]+@", "***@", message)


def not_the_api(url: str, exc: ValueError) -> str:
    """Why an answer is not the control plane's (a JSON or validation error), in one line."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        count = exc.error_count()
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the body"
        reason = f"{count} problem{'s' * (count != 1)} with its JSON, e.g. {where}: {first['msg']}"
    else:
        reason = f"not JSON ({exc})"
    return not_the_control_plane(url, reason)


def not_the_control_plane(url: str, reason: str) -> str:
    """The one line for an answer that is not the control plane's, `reason` saying why."""
    return f"{url} answered, but not as the control plane does: {reason}; is --url right?"


@contextmanager
def control_plane_errors(url: str, key: str | None) -> Iterator[None]:
    """Turn a failed call into one `error: ...` line on stderr (never showing the key) and
    exit status REFUSED or UNREACHABLE; a `url` with ``user:password@`` is a usage error
    before any call (`cp --url` refuses it first; this covers every other caller)."""
    from pydantic import ValidationError

    from botfleet.control_plane.client import (
        ControlPlaneAPIError,
        ControlPlaneConnectionError,
        NotTheControlPlaneError,
    )

    refuse_credentials_in_url(url, key_hint="BOTFLEET_API_KEY")

    def fail(message: str, code: int) -> typer.Exit:
        typer.echo(f"error: {redact(message, key)}", err=True)
        return typer.Exit(code)

    try:
        yield
    except ControlPlaneAPIError as exc:
        message = str(exc)
        if "?drop_stale_credentials=true" in message:
            # The API's words name its query; the commands' option is another spelling.
            message += " (here: repeat the command with --drop-stale-credentials)"
        elif "?force=true" in message:
            message += " (here: repeat the command with --force)"
        raise fail(message, REFUSED) from None
    except NotTheControlPlaneError as exc:
        # An error status without the control plane's JSON: another server at that URL.
        raise fail(not_the_control_plane(exc.url, exc.reason), UNREACHABLE) from None
    except ControlPlaneConnectionError as exc:
        raise fail(str(exc), UNREACHABLE) from None
    except (json.JSONDecodeError, ValidationError) as exc:
        # A 2xx answer the client cannot read: another server at that URL.
        raise fail(not_the_api(url.rstrip("/"), exc), UNREACHABLE) from None


def call_control_plane(
    url: str, key: str | None, call: Callable[[Any], Any], *, timeout_s: float = 30.0
) -> Any:
    """`call(client)` with a client for `url` and `key`; failures as `control_plane_errors`."""
    from botfleet.control_plane.client import ControlPlaneClient

    with control_plane_errors(url, key), ControlPlaneClient(url, key, timeout_s=timeout_s) as c:
        return call(c)


def run(ctx: typer.Context, call: Callable[[Any], Any]) -> Any:
    """Call the control plane with a client for the chosen URL and key; print the answer and
    return it."""
    target: Target = ctx.find_object(Target) or Target(DEFAULT_URL, None, 30.0)
    answer = call_control_plane(target.url, target.key, call, timeout_s=target.timeout_s)
    emit(answer)
    return answer


def validated(model: type[ModelT], fields: Mapping[str, Any]) -> ModelT:
    """`fields` as `model`, or a usage error naming each bad field (before any request)."""
    from pydantic import ValidationError

    try:
        return model.model_validate(dict(fields))
    except ValidationError as exc:
        raise typer.BadParameter(_field_errors(exc)) from None


def _field_errors(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


def json_object(text: str | None, option: str) -> dict[str, Any] | None:
    """A JSON object given on the command line (``@file`` reads it from a file)."""
    if text is None:
        return None
    value = _json_value(text, option)
    if not isinstance(value, dict):
        raise typer.BadParameter("give a JSON object", param_hint=option)
    return value


def json_list(text: str | None, option: str) -> list[Any] | None:
    """A JSON list given on the command line (``@file`` reads it from a file)."""
    if text is None:
        return None
    value = _json_value(text, option)
    if not isinstance(value, list):
        raise typer.BadParameter("give a JSON list ([] for none)", param_hint=option)
    return value


def _json_value(text: str, option: str) -> Any:
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise typer.BadParameter(f"cannot read {path}: {reason}", param_hint=option) from None
        except UnicodeDecodeError:
            raise typer.BadParameter(f"{path} is not UTF-8 text", param_hint=option) from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON ({exc})", param_hint=option) from None
    return value


def read_text(path: Path) -> str:
    """A file's text; ``-`` reads standard input."""
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{path} is not UTF-8 text") from None
