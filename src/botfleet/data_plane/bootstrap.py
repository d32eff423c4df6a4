"""Composition root of a data plane: (settings, tenant config) -> a running ConversationRuntime."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import structlog

from botfleet.adapters.registry import (
    WEBCHAT_TYPES,
    build_connectors,
    build_sender,
    check_flow_connectors,
    connector_policies,
)
from botfleet.adapters.scheduling import (
    APSchedulerTaskScheduler,
    jobs_db_beside,
    start_scheduler,
)
from botfleet.adapters.stores._sqlite_channels import SqliteChannelLayout
from botfleet.adapters.stores.file_modes import (
    PRIVATE_FOLDER,
    create_private_file,
    make_private,
    sqlite_files,
)
from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.contact_hash import key_file_beside, load_or_create_key, use_key
from botfleet.data_plane.channel_layout import check_channel_layout
from botfleet.data_plane.config_source.cache import CACHE_FILE
from botfleet.data_plane.llm_fallback import build_llm_fallback, usage_store_for
from botfleet.data_plane.runtime.connectors import ConnectorRegistry
from botfleet.data_plane.runtime.contact_moves import finish_moves
from botfleet.data_plane.runtime.conversation_retention import (
    ForgetsInactive,
    conversation_forgetting,
    retention_of,
)
from botfleet.data_plane.runtime.flow_holder import LiveConfig
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.data_plane.runtime.housekeeping import journal_pruning
from botfleet.data_plane.runtime.metrics import RuntimeMetrics
from botfleet.data_plane.runtime.redelivery import (
    Redelivery,
    redeliverable_bindings,
    redelivering,
)
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.data_plane.state_lock import StateLock, lock_file_beside, take_state_lock
from botfleet.domain.channel_ids import channel_kind, more_channel_ids
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import TenantConfig
from botfleet.flows.engine import SchedulerInfo, StepContext, TenantInfo
from botfleet.flows.load import load_flow, load_flow_text
from botfleet.flows.schema import FlowSpec
from botfleet.ports.clock import Clock, SystemClock

log = structlog.get_logger("botfleet.data_plane.boot")


@dataclass
class Overrides:
    """Test seams: replace any adapter the root would build (fakes from botfleet.testing)."""

    clock: Clock | None = None
    connectors: dict[str, Any] | None = None
    sender: Any = None
    llm: Any = None
    scheduler: Any = None
    stores: Any = None  # an object with .states, .journal, .outbox and commit_turn()
    #: The shared provider API client, a `ProviderHttp` (tests: `HttpxProvider` around an
    #: httpx.AsyncClient on httpx.MockTransport).
    http: Any = None
    #: An `LLMConnector` used instead of the configured provider (guards, quota, resilience
    #: still apply); `llm` replaces the whole fallback instead.
    llm_connector: Any = None
    llm_usage: Any = None  # a `UsageStore` for the LLM token counters


def from_control_plane(settings: DataPlaneSettings) -> bool:
    """Whether the tenant's configuration comes from a control plane (as
    `initial_tenant_config` chooses: a local `TENANT_CONFIG_PATH` wins)."""
    return settings.tenant_config_path is None and bool(settings.control_plane_url)


def load_tenant_flow(config: TenantConfig) -> FlowSpec:
    """The tenant's flow, validated (errors name the flow file, line and path).

    Raises:
        FlowValidationError: the flow has errors.
        ConfigError: `flow_path` names no file that can be read (`flow_path: file not found:
            /srv/flows/salon.yaml`).
    """
    if config.flow_yaml is not None:  # the control plane's text: lines match the upload
        return load_flow_text(config.flow_yaml, source=f"{config.source}:flow").spec
    if config.flow is not None:
        import yaml

        return load_flow_text(yaml.safe_dump(config.flow), source=f"{config.source}:flow").spec
    assert config.flow_path is not None
    path = config.resolve(config.flow_path)
    try:
        return load_flow(path).spec
    except OSError as exc:
        raise ConfigError(config.source, "flow_path", _unreadable(path, exc)) from None


def load_knowledge(config: TenantConfig) -> str:
    """The tenant's knowledge text; `ConfigError` when `knowledge_path` cannot be read."""
    if config.knowledge is not None:
        return config.knowledge
    if config.knowledge_path:
        path = config.resolve(config.knowledge_path)
        try:
            return path.read_text(encoding="utf-8-sig")  # a BOM is no text
        except OSError as exc:
            raise ConfigError(config.source, "knowledge_path", _unreadable(path, exc)) from None
        except UnicodeDecodeError as exc:
            detail = f"not UTF-8 text ({exc.reason} at byte {exc.start}): {path}"
            raise ConfigError(config.source, "knowledge_path", detail) from None
    return ""


