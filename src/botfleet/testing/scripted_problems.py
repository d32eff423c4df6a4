"""The problems of a scripted `mock` connector's settings (a tenant's `type: mock` binding, or a
conversation test's connector fixture) as (full key, message) pairs an author can act on:
`connectors.calendar.operations.book_appointment.then`, "unknown key 'then' (known: result,
results, ...)". Never pydantic's own text nor the values (a binding may hold secrets).
"""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from botfleet.adapters.connectors.scripted import OperationScript, ScriptedSettings
from botfleet.flows._issues import did_you_mean
from botfleet.flows._schema_errors import SchemaProblem, schema_problems

__all__ = ["scripted_problems"]

#: Set by the sandbox, never by the author: not offered as a known key.
_NOT_OFFERED = frozenset({"type"})


def scripted_problems(error: ValidationError, prefix: str) -> list[tuple[str, str]]:
    """`error` (raised validating `ScriptedSettings`) as (key under `prefix`, message) pairs."""
    return [_described(problem, prefix) for problem in schema_problems(error, ScriptedSettings)]


def _described(problem: SchemaProblem, prefix: str) -> tuple[str, str]:
    key = f"{prefix}.{problem.path}" if problem.path else prefix
    if problem.kind != "extra_forbidden" or not problem.place:
        return key, problem.message
    name = str(problem.place[-1])
    # An event's script is an operation's but for `by_event`, which it cannot have.
    hidden = _NOT_OFFERED | ({"by_event"} if _in_by_event(problem.place) else set())
    known = [k for k in _owner(problem.place).model_fields if k not in hidden]
    return key, f"unknown key {name!r}{did_you_mean(name, known)} (known: {', '.join(known)})"


def _owner(place: tuple[str | int, ...]) -> type[BaseModel]:
    """The model whose key the last part of `place` is: an operation's script
    (`operations.<name>.<key>`, or an event's: `operations.<name>.by_event.<event>.<key>`),
    else the settings."""
    if (len(place) == 3 and place[0] == "operations") or _in_by_event(place):
        return OperationScript
    return ScriptedSettings


def _in_by_event(place: tuple[str | int, ...]) -> bool:
    return len(place) == 5 and place[0] == "operations" and place[2] == "by_event"
