"""Running a coroutine up to its first suspension, and awaiting the rest of it later.

An in-memory connector often answers without ever suspending; the machinery wrapped around a
call in case it waits (a timer for its timeout, a task to finish a write its caller gave up
on) then costs more than the call. `run_until_suspended` runs the coroutine in the caller's
task until it finishes or first waits; `resumed` awaits the rest, handing each thing it waits
for to the awaiting task and each cancellation back to it, as `await` does. Pure asyncio.
"""

from __future__ import annotations

import types
from collections.abc import Coroutine, Generator
from typing import Any


def run_until_suspended(coro: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """``(True, result)`` when `coro` finished without suspending, ``(False, signal)`` when it
    suspended, `signal` being what it waits for (give both to `resumed`). Its exceptions
    propagate."""
    try:
        signal = coro.send(None)
    except StopIteration as done:
        return True, done.value
    return False, signal


@types.coroutine
def resumed(coro: Coroutine[Any, Any, Any], signal: Any) -> Generator[Any, Any, Any]:
    """Await the rest of `coro`, which suspended on `signal` (see `run_until_suspended`)."""
    while True:
        try:
            sent = yield signal
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # a cancellation: it belongs where the coroutine waits
            try:
                signal = coro.throw(exc)
            except StopIteration as done:
                return done.value
        else:
            try:
                signal = coro.send(sent)
            except StopIteration as done:
                return done.value