def prepare_state_folder(settings: DataPlaneSettings, state_db: Path) -> None:
    """Create the folder of the tenant's state file and check that files can be made in it.

    Checked before anything writes there, so a volume that cannot be used stops the start
    with one message rather than a store's traceback (with the log-hash key already lost).

    Raises:
        ConfigError: the folder cannot be created or written, naming the setting that places
            it (`environment: DP_DATA_DIR: cannot create the folder /srv/data/acme:
            /srv/data is not a directory`).
    """
    folder = state_db.parent
    doing = f"cannot create the folder {folder}"
    try:
        # Owner-only whatever the umask: it holds the contacts' messages and numbers.
        folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
        doing = f"cannot create files in {folder}"
        # What SQLite, the job store and the log-hash key do next.
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        detail = f"{doing}: {_folder_failure(folder, exc)}"
        raise ConfigError("environment", settings.state_db_setting(), detail) from None


def lock_tenant_state(settings: DataPlaneSettings, tenant_id: str) -> StateLock:
    """The tenant's state folder, prepared (`prepare_state_folder`), and its state file locked
    for this data plane (`botfleet.data_plane.state_lock`) until the lock is released or the
    process ends.

    Raises:
        StateInUse: another data plane holds it (the message names the folder, the tenant, the
            holder's pid and what to do).
        ConfigError: the folder or the lock file cannot be used.
    """
    state_db = settings.state_db_for(tenant_id)
    prepare_state_folder(settings, state_db)
    lock = take_state_lock(state_db, tenant_id=tenant_id, setting=settings.state_db_setting())
    keep_state_private(settings, state_db)
    return lock


def keep_state_private(settings: DataPlaneSettings, state_db: Path) -> None:
    """Tighten the tenant's files left with wider modes (an older release's started under
    umask 0022, which made `state.db` readable by every user of the host; a backup restored
    without its modes) to owner-only before anything opens them, and the folder in the
    `DP_DATA_DIR` layout; only this user's, in one warning naming each with the mode it had.
    New files are made private where they are created (the store, `bootstrap` for the jobs)."""
    jobs_db = jobs_db_beside(state_db)
    folder = state_db.parent
    paths = [*sqlite_files(state_db), *sqlite_files(jobs_db)]
    paths += [lock_file_beside(state_db), key_file_beside(state_db), folder / CACHE_FILE]
    if settings.state_db_setting() == "DP_DATA_DIR":
        # The tenant's own folder. `DP_STATE_DB_PATH`'s may be shared (with other tenants'
        # files, or /tmp): its files are kept private, the folder is left as it is.
        paths.insert(0, folder)
    tightened = {str(path): mode for path in paths if (mode := make_private(path)) is not None}
    if tightened:
        log.warning(
            "state_files_made_private",
            files={path: f"{mode:04o}" for path, mode in tightened.items()},
            detail="the group or others could read the tenant's data; they no longer can",
        )


def _folder_failure(folder: Path, exc: OSError) -> str:
    """Why `folder` cannot be used, with the path to fix. `os.path` rather than `Path`: its
    checks answer False where a parent cannot be searched, instead of raising."""
    paths = [str(p) for p in (folder, *folder.parents)]
    if isinstance(exc, NotADirectoryError | FileExistsError):
        blocker = next((p for p in paths if os.path.exists(p) and not os.path.isdir(p)), None)
        return f"{blocker} is not a directory" if blocker else "not a directory"
    if isinstance(exc, PermissionError):
        # The deepest folder that exists is the one lacking the permission.
        where = next((p for p in paths if os.path.isdir(p)), str(folder))
        geteuid = getattr(os, "geteuid", None)  # POSIX only
        # A volume mounted for another user is the usual cause (Kubernetes' fsGroup).
        user = f" (this process runs as user id {geteuid()})" if geteuid else ""
        return f"permission denied in {where}{user}"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    return exc.strerror or type(exc).__name__


