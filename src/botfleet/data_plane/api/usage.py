"""`GET /usage`: the tenant's LLM token counters per month, and today's (read by the control
plane).

Protected like the other internal routes: `Authorization: Bearer <DP_INTERNAL_TOKEN>`. With no
token configured (development) only clients on the same machine (loopback) are answered.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from botfleet.adapters.llm.quota import MONTH, DailyUsage, MonthlyUsage, UsageCounters
from botfleet.data_plane.api.internal_auth import check_reader
from botfleet.data_plane.llm_fallback import KnowledgeLLMFallback
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.web import Operation, query_of


class UsageQuery(BaseModel):
    month: str | None = Field(
        default=None, description="YYYY-MM in the tenant's time zone; default: now"
    )


def _fallback_of(request: Request) -> KnowledgeLLMFallback:
    llm = getattr(request.app.state.runtime, "llm", None)
    if not isinstance(llm, KnowledgeLLMFallback):
        raise HTTPException(404, "this data plane does not record LLM usage")
    return llm


def usage_operations(settings: DataPlaneSettings) -> list[Operation]:
    async def usage(request: Request) -> Response:
        """Input, output and cached tokens and question outcomes of one month, and of today."""
        check_reader(request, settings)
        month = query_of(UsageQuery, request).month
        llm = _fallback_of(request)
        if month is not None and not MONTH.match(month):
            raise HTTPException(422, f"month: expected YYYY-MM, got {month[:20]!r}")
        used = await llm.quota.usage(month)
        today = await llm.quota.usage_of_day()
        return JSONResponse({**_usage_answer(llm, used), "today": _today_answer(llm, today)})

    async def usage_months(request: Request) -> Response:
        """Months that have LLM usage recorded, oldest first."""
        check_reader(request, settings)
        llm = _fallback_of(request)
        return JSONResponse({"months": await llm.quota.store.months()})

    tags = ("internal",)
    return [
        Operation("GET", "/usage", usage, summary="Usage", tags=tags, query=UsageQuery),
        Operation("GET", "/usage/months", usage_months, summary="Usage Months", tags=tags),
    ]


def _counted(used: UsageCounters, limit: int | None) -> dict[str, Any]:
    """The tokens and questions a month's or a day's answer gives alike."""
    return {
        "input_tokens": used.input_tokens,
        "output_tokens": used.output_tokens,
        "cached_tokens": used.cached_tokens,
        "total_tokens": used.total_tokens,
        "remaining_tokens": None if limit is None else max(limit - used.total_tokens, 0),
        "questions": {
            "answered": used.answered,
            "out_of_scope": used.out_of_scope,
            "errors": used.errors,
            "over_quota": used.over_quota,
        },
        "requests": used.requests,
    }


def _usage_answer(llm: KnowledgeLLMFallback, used: MonthlyUsage) -> dict[str, Any]:
    return {
        "tenant_id": llm.tenant_id,
        "month": used.month,
        "timezone": llm.quota.timezone,
        "llm_enabled": llm.enabled,
        # Why an enabled LLM answers every question with the safe text (its key is missing):
        # the log says it once at boot, this says it for as long as it lasts.
        "llm_unavailable": llm.unavailable,
        # The cause behind `questions.errors`, for readers without the log (the control plane's
        # status); kept once the provider answers again, with when it did.
        "llm_last_error": llm.last_failure.as_json() if llm.last_failure else None,
        "provider": llm.options.provider,
        "model": llm.options.model_name,
        "knowledge_version": llm.knowledge.knowledge_version,
        "quota_monthly_tokens": llm.quota.limit,
        **_counted(used, llm.quota.limit),
    }


def _today_answer(llm: KnowledgeLLMFallback, today: DailyUsage) -> dict[str, Any]:
    """Today's counters in the tenant's zone, whatever month was asked for: the daily budgets
    are the ones a contact (or a script) can spend in an afternoon."""
    answer = {
        "day": today.day,
        "quota_daily_tokens": llm.quota.daily_limit,
        "quota_daily_questions_per_contact": llm.quota.contact_limit,
        **_counted(today, llm.quota.daily_limit),
    }
    answer["questions"] |= {
        "over_daily_quota": today.over_daily_quota,
        "over_contact_quota": today.over_contact_quota,
    }
    return answer
