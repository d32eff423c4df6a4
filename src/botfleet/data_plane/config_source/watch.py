"""Hot reload from the control plane: poll the boot route with the ETag, swap what changed.

Every ``config_poll_s`` the watcher sends ``If-None-Match``; 304 costs nothing. A new payload:

- a new flow version is loaded, checked against the running connectors and swapped in
  (`LiveConfig.swap_flow`): the next message uses it; standing schedules are re-synced;
- a new knowledge version is swapped in (`LiveConfig.swap_knowledge`);
- changed channel, connector, LLM or tenant settings cannot change under a running process:
  the watcher logs ``config_restart_required`` naming the sections and settings (never their
  values), and keeps the settings that differ from those it started with, and since when
  (`restart_keys`, `restart_since`: /health's ``config``); settings changed back to those it
  runs need no restart any more (``config_restart_no_longer_required``);
- the payload becomes the cached copy, so a restart starts from it (not when its flow was
  refused for the running connectors: the last good copy stays), also one whose settings wait
  for a restart: a restart while the control plane is down then starts on the new settings
  (a rotated token), not on the ones it replaced (``boot_cache_updated``, with
  ``waiting_for_restart``). A cache write that fails is logged (``boot_cache_not_saved``); the
  payload is applied all the same, and only once.

A cache write that failed (here or at boot) is tried again after every poll, whatever the
control plane answered (304, or nothing at all: an outage is when a restart reads the cache),
until it succeeds or a newer payload takes its place. Only the first failure of such a streak
is logged, and its end (``boot_cache_saved_again``); nothing is applied again meanwhile.

A payload this data plane cannot use (bad binding, flow that does not load) is refused as a
whole and logged once; the bot keeps running what it has. The control plane being down is
logged when it starts and when it ends, not at every poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx
import structlog

from botfleet.adapters.registry import check_flow_connectors
from botfleet.adapters.scheduling.standing import standing_jobs_of
from botfleet.data_plane.config_source.convert import version_label
from botfleet.data_plane.config_source.fetch import BootError, ControlPlaneUnreachable, fetch_boot
from botfleet.data_plane.config_source.pull import BootedConfig, checked_config
from botfleet.data_plane.runtime.connectors import ConnectorRegistry
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.domain.errors import BotPlatformError
from botfleet.domain.tenant_config import TenantConfig
from botfleet.domain.tenants import BootPayload
from botfleet.flows.schema import FlowSpec

log = structlog.get_logger("botfleet.data_plane.boot")

PollOutcome = Literal["unchanged", "applied", "unreachable", "refused", "rejected"]
_ABSENT = object()


@dataclass(frozen=True, slots=True)
class PollResult:
    outcome: PollOutcome
    flow_swapped: bool = False
    knowledge_swapped: bool = False
    #: Sections whose change needs a restart (channel, more_channels, connectors, llm, tenant).
    restart_required: tuple[str, ...] = ()


@dataclass
class BootWatcher:
    """Keeps one running data plane in step with what its control plane publishes."""

    booted: BootedConfig
    runtime: ConversationRuntime
    poll_s: float
    current: BootPayload = field(init=False)
    etag: str | None = field(init=False)
    #: Sections changed since start that only a restart applies.
    pending_restart: set[str] = field(default_factory=set, init=False)
    #: Their settings (`llm.model`, `connectors.calendar`): names only, the values are secret.
    restart_keys: tuple[str, ...] = field(default=(), init=False)
    #: When the first of them changed (None: nothing waits for a restart).
    restart_since: datetime | None = field(default=None, init=False)
    _problem: str | None = field(default=None, init=False)
    #: What keeps this data plane from the control plane's configuration now (None: nothing):
    #: `unreachable`, `refused` or `cache` (started from the cached copy, not polled since),
    #: the HTTP status of a refusal, and since when. /health shows it: a data plane whose
    #: boot token was rotated runs on and answers, but publishes no longer reach it.
    poll_problem: tuple[str, int | None, datetime] | None = field(default=None, init=False)
    _http: httpx.AsyncClient | None = field(default=None, init=False)
    #: What the cache should hold and does not yet (payload, ETag): its write failed.
    _unsaved: tuple[BootPayload, str] | None = field(default=None, init=False)
    #: Failed writes of the current streak (0: the cache holds what it should).
    _cache_failures: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.current = self.booted.payload
        self.etag = self.booted.etag
        if self.booted.origin == "cache":
            # `boot_from_cache` (an error) reported this streak: the first answer ends it with
            # `control_plane_reachable_again`, so an alert on the error can clear.
            self._problem = "booted from the cached copy"
            self.poll_problem = ("cache", None, self.runtime.clock.now())
        if not self.booted.cache_saved and self.booted.etag is not None:
            # The pull at boot logged the failure: this streak is already reported.
            self._unsaved, self._cache_failures = (self.current, self.booted.etag), 1
        live = self.runtime.live
        live.flow_version = version_label(self.current.flow.version)
        if self.current.knowledge is not None:
            live.knowledge_version = version_label(self.current.knowledge.version)

    async def start(self, stack: AsyncExitStack) -> None:
        """Poll in the background until `stack` closes (no polling when ``poll_s <= 0``)."""
        if self.poll_s <= 0:
            log.info("config_poll_disabled", tenant=self.current.tenant.id)
            return
        http = await stack.enter_async_context(self.booted.target.client())
        self._http = http
        task = asyncio.create_task(self.run(http), name="boot-config-poll")

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        stack.push_async_callback(stop)

    async def run(self, http: httpx.AsyncClient) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self.poll_once(http)
            except Exception:  # the poller must outlive any bug in one poll
                log.exception("config_poll_failed", tenant=self.current.tenant.id)

    async def poll_now(self) -> PollResult:
        """One poll now, outside the schedule (operators, tests)."""
        if self._http is not None:
            return await self.poll_once(self._http)
        async with self.booted.target.client() as http:
            return await self.poll_once(http)

    async def poll_once(self, http: httpx.AsyncClient) -> PollResult:
        """One conditional pull, applied, then a cache write that failed before retried. Never
        raises for the control plane's answers."""
        result = await self._pull_and_apply(http)
        self._save_unsaved()
        return result

    @property
    def cache_behind(self) -> bool:
        """Whether the cached copy is older than it should be (its last write failed)."""
        return self._unsaved is not None

    async def _pull_and_apply(self, http: httpx.AsyncClient) -> PollResult:
        target = self.booted.target
        try:
            fetched = await fetch_boot(
                http, target.url, target.tenant_id, target.boot_token, etag=self.etag
            )
        except BootError as exc:
            self._report_problem(exc)
            return PollResult(
                "unreachable" if isinstance(exc, ControlPlaneUnreachable) else "refused"
            )
        self._report_recovered()
        if fetched is None:
            return PollResult("unchanged")
        return await self._apply(fetched.payload, fetched.etag)

    async def _apply(self, payload: BootPayload, etag: str) -> PollResult:
        tenant = payload.tenant.id
        try:
            config, flow = checked_config(payload)
        except BotPlatformError as exc:
            self.etag = etag  # refused once; asked again only when something else changes
            log.error("config_update_rejected", tenant=tenant, etag=etag, reason=str(exc))
            return PollResult("rejected")
        restart = self._restart_sections(payload)
        flow_swapped, cache_it = False, True
        if _flow_changed(self.current, payload):
            flow_swapped = await self._swap_flow(config, flow, payload, deferred=bool(restart))
            # A flow this process refused would not start either: keep the last good copy.
            cache_it = flow_swapped or bool(restart)
        knowledge_swapped = self._swap_knowledge(payload)
        if restart:
            self._note_restart(payload)
        # What runs now is compared with the next payloads, whether or not the cache takes it
        # (a cache write that failed must not apply the same payload again at every poll: it
        # is retried on its own, by `_save_unsaved`).
        self.current, self.etag = payload, etag
        if cache_it:
            self._unsaved = (payload, etag)
        return PollResult("applied", flow_swapped, knowledge_swapped, tuple(sorted(restart)))

    async def _swap_flow(
        self, config: TenantConfig, flow: FlowSpec, payload: BootPayload, *, deferred: bool
    ) -> bool:
        label = version_label(payload.flow.version)
        tenant = payload.tenant.id
        try:
            check_flow_connectors(config, flow, self._running_connectors())
        except BotPlatformError as exc:
            event = "flow_swap_waits_for_restart" if deferred else "flow_swap_refused"
            log.error(event, tenant=tenant, flow_version=label, reason=str(exc))
            return False
        previous = self.runtime.live.flow_version
        self.runtime.live.swap_flow(flow, label)
        log.info(
            "flow_swapped", tenant=tenant, flow_id=flow.id, from_version=previous, to_version=label
        )
        await self._sync_standing(flow, config.timezone)
        return True

    def _swap_knowledge(self, payload: BootPayload) -> bool:
        old, new = self.current.knowledge, payload.knowledge
        if old == new:
            return False
        text = new.text if new is not None else ""
        label = version_label(new.version) if new is not None else ""
        previous = self.runtime.live.knowledge_version
        self.runtime.live.swap_knowledge(text, label)
        log.info(
            "knowledge_swapped", tenant=payload.tenant.id, from_version=previous, to_version=label
        )
        return True

    def _running_connectors(self) -> dict[str, Any]:
        registry = self.runtime.connectors
        if not isinstance(registry, ConnectorRegistry):
            return {}
        return {category: registry.get(category) for category in registry.categories}

    async def _sync_standing(self, flow: FlowSpec, timezone: str) -> None:
        sync = getattr(self.runtime.scheduler, "sync_standing", None)
        if sync is None:
            return
        standing = standing_jobs_of(flow, timezone)
        for problem in standing.problems:
            log.error("standing_schedule_invalid", detail=problem)
        try:
            await sync(standing.jobs)
        except Exception:
            log.exception("standing_schedules_not_synced", tenant=self.current.tenant.id)

    def _note_restart(self, payload: BootPayload) -> None:
        # Against what this process started with, not the last payload: a setting changed and
        # then changed back is what runs, and no restart is due for it.
        keys = changed_settings(self.booted.payload, payload)
        tenant = payload.tenant.id
        if not keys:
            self.pending_restart, self.restart_keys, self.restart_since = set(), (), None
            log.info(
                "config_restart_no_longer_required",
                tenant=tenant,
                detail="the settings are back to those this data plane started with",
            )
            return
        if self.restart_since is None:
            self.restart_since = self.runtime.clock.now()
        self.pending_restart = {key.partition(".")[0].partition("[")[0] for key in keys}
        self.restart_keys = tuple(sorted(keys))
        log.warning(
            "config_restart_required",
            tenant=tenant,
            sections=sorted(self.pending_restart),
            settings=list(self.restart_keys),
            detail="channel, connector, LLM and tenant settings apply at the next start",
        )

    def _restart_sections(self, payload: BootPayload) -> set[str]:
        old = self.current
        changed = {
            "tenant": old.tenant != payload.tenant,
            "channel": old.channel != payload.channel,
            "more_channels": old.more_channels != payload.more_channels,
            "connectors": old.connectors != payload.connectors,
            "llm": old.llm != payload.llm,
        }
        return {section for section, differs in changed.items() if differs}

    def _save_unsaved(self) -> None:
        if self._unsaved is None:
            return
        payload, etag = self._unsaved
        failures = self._cache_failures
        # The first failure of a streak is logged by `try_save`; the retries that follow fail
        # the same way and would only repeat it at every poll.
        if not self.booted.target.cache.try_save(payload, etag, quiet=failures > 0):
            self._cache_failures += 1
            return
        self._unsaved, self._cache_failures = None, 0
        if not failures:
            # The copy a restart starts from when the control plane is down: said when it
            # changes, and whether this process runs it yet (settings waiting for a restart).
            # After failed writes, `boot_cache_saved_again` says it.
            log.info(
                "boot_cache_updated",
                tenant=payload.tenant.id,
                etag=etag,
                flow_version=version_label(payload.flow.version),
                waiting_for_restart=list(self.restart_keys),
            )
        else:
            log.info(
                "boot_cache_saved_again",
                tenant=payload.tenant.id,
                etag=etag,
                failed_writes=failures,
                detail="the cached copy is up to date again",
            )

    def _report_problem(self, error: BootError) -> None:
        if error.reason == self._problem:
            return
        self._problem = error.reason
        unreachable = isinstance(error, ControlPlaneUnreachable)
        kind = "unreachable" if unreachable else "refused"
        status = getattr(error, "status", None)
        if self.poll_problem is None or self.poll_problem[:2] != (kind, status):
            self.poll_problem = (kind, status, self.runtime.clock.now())
        event = "control_plane_unreachable" if unreachable else "config_poll_refused"
        log.warning(
            event,
            tenant=self.current.tenant.id,
            reason=error.reason,
            detail="the bot keeps running its current configuration",
        )

    def _report_recovered(self) -> None:
        self.poll_problem = None
        if self._problem is not None:
            log.info("control_plane_reachable_again", tenant=self.current.tenant.id)
            self._problem = None


def changed_settings(old: BootPayload, new: BootPayload) -> set[str]:
    """``section.key`` of each tenant, channel, connector and LLM setting that differs between
    `old` and `new` (added and removed ones included), a more channel's as
    ``more_channels[1].key``: names only."""
    found: set[str] = set()
    sections = [
        ("tenant", old.tenant.model_dump(), new.tenant.model_dump()),
        ("channel", old.channel, new.channel),
        ("connectors", old.connectors, new.connectors),
        ("llm", old.llm, new.llm),
    ]
    old_list, new_list = old.more_channels, new.more_channels
    for index in range(max(len(old_list), len(new_list))):
        before = old_list[index] if index < len(old_list) else {}
        after = new_list[index] if index < len(new_list) else {}
        sections.append((f"more_channels[{index}]", before, after))
    for section, before, after in sections:
        for key in before.keys() | after.keys():
            if before.get(key, _ABSENT) != after.get(key, _ABSENT):
                found.add(f"{section}.{key}")
    return found


def _flow_changed(old: BootPayload, new: BootPayload) -> bool:
    return (old.flow.version, old.flow.sha256) != (new.flow.version, new.flow.sha256)
