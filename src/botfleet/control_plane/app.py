"""The control-plane FastAPI application: `create_app(settings)`; everything else is built in
the lifespan (database, migrations, crypto, HTTP client)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from botfleet import __version__
from botfleet.control_plane.api import (
    admin,
    audit,
    boot,
    contacts,
    credentials,
    fleet,
    flows,
    health,
    keys,
    knowledge,
    tasks,
    tenants,
)
from botfleet.control_plane.api.bodies import json_body_limit, reads_as_json
from botfleet.control_plane.api.errors import install_error_handlers
from botfleet.control_plane.api.guards import (
    ContainUnhandledErrors,
    JsonBodyGuard,
    log_body_refusal,
)
from botfleet.control_plane.api.observe import RequestObserver
from botfleet.control_plane.bootstrap import DatabaseStartupFailed, open_container
from botfleet.control_plane.db.engine import describe_database, is_sqlite
from botfleet.control_plane.logs import configure_logging, get_logger
from botfleet.control_plane.metrics import ControlPlaneMetrics
from botfleet.control_plane.services.url_review import log_stored_urls_outside_policy
from botfleet.control_plane.settings import ControlPlaneSettings
from botfleet.control_plane.url_policy import Resolver
from botfleet.http_guards import BodyGuard
from botfleet.release import release
from botfleet.startup_problems import explain_startup_problems, invalid_settings
from botfleet.web.app import DOCS_URL, OPENAPI_URL
from botfleet.web.nosniff import Nosniff
from botfleet.web.openapi import swagger_page

_log = get_logger("app")

DESCRIPTION = """\
The shared service that manages every tenant: tenants and their bindings, API keys and boot
tokens, versioned flows and knowledge documents, encrypted credentials, the boot payload each
data plane pulls, the audit log and the fleet's health.

Authenticate with `Authorization: Bearer <key>` (or `X-API-Key`): the admin key from
`CP_ADMIN_API_KEY`, or a tenant API key (which only ever sees its own tenant). The boot route
takes the tenant's boot token instead.
"""


def create_app(
    settings: ControlPlaneSettings,
    *,
    data_plane_transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver | None = None,
) -> FastAPI:
    """Build the app. Nothing touches the database until the lifespan starts.

    Args:
        settings: validated settings (build them with ``ControlPlaneSettings()``).
        data_plane_transport: HTTP transport used to reach data planes (tests pass a mock).
        resolver: looks up the host names in tenants' binding URLs (`CP_TENANT_URL_POLICY`);
            default: the system's resolver. Tests pass a fake (no real DNS).
    """
    configure_logging(settings.log_level, json=settings.log_json)
    metrics = ControlPlaneMetrics()

    startup_problems: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            try:
                container = await stack.enter_async_context(
                    open_container(
                        settings,
                        metrics,
                        data_plane_transport=data_plane_transport,
                        resolver=resolver,
                    )
                )
            except DatabaseStartupFailed as exc:
                startup_problems.append(str(exc))
                raise
            app.state.container = container
            await log_stored_urls_outside_policy(
                container.uow(), container.box, container.url_guard
            )
            _log.info(
                "control plane started",
                release=release(),
                environment=settings.environment,
                database=_database_named(settings),
            )
            yield
        _log.info("control plane stopped")

    app = FastAPI(
        title="botfleet control plane",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's own pages load Swagger UI and ReDoc from a CDN at a floating major version
        # with no integrity check, on the origin where the admin key is typed. Our /docs pins
        # the version and has the browser check each file (docs/decisions.md); ReDoc and the
        # OAuth2 redirect page (no OAuth2 here) are not served.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    if settings.api_docs:
        _serve_docs(app)
    install_error_handlers(app, metrics)
    routers = (
        tenants, keys, flows, knowledge, credentials, contacts, tasks, boot, audit, fleet, admin,
    )  # fmt: skip
    for module in (*routers, health):
        app.include_router(module.router)
    # Oversized or absurdly nested bodies are refused before any route reads them. The bound
    # lets through a document at its limit sent as JSON however it is escaped; the flow and
    # knowledge routes then apply their own limits to the document's bytes.
    largest = max(settings.max_flow_bytes, settings.max_knowledge_bytes)
    app.add_middleware(JsonBodyGuard)  # inside BodyGuard: it reads a bounded body
    app.add_middleware(
        BodyGuard,
        max_bytes=json_body_limit(largest),
        on_refusal=log_body_refusal,
        nests=reads_as_json,
    )
    app.add_middleware(RequestObserver, metrics=metrics)
    app.add_middleware(ContainUnhandledErrors)  # it sees what the others raise
    app.add_middleware(Nosniff)  # outside every layer that answers: on each answer
    explain_startup_problems(app, startup_problems)  # outermost
    return app


def _database_named(settings: ControlPlaneSettings) -> str:
    """Which database the process uses, for its start line: the backend, host and name or the
    SQLite path, never the password (`describe_database`)."""
    where = describe_database(settings.database_url)
    if is_sqlite(settings.database_url):
        path = make_url(settings.database_url).database or ""
        if path and path != ":memory:" and not Path(path).is_absolute():
            # Relative to the folder the process started in: `/` under systemd.
            where += f" ({Path(path).resolve()})"
    in_schema = f", schema {settings.database_schema}" if settings.database_schema else ""
    return f"{where}{in_schema}"


def _serve_docs(app: FastAPI) -> None:
    page = swagger_page(app.title, OPENAPI_URL)

    async def docs(request: Request) -> Response:
        return HTMLResponse(page)

    # A plain route, as FastAPI adds its own: outside the schema; the metrics count it under
    # its path (`api/observe.py`).
    app.add_route(DOCS_URL, docs, include_in_schema=False)


def settings_from_env() -> ControlPlaneSettings:
    """The CP_* settings; invalid ones end the process with status 2 after one line on stderr
    naming each, never a refused value (no secret printed). Both entry points start so:
    `botfleet serve control-plane` and ``uvicorn --factory`` (which would print pydantic's
    text in a traceback, status 3)."""
    try:
        return ControlPlaneSettings()
    except ValidationError as exc:
        problem = invalid_settings("control plane settings are invalid", exc, ControlPlaneSettings)
        sys.stderr.write(problem + "\n")
        raise SystemExit(2) from None


def create_app_from_env() -> FastAPI:
    """`create_app` with settings from the environment, for ``uvicorn --factory``: the
    process's lines, uvicorn's included, are written as the control plane's (JSON)."""
    settings = settings_from_env()
    configure_logging(settings.log_level, json=settings.log_json, libraries=True)
    return create_app(settings)
