"""Shared plumbing of the `botfleet cp` commands: the target, the call, the output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

DEFAULT_URL = "http://localhost:8001"


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
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def run(ctx: typer.Context, call: Callable[[Any], Any]) -> None:
    """Call the control plane with a client for the chosen URL and key; print the answer."""
    from botfleet.control_plane.client import (
        ControlPlaneAPIError,
        ControlPlaneClient,
        ControlPlaneConnectionError,
    )

    target: Target = ctx.find_object(Target) or Target(DEFAULT_URL, None, 30.0)
    try:
        with ControlPlaneClient(target.url, target.key, timeout_s=target.timeout_s) as client:
            answer = call(client)
    except ControlPlaneAPIError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except ControlPlaneConnectionError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    emit(answer)


def json_object(text: str | None, option: str) -> dict[str, Any] | None:
    """A JSON object given on the command line (``@file`` reads it from a file)."""
    if text is None:
        return None
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
    if not isinstance(value, dict):
        raise typer.BadParameter("give a JSON object", param_hint=option)
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
