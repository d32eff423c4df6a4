"""The routes every kind of versioned document (flows, knowledge) has: upload, list, diff,
rollback, get and publish. `add_version_routes` adds them to a kind's router from what differs
between kinds: the service storing an upload, the answer models, the route names and texts."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Protocol, Self, TypeVar

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

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
from botfleet.control_plane.api.responses import (
    BODY_TOO_LARGE,
    ROLLBACK_REFUSED,
    UNSUPPORTED_MEDIA_TYPE,
    as_json,
)
from botfleet.control_plane.db.tables import VersionedDocument
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.models import RollbackRequest
from botfleet.control_plane.pagination import DEFAULT_PAGE_SIZE
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services import versions
from botfleet.control_plane.settings import ControlPlaneSettings
from botfleet.flows.version_changes import VersionChange


class VersionModel(Protocol):
    """An answer model of one stored version, marked published when it is the tenant's one
    (the models' ``_VersionView``)."""

    @classmethod
    def of(cls, row: VersionedDocument, published_version: int | None) -> Self: ...

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Self: ...


DocT = TypeVar("DocT", bound=VersionedDocument)
ViewT = TypeVar("ViewT", bound=VersionModel)
DetailT = TypeVar("DetailT", bound=VersionModel)
ListT = TypeVar("ListT", bound=BaseModel)


class UploadService(Protocol[DocT]):
    """A kind's upload service, e.g. `services.flows.upload_flow`."""

    def __call__(
        self,
        uow: SqlAlchemyUnitOfWork,
        principal: Principal,
        tenant_id: str,
        text: str,
        *,
        max_bytes: int,
        publish: bool = ...,
    ) -> Awaitable[versions.Upload[DocT]]: ...


@dataclass(frozen=True, slots=True)
class UploadRoute(Generic[DocT]):
    """How a kind's upload route reads its document (`read_document`) and stores it."""

    store: UploadService[DocT]
    max_bytes: Callable[[ControlPlaneSettings], int]
    #: The document as error texts name it, e.g. "flow".
    what: str
    #: The one field of the JSON form of the body, e.g. "yaml" for ``{"yaml": ...}``.
    json_field: str
    #: The media types of the body sent as text.
    text_types: tuple[str, ...]
    description: str
    #: Documented answers besides the 201 and the 200 of an unchanged upload.
    responses: Mapping[int | str, dict[str, Any]] = field(default_factory=dict)


def add_version_routes(
    router: APIRouter,
    kind: versions.DocumentKind[DocT],
    *,
    singular: str,
    plural: str,
    upload: UploadRoute[DocT],
    view: type[ViewT],
    detail: type[DetailT],
    item: type[VersionModel],
    listing: type[ListT],
    rollback_description: str,
    publish_description: str,
    with_changes: Callable[[ViewT, Sequence[VersionChange]], ViewT] | None = None,
    publish_responses: Mapping[int | str, dict[str, Any]] | None = None,
    rollback_responses: Mapping[int | str, dict[str, Any]] = ROLLBACK_REFUSED,
) -> None:
    """Add the routes of `kind` to `router`, in an order where the fixed paths (``/diff``,
    ``/rollback``) come before ``/{version}``.

    Routes are named ``upload_<singular>``, ``list_<plural>`` and so on (the names make the
    OpenAPI operation ids and summaries). Descriptions are written as docstrings and cleaned
    as FastAPI cleans an endpoint's docstring (it leaves a description given as is). `view`
    answers uploads, publishes and rollbacks, `detail` one version, `listing` (of `item`) a
    page of versions. `with_changes` lists in a `view` what a publish does to conversations
    under way (for kinds whose `changes` says anything). `publish_responses` and
    `rollback_responses` document the refusals of those routes beyond the usual ones."""

    def answer(row: DocT, published: int | None, changes: Sequence[VersionChange]) -> ViewT:
        done = view.of(row, published)
        return done if with_changes is None else with_changes(done, changes)

    @router.post(
        "",
        name=f"upload_{singular}",
        description=inspect.cleandoc(upload.description),
        status_code=status.HTTP_201_CREATED,
        response_model=view,
        responses={
            **BODY_TOO_LARGE,
            **UNSUPPORTED_MEDIA_TYPE,
            **upload.responses,
            **unchanged_upload_response(view),
        },
        openapi_extra=document_request_body(upload.json_field, upload.text_types),
    )
    async def upload_version(
        tenant_id: TenantIdPath,
        request: Request,
        response: Response,
        principal: PrincipalDep,
        container: ContainerDep,
        uow: UoWDep,
        publish: bool = False,
    ) -> ViewT:
        limit = upload.max_bytes(container.settings)
        text = await read_document(
            request,
            what=upload.what,
            json_field=upload.json_field,
            text_types=upload.text_types,
            limit=limit,
        )
        async with uow:
            done = await upload.store(
                uow, principal, tenant_id, text, max_bytes=limit, publish=publish
            )
            if done.unchanged:
                response.status_code = status.HTTP_200_OK
            answered = answer(done.document, done.published_version, done.changes)
            return answered.model_copy(update={"unchanged": done.unchanged})

    @router.get(
        "",
        name=f"list_{plural}",
        response_model=listing,
        responses={200: {"headers": LINK_HEADER_DOC}},
    )
    async def list_versions(
        tenant_id: TenantIdPath,
        request: Request,
        response: Response,
        principal: PrincipalDep,
        uow: UoWDep,
        limit: LimitQuery = DEFAULT_PAGE_SIZE,
        cursor: CursorQuery = None,
    ) -> ListT:
        """Versions oldest first, `limit` at a time; ``next_cursor`` (and the ``Link`` header)
        says where the next page starts, null on the last one."""
        async with uow:
            published, page = await versions.list_versions(
                uow, principal, kind, tenant_id, limit=limit, cursor=cursor
            )
            link_next(request, response, page.next_cursor, limit)
            return listing(
                published_version=published,
                versions=[item.of(row, published) for row in page.items],
                next_cursor=page.next_cursor,
            )

    # The errors are JSON although the diff is text: without `as_json` the router's error
    # answers were published under text/plain.
    @router.get(
        "/diff",
        name=f"diff_{plural}",
        response_class=PlainTextResponse,
        responses=as_json(router.responses),
    )
    async def diff_versions(
        tenant_id: TenantIdPath,
        principal: PrincipalDep,
        uow: UoWDep,
        from_version: Annotated[int, Query(alias="from", ge=1, le=2_147_483_647)],
        to_version: Annotated[int, Query(alias="to", ge=1, le=2_147_483_647)],
    ) -> PlainTextResponse:
        """Unified diff of two versions (``?from=1&to=2``), as text."""
        async with uow:
            text = await versions.diff_versions(
                uow, principal, kind, tenant_id, from_version, to_version
            )
        return PlainTextResponse(text)

    @router.post(
        "/rollback",
        name=f"rollback_{singular}",
        description=inspect.cleandoc(rollback_description),
        response_model=view,
        responses={**BODY_TOO_LARGE, **rollback_responses},
    )
    async def rollback_version(
        tenant_id: TenantIdPath,
        principal: PrincipalDep,
        uow: UoWDep,
        body: RollbackRequest | None = None,
    ) -> ViewT:
        async with uow:
            target = body.version if body is not None else None
            done = await versions.rollback_with_changes(uow, principal, kind, tenant_id, target)
            row = done.document
            return answer(row, row.version, done.changes)

    # No docstring: it would become the route's OpenAPI description, which it has none of.
    @router.get("/{version}", name=f"get_{singular}", response_model=detail)
    async def get_version(
        tenant_id: TenantIdPath, version: VersionPath, principal: PrincipalDep, uow: UoWDep
    ) -> DetailT:
        async with uow:
            row, published = await versions.get_version_and_published(
                uow, principal, kind, tenant_id, version
            )
            return detail.of(row, published)

    @router.post(
        "/{version}/publish",
        name=f"publish_{singular}",
        description=inspect.cleandoc(publish_description),
        response_model=view,
        responses=dict(publish_responses or {}),
    )
    async def publish_version(
        tenant_id: TenantIdPath, version: VersionPath, principal: PrincipalDep, uow: UoWDep
    ) -> ViewT:
        async with uow:
            done = await versions.publish_with_changes(uow, principal, kind, tenant_id, version)
            row = done.document
            return answer(row, row.version, done.changes)
