"""The LLM fallback: a free-text question in, the text to send out. Never raises.

    question -> guard -> quota -> connector (resilience: timeout, retries, breaker)
             -> in scope? -> answer checks -> plain text capped to the channel
    any "no" on the way -> the safe fallback text

The LLM only produces text: this object gets the question and a read-only context, and returns
a string with the question's outcome (`LLMReply`). It has no access to the conversation state,
its data or the flow's connectors, so nothing the model says can change them; a flow may move
the contact on an unanswered question (`llm_unanswered`), to the state the flow names: the model
only decides whether it answered. Every question ends in one log line
(`llm_question`, with its outcome, `tenant` and, asked in a turn, the hashed `contact`) and the
`botfleet_llm_questions` metric. The last provider failure is also kept (`last_failure`, in
memory: a restart clears it) for `GET /usage`, whose readers have no access to the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter

from botfleet.adapters.llm import build_llm_connector, llm_options
from botfleet.adapters.llm.errors import shown_detail
from botfleet.adapters.llm.guard import (
    QUESTION_TOO_LONG,
    answer_problem,
    cap,
    check_question,
    plain_text,
)
from botfleet.adapters.llm.knowledge import (
    KnowledgeFile,
    KnowledgeHolder,
    estimate_tokens,
    size_warning,
)
from botfleet.adapters.llm.options import LLMOptions, missing_key
from botfleet.adapters.llm.prompt import build_prompt, rules_text
from botfleet.adapters.llm.quota import (
    InMemoryUsageStore,
    Outcome,
    QuotaGuard,
    Refusal,
    Reservation,
    SqliteUsageStore,
    UsageStore,
)
from botfleet.adapters.llm.replies import MalformedAnswer
from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.data_plane.observability import turn_fields
from botfleet.data_plane.resilience import (
    RESILIENCE_KEY,
    ConnectorMetrics,
    ResiliencePolicy,
    ResilientConnector,
    parse_policy,
)
from botfleet.data_plane.runtime.cancellation import stray_cancellation_as_error
from botfleet.domain.built_in_texts import built_in_language, built_in_texts
from botfleet.domain.errors import ConfigError, ConnectorError
from botfleet.domain.tenant_config import TenantConfig
from botfleet.ports.clock import Clock
from botfleet.ports.connectors import Answer, LLMConnector, LLMContext, LLMReply, LLMUsage

log = structlog.get_logger("botfleet.llm")

#: Defaults of the LLM's resilience policy: a contact is waiting, so one retry at most.
LLM_POLICY_DEFAULTS: dict[str, Any] = {"max_attempts": 2, "backoff_max_s": 1.0}


#: Every outcome a question can be counted under (docs/llm.md "What the logs say"): the
#: metric's label values are pre-created from it, so an `increase()` alert (over_quota, say)
#: sees the first one after a start.
OUTCOMES = (
    "answered",
    "out_of_scope",
    "malformed_reply",
    "rules_leaked",
    "prompt_tags_in_answer",
    "structured_reply_in_answer",
    "empty_answer",
    "question_too_long",
    "empty_question",
    "over_quota",
    "over_daily_quota",
    "over_contact_quota",
    "no_knowledge",
    "unavailable",
    "timeout",
    "rate_limited",
    "rejected",
    "circuit_open",
    "error",
    "crash",
)


class LLMMetrics:
    """Questions by outcome and tokens by kind, on the runtime's registry."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        registry = registry or CollectorRegistry()
        self.questions = Counter(
            "botfleet_llm_questions",
            "Free-text questions sent to the LLM fallback, by outcome",
            ("outcome",),
            registry=registry,
        )
        for outcome in OUTCOMES:
            self.questions.labels(outcome)
        self.tokens = Counter(
            "botfleet_llm_tokens", "LLM tokens used, by kind", ("kind",), registry=registry
        )

    def observe(self, outcome: str, usage: LLMUsage | None) -> None:
        self.questions.labels(outcome).inc()
        if usage is not None:
            self.tokens.labels("input").inc(usage.input_tokens)
            self.tokens.labels("output").inc(usage.output_tokens)
            self.tokens.labels("cached").inc(usage.cached_tokens)


@dataclass(frozen=True, slots=True)
class ProviderFailure:
    """The last question the provider failed, as `GET /usage` shows it (`llm_last_error`)."""

    outcome: str
    at: datetime
    #: The log line's `detail` with the operator's hint; of the provider's own words, only
    #: those that cannot quote the question or the document (`errors.LLMRequestRefused`).
    detail: str
    #: When the provider next answered a question: the failure is then past, still shown.
    resolved_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "at": self.at.isoformat(),
            "detail": self.detail,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }


