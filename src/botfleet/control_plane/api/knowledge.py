"""Knowledge routes: upload markdown, list, get, publish, rollback, diff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import PlainTextResponse

from botfleet.control_plane.api.bodies import (
    document_request_body,
    read_document,
    unchanged_upload_response,
)
from botfleet.control_plane.api.deps import (
    ContainerDep,
    PrincipalDep,
    TenantIdPath,
    UoWDep,
    VersionPath,
)
from botfleet.control_plane.api.paging import LINK_HEADER_DOC, CursorQuery, LimitQuery, link_next
from botfleet.control_plane.api.responses import AUTH_ERRORS
from botfleet.control_plane.models import (
    KnowledgeVersionDetail,
    KnowledgeVersionItem,
    KnowledgeVersionList,
    KnowledgeVersionView,
    RollbackRequest,
)
from botfleet.control_plane.pagination import DEFAULT_PAGE_SIZE
from botfleet.control_plane.services import knowledge, versions
from botfleet.control_plane.services.knowledge import KNOWLEDGE

router = APIRouter(
    prefix="/v1/tenants/{tenant_id}/knowledge", tags=["knowledge"], responses=AUTH_ERRORS
)

KNOWLEDGE_TEXT_TYPES = ("text/markdown", "text/plain")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=unchanged_upload_response(KnowledgeVersionView),
    openapi_extra=document_request_body("text", KNOWLEDGE_TEXT_TYPES),
)
async def upload_knowledge(
    tenant_id: TenantIdPath,
    request: Request,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
    uow: UoWDep,
    publish: bool = False,
) -> KnowledgeVersionView:
    """Upload markdown or plain text (``text/markdown``, ``text/plain``, UTF-8), or JSON
    ``{"text": ...}``, as a new version, numbered 1..n (201). The latest version's very text
    stores nothing: 200 with that version and ``"unchanged": true`` (published with
    ``?publish=true``)."""
    limit = container.settings.max_knowledge_bytes
    text = await read_document(
        request,
        what="knowledge document",
        json_field="text",
        text_types=KNOWLEDGE_TEXT_TYPES,
        limit=limit,
    )
    async with uow:
        done = await knowledge.upload_knowledge(
            uow, principal, tenant_id, text, max_bytes=limit, publish=publish
        )
        if done.unchanged:
            response.status_code = status.HTTP_200_OK
        view = KnowledgeVersionView.of(done.document, done.published_version)
        return view.model_copy(update={"unchanged": done.unchanged})


@router.get("", responses={200: {"headers": LINK_HEADER_DOC}})
async def list_knowledge(
    tenant_id: TenantIdPath,
    request: Request,
    response: Response,
    principal: PrincipalDep,
    uow: UoWDep,
    limit: LimitQuery = DEFAULT_PAGE_SIZE,
    cursor: CursorQuery = None,
) -> KnowledgeVersionList:
    """Versions oldest first, `limit` at a time; ``next_cursor`` (and the ``Link`` header)
    says where the next page starts, null on the last one."""
    async with uow:
        published, page = await versions.list_versions(
            uow, principal, KNOWLEDGE, tenant_id, limit=limit, cursor=cursor
        )
        link_next(request, response, page.next_cursor, limit)
        return KnowledgeVersionList(
            published_version=published,
            versions=[KnowledgeVersionItem.of(row, published) for row in page.items],
            next_cursor=page.next_cursor,
        )


@router.get("/diff", response_class=PlainTextResponse)
async def diff_knowledge(
    tenant_id: TenantIdPath,
    principal: PrincipalDep,
    uow: UoWDep,
    from_version: Annotated[int, Query(alias="from", ge=1, le=2_147_483_647)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=2_147_483_647)],
) -> PlainTextResponse:
    """Unified diff of two versions (``?from=1&to=2``), as text."""
    async with uow:
        text = await versions.diff_versions(
            uow, principal, KNOWLEDGE, tenant_id, from_version, to_version
        )
    return PlainTextResponse(text)


@router.post("/rollback")
async def rollback_knowledge(
    tenant_id: TenantIdPath,
    principal: PrincipalDep,
    uow: UoWDep,
    body: RollbackRequest | None = None,
) -> KnowledgeVersionView:
    """Publish an earlier version: ``{"version": n}``, or without a body the version that
    was published before the published one (versions never published are skipped; 409 when
    none was). Audited as ``knowledge.rollback``."""
    async with uow:
        target = body.version if body is not None else None
        row = await versions.rollback(uow, principal, KNOWLEDGE, tenant_id, target)
        return KnowledgeVersionView.of(row, row.version)


@router.get("/{version}")
async def get_knowledge(
    tenant_id: TenantIdPath, version: VersionPath, principal: PrincipalDep, uow: UoWDep
) -> KnowledgeVersionDetail:
    async with uow:
        row, published = await versions.get_version_and_published(
            uow, principal, KNOWLEDGE, tenant_id, version
        )
        return KnowledgeVersionDetail.of(row, published)


@router.post("/{version}/publish")
async def publish_knowledge(
    tenant_id: TenantIdPath, version: VersionPath, principal: PrincipalDep, uow: UoWDep
) -> KnowledgeVersionView:
    """Make this version the one the LLM answers from (picked up on the next boot poll)."""
    async with uow:
        row = await versions.publish(uow, principal, KNOWLEDGE, tenant_id, version)
        return KnowledgeVersionView.of(row, row.version)
