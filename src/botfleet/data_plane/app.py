"""The data plane app (Starlette): create_app(settings) builds the runtime in the lifespan."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from starlette.applications import Starlette

from botfleet.adapters.registry import (
    WEBCHAT_TYPES,
    build_webhook_routes,
    channel_views,
    fast_path,
)
from botfleet.data_plane.api.contacts import contacts_operations
from botfleet.data_plane.api.errors import install_error_handlers
from botfleet.data_plane.api.health import health_operations
from botfleet.data_plane.api.tasks import tasks_operations
from botfleet.data_plane.api.usage import usage_operations
from botfleet.data_plane.bootstrap import Overrides, bootstrap, load_tenant_flow
from botfleet.data_plane.config_source.startup import initial_tenant_config, watch_control_plane
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.domain.channel_ids import KINDS, id_prefix
from botfleet.domain.errors import ConfigError, FlowValidationError, StoreError
from botfleet.domain.messages import InboundMessage
from botfleet.domain.tenant_config import TenantConfig
from botfleet.http_guards import MAX_BODY_BYTES, BodyGuard
from botfleet.ports.channels import TurnResult
from botfleet.ports.clock import Clock, SystemClock
from botfleet.release import release
from botfleet.startup_problems import explain_startup_problems, store_problem
from botfleet.web import JsonApi, Operation
from botfleet.web.operations import body_limits

if TYPE_CHECKING:  # the pull imports httpx, which a data plane on a local YAML never uses
    from botfleet.adapters.channels.webchat.settings import WebChatSettings
    from botfleet.data_plane.config_source.pull import BootedConfig

log = structlog.get_logger("botfleet.data_plane")

#: Net allocations of tracked objects between two collections of the youngest generation.
#: A turn leaves no cyclic garbage (a benchmark run with `gc.DEBUG_SAVEALL` saved none), so
#: young collections only walk live conversation states; 25,000 runs them 2.5x less often than
#: 10,000 for the same CPU; web chat p99 median 27.3 -> 26.1 ms (docs/benchmarks.md, 2026-12-04).
GC_YOUNG_THRESHOLD = 25_000


class _RuntimeProxy:
    """Routes are built before the app, and the app before the lifespan opens the stores; they
    reach the runtime here (`app` is set once the app exists)."""

    app: Starlette | None = None

    @property
    def _runtime(self) -> Any:
        assert self.app is not None, "the proxy's app is set by create_app"
        return self.app.state.runtime

    async def handle(self, message: InboundMessage) -> TurnResult:
        result: TurnResult = await self._runtime.handle(message)
        return result

    async def accept(self, message: InboundMessage, *, admitted: bool = False) -> bool:
        accepted: bool = await self._runtime.accept(message, admitted=admitted)
        return accepted

    @property
    def sender(self) -> object:
        """The channel's sender (webhooks send read receipts and callback answers through it)."""
        sender: object = self._runtime.sender
        return sender

    def after_turns(self, contact_id: str, job: Callable[[], Awaitable[object]]) -> None:
        """Run `job` after the contact's queued turns, in the contact's order."""
        future = self._runtime.after_turns(contact_id, job)
        future.add_done_callback(_log_job_failure)

    def move_contact(self, old_contact_id: str, new_contact_id: str) -> asyncio.Future[Any]:
        """Queue moving a contact's conversation and jobs to its new id (Telegram)."""
        moving: asyncio.Future[Any] = self._runtime.move_contact(old_contact_id, new_contact_id)
        return moving

    async def append(self, contact_id: str, output: dict[str, Any], at: datetime) -> int:
        seq: int = await self._runtime.outbox.append(contact_id, output, at)
        return seq

    async def since(
        self, *, contact_id: str | None = None, since: int = 0, limit: int = 200
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await self._runtime.outbox.since(
            contact_id=contact_id, since=since, limit=limit
        )
        return rows


def create_app(
    settings: DataPlaneSettings | None = None,
    *,
    config: TenantConfig | None = None,
    overrides: Overrides | None = None,
    boot: BootedConfig | None = None,
) -> JsonApi:
    """The tenant's app. Its configuration: `config`, else `boot` (pulled from the control
    plane), else from `settings` (the local YAML, or a blocking pull from the control plane with
    short timeouts and the cached copy as fallback). Stores open in the lifespan."""
    settings = settings or DataPlaneSettings()
    if boot is not None:
        config = boot.config
    elif config is None:
        config, boot = initial_tenant_config(settings)
    tenant_config = config
    booted = boot
    # Loaded here, not in the lifespan: an invalid flow is reported by `serve data-plane` as
    # `botfleet validate` prints it (FlowValidationError), not as a traceback from uvicorn.
    flow = load_tenant_flow(tenant_config)
    clock: Clock = (overrides.clock if overrides else None) or SystemClock()

    # A configuration the runtime refuses when it is built (a binding: an unknown type or
    # setting, a missing secret, a flow calling a connector the tenant does not bind; the LLM
    # settings; the knowledge file), or a state file it cannot open or recover from, is told in
    # one line (`startup_problem`), not a traceback.
    startup_problems: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            try:
                runtime = await bootstrap(
                    settings,
                    tenant_config,
                    stack,
                    overrides,
                    flow=flow,
                    # Taken by `serve data-plane` before its port (botfleet.cli.data_plane_server).
                    state_lock=getattr(app.state, "state_lock", None),
                )
                app.state.runtime = runtime
                recovered = await runtime.recover()
            except (ConfigError, FlowValidationError) as exc:
                startup_problems.append(str(exc))
                raise
            except StoreError as exc:  # `state.db` or `state.jobs.db`: damaged, locked, full
                startup_problems.append(store_problem(exc))
                raise
            if booted is not None:  # hot reload of newly published flows and knowledge
                app.state.config_watcher = await watch_control_plane(
                    booted, runtime, settings, stack
                )
            log.info(
                "data_plane_ready",
                tenant=tenant_config.tenant_id,
                recovered=recovered,
                release=release(),
            )
            # Boot leaves ~10^5 long-lived objects (modules, pydantic models, the flow) in the
            # oldest generation; every full collection under load walked them all (~150 ms on
            # the single event loop, the p99 in docs/benchmarks.md). Frozen, they are skipped.
            # Here rather than before uvicorn.run: the lifespan's own objects are included.
            gc.freeze()
            # The youngest generation was collected every 700 net allocations: a turn's own
            # short-lived burst (freed by reference counting right after) triggered it, and
            # whatever the other 31 requests in flight held was promoted and walked again in
            # the older generations (~50 us of CPU per request and pauses of up to 45 ms
            # under the web chat benchmark, docs/benchmarks.md). A larger threshold lets
            # bursts die first; the few cycles left wait a little longer.
            gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
            yield

    proxy = _RuntimeProxy()
    channels = _channel_routes(tenant_config, proxy, clock)
    # The channels' routes come first: routes are tried in order, and a turn's request should
    # not be matched against every operations route before its own.
    operations: list[Operation] = list(channels.operations)
    operations += health_operations()
    operations += tasks_operations(settings)
    operations += contacts_operations(settings)
    operations += usage_operations(settings)
    app = JsonApi(
        operations,
        title=f"botfleet data plane: {tenant_config.display_name()}",
        lifespan=lifespan,
        docs=settings.api_docs,
    )
    proxy.app = app
    app.state.tenant_id = tenant_config.tenant_id
    install_error_handlers(app)
    # Ordinary web-chat turns and signed webhook deliveries skip the app's layers (routing,
    # the endpoint's request object); the channel's routes serve the rest. Added first, so it
    # runs inside the body guard.
    for middleware, arguments in channels.fast_paths:
        app.add_middleware(middleware, exception_handlers=app.exception_handlers, **arguments)
    # Oversized or absurdly nested bodies are refused before any route reads them.
    app.add_middleware(BodyGuard, max_bytes=MAX_BODY_BYTES, path_limits=body_limits(operations))
    web = channels.webchat
    if web is not None and web.max_messages_per_minute:
        from botfleet.adapters.channels.webchat.rate_limit import MessageRateLimit

        # Outside the body guard: a refused message's body is never read.
        app.add_middleware(
            MessageRateLimit,
            path="/inbound",
            per_minute=web.max_messages_per_minute,
            burst=web.message_burst,
            on_refused=lambda: app.state.runtime.metrics.rate_limited.inc(),
        )
    if web is not None:
        _add_browser_layers(app, web.allowed_origins, web.embed_origins)
    else:
        from botfleet.web.nosniff import Nosniff

        # The web chat's edge gives it there; a provider channel's answers (webhook errors
        # echo what was sent, /health, /metrics) get it here.
        app.add_middleware(Nosniff)
    # Outermost: it only rewrites the lifespan's failure message.
    explain_startup_problems(app, startup_problems)
    return app


@dataclass
class _ChannelRoutes:
    """What the tenant's channels add to the app."""

    operations: list[Operation] = field(default_factory=list)
    #: (ASGI middleware, its arguments but `exception_handlers`), one per channel that has one.
    fast_paths: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    #: The web chat's settings, when one of the channels is the web chat.
    webchat: WebChatSettings | None = None


def _channel_routes(config: TenantConfig, proxy: _RuntimeProxy, clock: Clock) -> _ChannelRoutes:
    """Each channel's routes and fast path: one channel talks to the runtime itself; several,
    each through its own side of it, which keeps their ids apart (docs/channels.md)."""
    found = _ChannelRoutes()
    views = channel_views(config)
    # A web chat page chooses its ids: never one naming a channel kind (`telegram:5`), which is
    # another channel's contact, or would become one the day the tenant adds that channel.
    reserved = [id_prefix(kind) for kind in KINDS]
    for view in views:
        side: Any = proxy
        webchat = view.config.channel.type in WEBCHAT_TYPES
        if len(views) > 1 or webchat:
            from botfleet.adapters.channels.several import ChannelSide

            side = ChannelSide(proxy, view.prefix, reserved=reserved if webchat else [])
        with view.placed():
            webhook = build_webhook_routes(view.config, side, clock=clock, path=view.path)
            found.operations += webhook or []
            fast = fast_path(view.config, side, clock=clock, path=view.path)
            if fast is not None:
                found.fast_paths.append(fast)
            if webchat:
                found.webchat = _webchat_routes(view.config, side, found.operations, clock, config)
    return found


def _webchat_routes(
    view: TenantConfig, side: Any, operations: list[Operation], clock: Clock, config: TenantConfig
) -> WebChatSettings:
    """Add the web chat's routes to `operations`; its settings.

    Only for web chat tenants: on a WhatsApp tenant, /inbound would let anyone make the bot
    message any phone number, and /messages would show real contacts' conversations."""
    # Imported here: a provider channel's tenant never loads the web chat's modules.
    from botfleet.adapters.channels.webchat import build_routes as build_webchat_routes
    from botfleet.adapters.channels.webchat.settings import webchat_settings

    web = webchat_settings(view.channel.settings(), source=view.source)
    operations += build_webchat_routes(
        side,
        side,
        title=web.title or config.display_name(),
        clock=clock,
        language=config.language,
        # The seed's dev channel lists every contact's messages; the web chat does not.
        list_all_contacts=view.channel.type == "http_dev",
        allowed_origins=web.allowed_origins,
        embed_origins=web.embed_origins,
        greeting=web.greeting,
    )
    return web


def _add_browser_layers(
    app: Starlette, allowed_origins: list[str], embed_origins: list[str]
) -> None:
    """A web chat tenant's outer layers, for the pages of other sites than the data plane's."""
    if allowed_origins:
        from starlette.middleware.cors import CORSMiddleware  # only tenants that need it

        # It answers preflights itself and adds its headers to every answer, the fast
        # paths' included.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            # A busy data plane's 503 says when to send again; a page elsewhere reads it only
            # if exposed.
            expose_headers=["Retry-After"],
            max_age=600,
        )
    from botfleet.adapters.channels.webchat.edge import WebChatEdge

    # Outside CORS: nosniff on every answer, and other sites' pages refused before anything
    # runs (with `embed_origins` set).
    app.add_middleware(WebChatEdge, allowed_origins=allowed_origins, embed_origins=embed_origins)


def _log_job_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("after_turn_job_failed", error=type(future.exception()).__name__)