class LLMOperation:
    """An `LLMConnector` seen as a one-operation `Connector`, so the resilience layer wraps it."""

    category = "llm"

    def __init__(self, llm: LLMConnector) -> None:
        self.llm = llm

    def operations(self) -> frozenset[str]:
        return frozenset({"answer"})

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        return await self.llm.answer(params["question"], params["knowledge"], params["context"])


@dataclass
class KnowledgeLLMFallback:
    """`LLMFallback` answering from the tenant's knowledge document (see the module doc)."""

    options: LLMOptions
    connector: ResilientConnector | None
    quota: QuotaGuard
    knowledge: KnowledgeHolder
    max_chars: int
    watcher: KnowledgeFile | None = None
    metrics: LLMMetrics = field(default_factory=lambda: LLMMetrics(None))
    tenant_id: str = ""
    #: Why an enabled LLM has no provider (its credential is missing): questions get the safe
    #: text, as when the provider is down, and the provider is never called.
    unavailable: str | None = None
    last_failure: ProviderFailure | None = None
    _checked_version: str | None = None

    @property
    def enabled(self) -> bool:
        return self.options.enabled and (self.connector is not None or self.unavailable is not None)

    async def reply(
        self, question: str, context: LLMContext, fallback_text: str
    ) -> LLMReply | None:
        if not self.enabled:
            return None
        # No text from the flow (the runtime passes its own built-in one in the contact's
        # language): the built-in one of the tenant's language, not English. The tenant's own
        # (`llm.fallback_text`) wins, given by language: the turn's, else the tenant's.
        safe = self.options.safe_text(
            fallback_text or built_in_texts("", context.language).llm_fallback,
            context.turn_language,
            context.language,
        )
        if self.connector is None:
            log.info(
                "llm_question",
                outcome="unavailable",
                reason="no API key (llm.api_key)",
                **self._log_fields(context),
            )
            self.metrics.observe("unavailable", None)
            return LLMReply(safe, "unavailable")
        try:
            # A stray CancelledError (not a shutdown) is a crash like any other: the contact
            # gets the safe text, not a failed turn and no answer.
            with stray_cancellation_as_error("the LLM call"):
                text, outcome, usage = await self._answer(question, context)
        except Exception:  # a bug here must not cost the contact an answer
            log.exception("llm_fallback_crashed", **self._log_fields(context))
            text, outcome, usage = None, "crash", None
        self.metrics.observe(outcome, usage)
        if text is None and outcome == QUESTION_TOO_LONG:
            return LLMReply(self._too_long(context, safe), outcome)
        return LLMReply(text if text is not None else safe, outcome)

    def _too_long(self, context: LLMContext, safe: str) -> str:
        """The answer to a question too long to ask: "please ask in a few words" in a language
        the platform writes (the turn's, else the tenant's), else the safe text ("no such
        information" would mislead someone who wrote at length)."""
        if not (built_in_language(context.turn_language) or built_in_language(context.language)):
            return safe
        return built_in_texts(context.turn_language, context.language).llm_too_long

    def _log_fields(self, context: LLMContext) -> dict[str, Any]:
        # `contact` (hashed) from the turn asking; the fallback is never handed the contact.
        return {**turn_fields(), "tenant": self.tenant_id, "state": context.state}

    async def _answer(
        self, question: str, context: LLMContext
    ) -> tuple[str | None, str, LLMUsage | None]:
        fields = self._log_fields(context)
        checked = check_question(question, self.options.max_question_chars)
        if checked.problem is not None:
            log.info("llm_question", outcome=checked.problem, chars=len(checked.text), **fields)
            return None, checked.problem, None
        # The per-contact budget counts by the hash the logs name the contact with: the
        # fallback is never handed the contact's id.
        contact = fields.get("contact")
        knowledge = self._knowledge()
        admitted = await self.quota.admit(
            contact, self._estimated_tokens(checked.text, knowledge, context)
        )
        if isinstance(admitted, Refusal):
            refused = admitted
            await self.quota.record(None, refused.outcome)
            if refused.outcome == "over_contact_quota":
                # One contact's doing, repeated as long as it keeps asking: not an operator's
                # warning (`over_daily_quota`, `over_quota`: every contact is refused).
                log.info("llm_question", outcome=refused.outcome, **refused.fields, **fields)
            else:
                log.warning("llm_question", outcome=refused.outcome, **refused.fields, **fields)
            return None, refused.outcome, None
        try:
            if not knowledge.strip():
                log.warning("llm_question", outcome="no_knowledge", **fields)
                return None, "no_knowledge", None
            try:
                answer = await self._ask(checked.text, knowledge, context)
            except ConnectorError as exc:
                await self.quota.record(None, "error", contact, reservation=admitted)
                cause = _opened_by(exc)
                because = {} if cause is None else {"cause": f"{cause.kind}: {cause}"}
                log.warning("llm_question", outcome=exc.kind, detail=str(exc), **because, **fields)
                self._provider_failed(exc if cause is None else cause)
                return None, exc.kind, None
            self._provider_answered()
            return await self._judge(answer, context, fields, admitted)
        finally:
            # Whatever ended the question (a crash, a cancellation, no document): what it held
            # goes back, or the budgets would shrink for good.
            self.quota.release(admitted)

    def _provider_failed(self, error: ConnectorError) -> None:
        # (A breaker this question's own attempts opened hands over their error instead:
        # `_opened_by`.)
        current = self.last_failure
        if error.kind == "circuit_open" and current is not None and current.resolved_at is None:
            # The breaker's refusal says nothing of why it opened: the failure that opened it
            # is what the operator has to fix.
            return
        self.last_failure = ProviderFailure(error.kind, self.quota.clock.now(), shown_detail(error))

    def _provider_answered(self) -> None:
        # Any reply counts, out of scope or malformed: the provider took the request.
        current = self.last_failure
        if current is not None and current.resolved_at is None:
            self.last_failure = replace(current, resolved_at=self.quota.clock.now())

    def _estimated_tokens(self, question: str, knowledge: str, context: LLMContext) -> int:
        """What a question may count against the token quotas while in flight: the whole
        prompt uncached (as the first call after a change of the document is) and the longest
        answer allowed."""
        # The document apart: neutralising it for the estimate alone would cost a pass over it.
        around = build_prompt(
            question, "", context, output="json", max_chars=self.options.max_answer_chars
        )
        return (
            estimate_tokens(around.system)
            + estimate_tokens(around.user)
            + estimate_tokens(knowledge)
            + self.options.max_tokens
        )

    async def _ask(self, question: str, knowledge: str, context: LLMContext) -> Answer:
        assert self.connector is not None
        params = {"question": question, "knowledge": knowledge, "context": context}
        # No idempotency key: answering creates nothing, so retries are always allowed.
        result = await self.connector.call("answer", params, idempotency_key="")
        if not isinstance(result, Answer):
            raise TypeError(f"LLM adapter returned {type(result).__name__}, not Answer")
        return result

    async def _judge(
        self,
        answer: Answer,
        context: LLMContext,
        fields: dict[str, Any],
        reservation: Reservation,
    ) -> tuple[str | None, str, LLMUsage | None]:
        usage = answer.usage
        tokens = {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cached_tokens": usage.cached_tokens,
        }
        outcome: Outcome = "answered"
        problem: str | None = None
        detail: dict[str, str] = {}
        if isinstance(answer, MalformedAnswer):
            # Not an answer at all: counted as out of scope, logged apart (a model that keeps
            # failing the format is a set-up problem, not a gap in the document).
            problem = "malformed_reply"
            detail = {"reason": answer.reason}
        elif not answer.in_scope:
            problem = "out_of_scope"
        else:
            problem = answer_problem(
                answer.text, rules_text(context, self.options.max_answer_chars)
            )
        if problem is not None:
            outcome = "out_of_scope"
        await self.quota.record(usage, outcome, fields.get("contact"), reservation=reservation)
        if problem is not None:
            emit = log.warning if problem == "malformed_reply" else log.info
            emit("llm_question", outcome=problem, **detail, **tokens, **fields)
            return None, problem, usage
        text = cap(plain_text(answer.text), self.max_chars)
        log.info("llm_question", outcome="answered", chars=len(text), **tokens, **fields)
        return text, "answered", usage

    def _knowledge(self) -> str:
        if self.watcher is not None:
            self.watcher.refresh()
        current = self.knowledge.knowledge_version
        if current != self._checked_version:
            self._checked_version = current
            warn_if_too_large(self.knowledge.knowledge, self.options, current, self.tenant_id)
        return self.knowledge.knowledge

    async def aclose(self) -> None:
        inner = getattr(self.connector.inner, "llm", None) if self.connector else None
        close = getattr(inner, "aclose", None)
        if close is not None:
            await close()


