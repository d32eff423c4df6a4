"""Stored URLs the tenant URL policy would refuse now (`CP_TENANT_URL_POLICY`).

The policy checks what a tenant key sends, when it sends it. What is stored already is not
checked again when the policy changes (an operator switching from ``any`` to ``public``), nor
what the admin key set: old tenants keep their internal URLs. This finds them, in bindings
and in credentials (a webhook `url`, a service account's `token_uri`), so an operator can
review them: at start-up in the log (by form only: no DNS lookups delay the start) and on
request (``GET /v1/admin/tenant-urls``, ``botfleet cp tenant-urls``; names looked up).
Neither ever shows a URL: credential URLs are secrets, and places say enough.
"""

from __future__ import annotations

from collections.abc import Iterator

from botfleet.control_plane.crypto import SecretBox, UndecryptableSecret
from botfleet.control_plane.db.tables import Credential, Tenant
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.logs import get_logger
from botfleet.control_plane.models import StoredUrlRefused, TenantUrlReport
from botfleet.control_plane.principals import ADMIN, Principal
from botfleet.control_plane.services.tenants import BINDING_FIELDS
from botfleet.control_plane.url_policy import TenantUrlGuard, UrlPlace, url_places

#: Warnings the start-up review writes at most (the report lists them all).
MAX_STARTUP_WARNINGS = 100

_log = get_logger("url_review")


def _binding_places(tenant: Tenant) -> Iterator[UrlPlace]:
    for field in BINDING_FIELDS:
        yield from url_places(field, getattr(tenant, field))


def _credential_places(row: Credential, box: SecretBox) -> list[UrlPlace]:
    """Raises `UndecryptableSecret` when no configured key opens the row."""
    values = box.open(row.ciphertext, where=f"{row.tenant_id}/{row.scope}")
    return url_places(f"credentials.{row.scope}", values, json_strings=True)


async def review_stored_urls(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    box: SecretBox,
    guard: TenantUrlGuard,
    *,
    look_up: bool = True,
) -> TenantUrlReport:
    """Every stored URL of every tenant the ``public`` rules refuse (admin only), whatever
    the policy is set to: with ``any`` it shows what switching to ``public`` would leave in
    place. The rows are read first and the transaction ended, so lookups hold nothing."""
    principal.require_admin("reviewing the tenants' stored URLs")
    tenants = await uow.tenants.list()
    rows = await uow.credentials.list()
    await uow.release()
    found: list[tuple[str, UrlPlace]] = []
    for tenant in tenants:
        found += [(tenant.id, place) for place in _binding_places(tenant)]
    unreadable = []
    for row in rows:
        try:
            found += [(row.tenant_id, place) for place in _credential_places(row, box)]
        except UndecryptableSecret:
            unreadable.append(f"{row.tenant_id}/{row.scope}")
    refused = await guard.review((place for _, place in found), look_up=look_up)
    return TenantUrlReport(
        policy=guard.policy,
        tenants=len(tenants),
        refused=[
            StoredUrlRefused(tenant_id=tenant_id, place=place.path, problem=refused[place])
            for tenant_id, place in sorted(found, key=lambda pair: pair[0])
            if place in refused
        ],
        unreadable=unreadable,
    )


async def log_stored_urls_outside_policy(
    uow: SqlAlchemyUnitOfWork, box: SecretBox, guard: TenantUrlGuard
) -> None:
    """At start-up, with ``CP_TENANT_URL_POLICY=public``: one warning per stored URL whose
    form the policy refuses (``tenant_url_outside_policy``: tenant, place, why), then a
    summary. No lookups: the start does not wait on DNS (the report looks names up)."""
    if guard.policy != "public":
        return
    try:
        async with uow:
            report = await review_stored_urls(uow, ADMIN, box, guard, look_up=False)
    except Exception as exc:  # a diagnostic: whatever the database says, the start goes on
        _log.warning("tenant_url_review_skipped", error=type(exc).__name__)
        return
    for item in report.refused[:MAX_STARTUP_WARNINGS]:
        _log.warning(
            "tenant_url_outside_policy",
            tenant_id=item.tenant_id,
            place=item.place,
            problem=item.problem,
        )
    if report.refused:
        _log.warning(
            "tenant_urls_outside_policy",
            tenants=len({item.tenant_id for item in report.refused}),
            urls=len(report.refused),
            logged=min(len(report.refused), MAX_STARTUP_WARNINGS),
            hint="review them with `botfleet cp tenant-urls` (GET /v1/admin/tenant-urls)",
        )
