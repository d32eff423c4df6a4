"""A failed start told in one line, for both planes' ASGI apps.

Starlette reports a lifespan that failed to start with its traceback, which uvicorn logs (~60
lines, or one JSON line ~1 kB long whose last line is the error). A failure the lifespan could
explain (the control plane's database, the data plane's refused configuration) is appended to
a list the app's lifespan shares; it is reported with that message instead, and the `serve`
commands exit with status 2 (see `startup_problem`) where uvicorn would exit with 3.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["StartupProblemInOneLine", "explain_startup_problems", "startup_problem"]


class StartupProblemInOneLine:
    """Rewrites the lifespan's failure message with the last explained problem; other scopes
    pass through."""

    def __init__(self, app: ASGIApp, problems: list[str]) -> None:
        self.app = app
        self.problems = problems

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def explained(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed" and self.problems:
                message = {**message, "message": self.problems[-1]}
            await send(message)

        await self.app(scope, receive, explained)


def explain_startup_problems(app: Starlette, problems: list[str]) -> None:
    """Report the problems the lifespan appends to `problems` in one line (outermost layer:
    add it last), and keep them for `startup_problem`."""
    app.add_middleware(StartupProblemInOneLine, problems=problems)
    app.state.startup_problems = problems


def startup_problem(app: Starlette) -> str | None:
    """Why `app` failed to start, when its lifespan explained it (`explain_startup_problems`);
    else None."""
    problems: list[str] = getattr(app.state, "startup_problems", [])
    return problems[-1] if problems else None