def _unreadable(path: Path, exc: OSError) -> str:
    """Why a file named by the tenant config cannot be read, as `botfleet validate` says it."""
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {path}"
    if isinstance(exc, IsADirectoryError):
        return f"is a directory, not a file: {path}"
    return f"cannot read {path}: {exc.strerror or type(exc).__name__}"


async def bootstrap(
    settings: DataPlaneSettings,
    config: TenantConfig,
    stack: AsyncExitStack,
    overrides: Overrides | None = None,
    *,
    flow: FlowSpec | None = None,
    state_lock: StateLock | None = None,
) -> ConversationRuntime:
    """The tenant's runtime. `flow`: `config`'s flow, loaded already (`load_tenant_flow`).
    `state_lock`: the lock of the tenant's state file, taken already by the caller
    (`lock_tenant_state`; `serve data-plane` takes it before binding its port); else taken
    here, before the state is opened. Either is released with `stack`. In-memory stores take
    none."""
    o = overrides or Overrides()
    clock = o.clock or SystemClock()
    live = LiveConfig(
        flow=flow if flow is not None else load_tenant_flow(config),
        knowledge=load_knowledge(config),
    )
    tenant = TenantInfo(
        id=config.tenant_id,
        name=config.display_name(),
        timezone=config.timezone,
        language=config.language,
    )
    state_db = None if o.stores is not None else settings.state_db_for(config.tenant_id)
    if state_db is None:
        stores = o.stores
    else:
        # Before anything in the folder is opened: one data plane per state file.
        if state_lock is None:
            state_lock = lock_tenant_state(settings, config.tenant_id)
        elif state_lock.path != lock_file_beside(state_db):
            raise ValueError(f"{state_lock.path} is not the lock of {state_db}")
        # Released last, once the stores and the scheduler are closed: uvicorn ends a process
        # stopped by a signal by raising that signal again, so its caller gets no chance to.
        stack.enter_context(state_lock)
        # Opened first: a file that refuses the start (damaged, locked) leaves no new key
        # file beside it. Opening logs no contact; recovery, later, does.
        stores = await stack.enter_async_context(await SqliteTenantStore.open(state_db))
        # Before anything reads a contact: a layout that would hand conversations to another
        # channel is refused (docs/channels.md, "Several channels").
        await check_channel_layout(SqliteChannelLayout(stores.database), config)
    # Before anything can log a contact. The key lives with the state it hashes contacts of, so
    # hashes stay comparable across restarts; in-memory stores get the process's random key.
    use_key(
        config.tenant_id,
        None if state_db is None else load_or_create_key(key_file_beside(state_db)),
    )
    connectors = o.connectors or build_connectors(config, clock=clock)
    metrics = RuntimeMetrics()
    # One HTTP client per process, closed with the app; channels call provider APIs through it.
    # The web chat calls none: no client, and its modules are not imported.
    http = o.http
    bindings = [config.channel, *config.more_channels]
    pushes = any(b.type not in WEBCHAT_TYPES for b in bindings)
    if http is None and pushes:
        from botfleet.adapters.provider_http import provider_http_client

        http = await stack.enter_async_context(provider_http_client())
    sender = o.sender or build_sender(config, http=http, registry=metrics.registry)
    if o.connectors is None:  # the tenant's own connectors: the flow must fit them
        check_flow_connectors(config, live.flow, connectors)
    registry = ConnectorRegistry(
        connectors,
        timeout_s=settings.connector_timeout_s,
        policies=connector_policies(config, timeout_s=settings.connector_timeout_s),
        metrics_registry=metrics.registry,
    )
    llm = o.llm
    if llm is None:  # the tenant's LLM fallback; answers only when `llm.enabled`
        usage = o.llm_usage or usage_store_for(stores)
        llm = build_llm_fallback(
            config,
            live=live,
            usage=usage,
            clock=clock,
            # Several channels: the shortest text any takes (the answer fits all of them).
            max_text=getattr(sender, "smallest_text", sender.capabilities.max_text),
            registry=metrics.registry,
            connector_metrics=registry.metrics,
            connector=o.llm_connector,
            # Configured by a control plane, the LLM's `base_url` may be the tenant's choice:
            # no platform-wide key from this process's environment may go there (docs/llm.md).
            environment_keys=not from_control_plane(settings),
        )
        stack.push_async_callback(llm.aclose)
    # The job file sits beside the state file; in-memory stores (tests) get in-memory jobs.
    jobs_db = None if state_db is None else jobs_db_beside(state_db)
    if jobs_db is not None and o.scheduler is None:
        # Made by SQLite it would be 0644 less the umask; its -wal and -shm take its mode.
        create_private_file(jobs_db)
    scheduler = o.scheduler or APSchedulerTaskScheduler(
        tenant_id=config.tenant_id,
        jobs_db=jobs_db,
        grace=timedelta(seconds=settings.scheduler_grace_s),
        clock=clock,
        metrics=metrics.registry,
    )
    runtime = ConversationRuntime(
        live=live,
        ctx=StepContext(
            tenant=tenant,
            llm_available=o.llm is not None or llm.enabled,
            # The window the scheduler above judges a past `run_at` by: a flow's
            # `schedule_task` `result_key` reports the same verdict.
            scheduling=SchedulerInfo(grace=timedelta(seconds=settings.scheduler_grace_s)),
            channel=channel_kind(config.channel.type),
            more_channels=more_channel_ids(b.type for b in config.more_channels),
        ),
        states=stores.states,
        journal=stores.journal,
        outbox=stores.outbox,
        turns=stores,
        sender=sender,
        connectors=registry,
        clock=clock,
        llm=llm,
        scheduler=scheduler,
        records=getattr(stores, "contacts", None),
        metrics=metrics,
        # the web chat reads the outbox; provider channels confirm each send
        # (several channels: the router tells each contact's)
        confirm_delivery=pushes,
        max_backlog=settings.max_backlog,
        redelivery=await _redelivery(stores, connectors, registry, clock, metrics),
    )
    if any(b.type == "telegram" for b in bindings):  # imported only for Telegram tenants
        _move_telegram_chats(sender, runtime)
    if runtime.redelivery is not None:  # calls kept before a restart are made again
        runtime.redelivery.in_contact_order = runtime.after_turns
        await stack.enter_async_context(redelivering(runtime.redelivery))
    if hasattr(stores, "prune_journal"):  # processed ids age out after the retry window
        await stack.enter_async_context(journal_pruning(stores, clock))
    if isinstance(stores, ForgetsInactive):  # the flow's settings.conversation_retention
        await stack.enter_async_context(
            conversation_forgetting(
                stores, clock, partial(retention_of, live), runtime.state_cache.forget
            )
        )
    # Before any job fires and before `recover` replays the journal: a contact move a crash
    # cut short (its conversation moved, its reminders not yet) is finished first.
    await finish_moves(runtime)
    # Started before the drain is pushed, so it stops after it: turns being drained can still
    # schedule reminders, and its stop waits for the runs it already handed to the runtime.
    await start_scheduler(
        scheduler, stack, runner=runtime.run_task, flow=live.flow, timezone=config.timezone
    )
    stack.push_async_callback(runtime.sequencer.drain)
    return runtime


