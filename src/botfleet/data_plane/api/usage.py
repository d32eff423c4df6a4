"""`GET /usage`: the tenant's LLM token counters per month (read by the control plane).

Protected like the other internal routes: `Authorization: Bearer <DP_INTERNAL_TOKEN>`. With no
token configured (development) only clients on the same machine (loopback) are answered.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from botfleet.adapters.llm.quota import MONTH
from botfleet.data_plane.llm_fallback import KnowledgeLLMFallback
from botfleet.data_plane.settings import DataPlaneSettings


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def internal_access(settings: DataPlaneSettings) -> Any:
    """A dependency that admits the control plane (Bearer token) or, without a token, loopback."""

    async def check(request: Request) -> None:
        expected = settings.internal_token
        if not expected:
            if _is_loopback(request.client.host if request.client else None):
                return
            raise HTTPException(
                403, "internal routes need DP_INTERNAL_TOKEN outside local development"
            )
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), expected.encode()
        ):
            raise HTTPException(
                401, "missing or wrong internal token", headers={"WWW-Authenticate": "Bearer"}
            )

    return check


def _fallback_of(request: Request) -> KnowledgeLLMFallback:
    llm = getattr(request.app.state.runtime, "llm", None)
    if not isinstance(llm, KnowledgeLLMFallback):
        raise HTTPException(404, "this data plane does not record LLM usage")
    return llm


def build_usage_router(settings: DataPlaneSettings) -> APIRouter:
    router = APIRouter(tags=["internal"], dependencies=[Depends(internal_access(settings))])

    @router.get("/usage")
    async def usage(
        request: Request,
        month: Annotated[
            str | None, Query(description="YYYY-MM in the tenant's time zone; default: now")
        ] = None,
    ) -> dict[str, Any]:
        """Input, output and cached tokens and question outcomes of one month."""
        llm = _fallback_of(request)
        if month is not None and not MONTH.match(month):
            raise HTTPException(422, f"month: expected YYYY-MM, got {month[:20]!r}")
        used = await llm.quota.usage(month)
        limit = llm.quota.limit
        return {
            "tenant_id": llm.tenant_id,
            "month": used.month,
            "timezone": llm.quota.timezone,
            "llm_enabled": llm.enabled,
            "provider": llm.options.provider,
            "model": llm.options.model_name,
            "knowledge_version": llm.knowledge.knowledge_version,
            "input_tokens": used.input_tokens,
            "output_tokens": used.output_tokens,
            "cached_tokens": used.cached_tokens,
            "total_tokens": used.total_tokens,
            "quota_monthly_tokens": limit,
            "remaining_tokens": None if limit is None else max(limit - used.total_tokens, 0),
            "questions": {
                "answered": used.answered,
                "out_of_scope": used.out_of_scope,
                "errors": used.errors,
                "over_quota": used.over_quota,
            },
            "requests": used.requests,
        }

    @router.get("/usage/months")
    async def usage_months(request: Request) -> dict[str, Any]:
        """Months that have LLM usage recorded, oldest first."""
        llm = _fallback_of(request)
        return {"months": await llm.quota.store.months()}

    return router