def warn_if_too_large(text: str, options: LLMOptions, version: str, tenant_id: str) -> bool:
    """Log `llm_knowledge_too_large` when the document may not fit the model's context."""
    warning = size_warning(text, options.context_window, options.max_tokens)
    if warning is None:
        return False
    log.warning(
        "llm_knowledge_too_large",
        tenant=tenant_id,
        version=version,
        estimated_tokens=warning.estimated_tokens,
        limit_tokens=warning.limit_tokens,
        detail=str(warning),
    )
    return True


def llm_policy(config: TenantConfig, options: LLMOptions) -> ResiliencePolicy:
    """`connectors.llm.resilience` (or `llm.resilience`) over the LLM's defaults."""
    binding = config.connectors.get("llm")
    raw = dict((binding.settings() if binding else {}).get(RESILIENCE_KEY) or {})
    raw.update((config.llm.model_extra or {}).get(RESILIENCE_KEY) or {})
    try:
        return parse_policy({**LLM_POLICY_DEFAULTS, **raw}, timeout_s=options.timeout_s)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(config.source, f"llm.{RESILIENCE_KEY}", str(exc)) from None


def usage_store_for(stores: object) -> UsageStore:
    """The tenant's usage counters: in its SQLite file, on the tenant store's connection; in
    memory beside in-memory stores (tests)."""
    if isinstance(stores, SqliteTenantStore):
        return SqliteUsageStore.sharing(stores)
    return InMemoryUsageStore()


