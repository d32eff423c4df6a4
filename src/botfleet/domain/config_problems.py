"""Pydantic's validation errors on a tenant file's sections as (key, message) pairs an author
can act on: full dotted keys, "unknown key 'chanel' (did you mean 'channel'?)", no library
prefixes, and never the value (bindings hold secrets).

The flow loader has its own, richer translation (`flows/_schema_errors.py`, which walks the
flow schema's unions); tenant files are flat enough for this one, and `domain` imports nothing
from `flows`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError


def dotted(prefix: str, loc: Iterable[int | str]) -> str:
    """The key of `loc` under `prefix`: `connectors.calendar` and `("schedule", "mon", 0)` give
    `connectors.calendar.schedule.mon[0]`."""
    key = prefix
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key = f"{key}.{part}" if key else str(part)
    return key or "-"


def config_problems(
    exc: ValidationError, *, prefix: str = "", model: type[BaseModel] | None = None
) -> list[tuple[str, str]]:
    """Every distinct problem of `exc`, in pydantic's order. `model` (what was validated)
    lets an unknown top-level key suggest the closest allowed one."""
    problems = dict.fromkeys(describe(error, prefix=prefix, model=model) for error in exc.errors())
    return list(problems)


def describe(
    error: Mapping[str, Any], *, prefix: str = "", model: type[BaseModel] | None = None
) -> tuple[str, str]:
    """One of pydantic's errors as (full key, message)."""
    loc = tuple(error["loc"])
    return dotted(prefix, loc), _message(error, loc, model)


def _message(error: Mapping[str, Any], loc: tuple[int | str, ...], model: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        allowed = list(model.model_fields) if model is not None and len(loc) == 1 else []
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        return f"unknown key {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind == "missing":
        return "missing required key"
    message = str(error["msg"])
    if kind in ("value_error", "assertion_error"):
        return message.split(", ", 1)[-1]  # "Value error, unknown time zone ..." -> the reason
    return message[:1].lower() + message[1:]