async def _redelivery(
    stores: Any,
    connectors: Mapping[str, Any],
    registry: ConnectorRegistry,
    clock: Clock,
    metrics: RuntimeMetrics,
) -> Redelivery | None:
    """Keeps the failed calls of the bindings with a `redeliver_for` in the state file; None
    when no binding has one and none was kept before (or the stores keep none). Calls kept
    under a setting since removed are given up by its first pass, not left in the file."""
    bindings = redeliverable_bindings(connectors)
    queue = getattr(stores, "redelivery", None)
    if queue is None or not (bindings or await queue.counts()):
        return None
    return Redelivery(
        queue, registry, bindings=bindings, clock=clock, metrics_registry=metrics.registry
    )


def _move_telegram_chats(sender: Any, runtime: ConversationRuntime) -> None:
    """A send refused because the group became a supergroup moves its conversation, as the
    webhook's migration notice does (through the ids of the channel the bot is on)."""
    from botfleet.adapters.channels.several import ChannelRouter, ChannelSide
    from botfleet.adapters.channels.telegram import TelegramBotSender

    if isinstance(sender, TelegramBotSender):
        sender.queue_moves_with(runtime.move_contact)
    elif isinstance(sender, ChannelRouter):
        for channel in (sender.primary, *sender.more):
            if isinstance(channel.sender, TelegramBotSender):
                side = ChannelSide(runtime, channel.prefix)
                channel.sender.queue_moves_with(side.move_contact)
