"""Flow routes: upload (validated, errors with lines), list, get, publish, rollback, diff."""

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
from botfleet.control_plane.api.responses import AUTH_ERRORS, FLOW_ERRORS, UPLOAD_PUBLISH_REFUSED
from botfleet.control_plane.models import (
    FlowVersionDetail,
    FlowVersionItem,
    FlowVersionList,
    FlowVersionView,
    RollbackRequest,
)
from botfleet.control_plane.pagination import DEFAULT_PAGE_SIZE
from botfleet.control_plane.services import flows, versions
from botfleet.control_plane.services.flows import FLOWS

router = APIRouter(prefix="/v1/tenants/{tenant_id}/flows", tags=["flows"], responses=AUTH_ERRORS)

FLOW_TEXT_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **FLOW_ERRORS,
        **UPLOAD_PUBLISH_REFUSED,
        **unchanged_upload_response(FlowVersionView),
    },
    openapi_extra=document_request_body("yaml", FLOW_TEXT_TYPES),
)
async def upload_flow(
    tenant_id: TenantIdPath,
    request: Request,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
    uow: UoWDep,
    publish: bool = False,
) -> FlowVersionView:
    """Upload a flow as YAML text (or JSON ``{"yaml": ...}``), in UTF-8. It is validated with
    the data plane's loader; a 422 lists every problem with its line. Versions are numbered
    1..n (201). With ``?publish=true`` a flow that cannot be published (409) is not stored
    either. The latest version's very text stores nothing: 200 with that version and
    ``"unchanged": true`` (published with ``?publish=true``). A publish lists in ``changes``
    what replacing the live version does to conversations under way (never refused for
    them)."""
    limit = container.settings.max_flow_bytes
    text = await read_document(
        request, what="flow", json_field="yaml", text_types=FLOW_TEXT_TYPES, limit=limit
    )
    async with uow:
        done = await flows.upload_flow(
            uow, principal, tenant_id, text, max_bytes=limit, publish=publish
        )
        if done.unchanged:
            response.status_code = status.HTTP_200_OK
        view = FlowVersionView.of(done.document, done.published_version)
        return view.model_copy(update={"unchanged": done.unchanged}).with_changes(done.changes)


@router.get("", responses={200: {"headers": LINK_HEADER_DOC}})
async def list_flows(
    tenant_id: TenantIdPath,
    request: Request,
    response: Response,
    principal: PrincipalDep,
    uow: UoWDep,
    limit: LimitQuery = DEFAULT_PAGE_SIZE,
    cursor: CursorQuery = None,
) -> FlowVersionList:
    """Versions oldest first, `limit` at a time; ``next_cursor`` (and the ``Link`` header)
    says where the next page starts, null on the last one."""
    async with uow:
        published, page = await versions.list_versions(
            uow, principal, FLOWS, tenant_id, limit=limit, cursor=cursor
        )
        link_next(request, response, page.next_cursor, limit)
        return FlowVersionList(
            published_version=published,
            versions=[FlowVersionItem.of(row, published) for row in page.items],
            next_cursor=page.next_cursor,
        )


@router.get("/diff", response_class=PlainTextResponse)
async def diff_flows(
    tenant_id: TenantIdPath,
    principal: PrincipalDep,
    uow: UoWDep,
    from_version: Annotated[int, Query(alias="from", ge=1, le=2_147_483_647)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=2_147_483_647)],
) -> PlainTextResponse:
    """Unified diff of two versions (``?from=1&to=2``), as text."""
    async with uow:
        text = await versions.diff_versions(
            uow, principal, FLOWS, tenant_id, from_version, to_version
        )
    return PlainTextResponse(text)


@router.post("/rollback")
async def rollback_flow(
    tenant_id: TenantIdPath,
    principal: PrincipalDep,
    uow: UoWDep,
    body: RollbackRequest | None = None,
) -> FlowVersionView:
    """Publish an earlier version: ``{"version": n}``, or without a body the version that
    was published before the published one (versions never published are skipped; 409 when
    none was). Audited as ``flow.rollback``. ``changes`` lists what replacing the live version
    does to conversations under way."""
    async with uow:
        target = body.version if body is not None else None
        done = await versions.rollback_with_changes(uow, principal, FLOWS, tenant_id, target)
        row = done.document
        return FlowVersionView.of(row, row.version).with_changes(done.changes)


@router.get("/{version}")
async def get_flow(
    tenant_id: TenantIdPath, version: VersionPath, principal: PrincipalDep, uow: UoWDep
) -> FlowVersionDetail:
    async with uow:
        row, published = await versions.get_version_and_published(
            uow, principal, FLOWS, tenant_id, version
        )
        return FlowVersionDetail.of(row, published)


@router.post("/{version}/publish")
async def publish_flow(
    tenant_id: TenantIdPath, version: VersionPath, principal: PrincipalDep, uow: UoWDep
) -> FlowVersionView:
    """Make this version the one data planes boot with (they pick it up on their next poll).
    ``changes`` lists what replacing the live version does to conversations under way: the
    publish is never refused for them."""
    async with uow:
        done = await versions.publish_with_changes(uow, principal, FLOWS, tenant_id, version)
        row = done.document
        return FlowVersionView.of(row, row.version).with_changes(done.changes)