def build_llm_fallback(
    config: TenantConfig,
    *,
    live: KnowledgeHolder,
    usage: UsageStore,
    clock: Clock,
    max_text: int,
    registry: CollectorRegistry | None = None,
    connector_metrics: ConnectorMetrics | None = None,
    connector: LLMConnector | None = None,
    environment_keys: bool = True,
) -> KnowledgeLLMFallback:
    """The tenant's LLM fallback from its config (`connector` replaces the configured adapter;
    `environment_keys=False`: no API key from the process's environment, `LLMOptions.key`).

    An enabled provider without its API key does not stop the boot: one `llm_disabled` warning
    names the missing credential, and every question gets the safe text (as when the provider
    is down) without calling it.

    Raises:
        ConfigError: the `llm` settings or the `connectors.llm` binding are invalid.
    """
    options = llm_options(config)
    if not environment_keys:
        options = options.without_environment_keys()
    if options.knowledge_version and not live.knowledge_version:
        live.knowledge_version = options.knowledge_version
    watcher = None
    if config.knowledge is None and config.knowledge_path:
        watcher = KnowledgeFile(config.resolve(config.knowledge_path), live)
    resilient = None
    unavailable = None
    if options.enabled:
        policy = llm_policy(config, options)
        unavailable = None if connector is not None else missing_key(options)
        if unavailable is not None:
            # A tenant whose `llm` credential was never stored, or a boot from a cached copy
            # whose sealed secrets cannot be opened (DP_CACHE_KEY unset or changed): the bot
            # runs, questions get the safe text.
            log.warning(
                "llm_disabled",
                tenant=config.tenant_id,
                provider=options.provider,
                missing="llm.api_key",
                detail=unavailable,
            )
        else:
            llm = connector or build_llm_connector(options)
            resilient = ResilientConnector(
                LLMOperation(llm), policy, name="llm", metrics=connector_metrics
            )
        if not live.knowledge.strip():
            log.warning("llm_without_knowledge", tenant=config.tenant_id)
    fallback = KnowledgeLLMFallback(
        options=options,
        connector=resilient,
        quota=QuotaGuard(
            usage,
            limit=options.quota_monthly_tokens,
            daily_limit=options.quota_daily_tokens,
            contact_limit=options.quota_daily_questions_per_contact,
            timezone=config.timezone,
            clock=clock,
        ),
        knowledge=live,
        max_chars=min(options.max_answer_chars, max_text),
        watcher=watcher,
        metrics=LLMMetrics(registry),
        tenant_id=config.tenant_id,
        unavailable=unavailable,
    )
    if options.enabled:
        fallback._knowledge()  # checks the size now, so the warning shows at boot
    return fallback


def _opened_by(error: ConnectorError) -> ConnectorError | None:
    """The error an earlier attempt of the same question met, when `error` is the breaker's
    refusal of a later one (the resilience layer chains it: `raise ... from`): those attempts
    opened the breaker, and what they met (the server down) is what the operator must fix."""
    cause = error.__cause__
    if error.kind == "circuit_open" and isinstance(cause, ConnectorError):
        return cause
    return None
