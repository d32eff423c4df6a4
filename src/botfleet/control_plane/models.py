"""Request and response bodies of the control-plane API (pydantic, shown in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    UrlConstraints,
    field_validator,
)

from botfleet.control_plane.binding_schemas import check_timezone

TENANT_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$"


def _printable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no name needs control characters.
    if any(ord(c) < 32 for c in value):
        raise ValueError("control characters are not allowed")
    return value


#: A one-line text field (names): no control characters.
Label = Annotated[str, AfterValidator(_printable)]
#: The length of the tenants.data_plane_url column.
DATA_PLANE_URL_LENGTH = 500
#: Where the control plane reaches a tenant's data plane. The length is checked as given and
#: again once normalised (percent-encoding can make a URL several times longer).
DataPlaneUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=DATA_PLANE_URL_LENGTH)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _View(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# ---------------------------------------------------------------- tenants


class TenantCreate(_Body):
    id: str = Field(pattern=TENANT_ID_PATTERN, description="slug: lower case, digits, - and _")
    name: Label = Field(min_length=1, max_length=200)
    timezone: str = Field(default="UTC", max_length=64)
    language: str = Field(default="en", pattern=LANGUAGE_PATTERN, max_length=16)
    channel: dict[str, Any] = Field(default_factory=lambda: {"type": "http_dev"})
    connectors: dict[str, Any] = Field(default_factory=dict)
    llm: dict[str, Any] = Field(default_factory=dict)
    data_plane_url: DataPlaneUrl | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("data_plane_url")
    @classmethod
    def _plain_url(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        return _plain_data_plane_url(value)


class TenantUpdate(_Body):
    """Fields to change; absent fields stay as they are. ``connectors`` replaces the whole map."""

    name: Label | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, pattern=LANGUAGE_PATTERN, max_length=16)
    channel: dict[str, Any] | None = None
    connectors: dict[str, Any] | None = None
    llm: dict[str, Any] | None = None
    data_plane_url: DataPlaneUrl | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @field_validator("data_plane_url")
    @classmethod
    def _plain_url(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        return _plain_data_plane_url(value)


class TenantView(_View):
    id: str
    name: str
    timezone: str
    language: str
    status: str
    channel: dict[str, Any]
    connectors: dict[str, Any]
    llm: dict[str, Any]
    data_plane_url: str | None
    published_flow_version: int | None
    published_knowledge_version: int | None
    created_at: datetime
    updated_at: datetime


class TenantCreated(BaseModel):
    tenant: TenantView
    boot_token: str = Field(description="shown once: the data plane's BOOT_TOKEN")


# ---------------------------------------------------------------- identity


class ApiKeyCreate(_Body):
    name: Label = Field(min_length=1, max_length=100)


class ApiKeyView(_View):
    id: str
    tenant_id: str
    name: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyView):
    key: str = Field(description="shown once; send it as 'Authorization: Bearer <key>'")


class BootTokenIssued(BaseModel):
    tenant_id: str
    boot_token: str = Field(description="shown once; the previous token stops working")


# ---------------------------------------------------------------- flows and knowledge


class FlowUpload(_Body):
    yaml: str


class KnowledgeUpload(_Body):
    text: str


class RollbackRequest(_Body):
    version: int | None = Field(
        default=None, ge=1, description="version to go back to; default: the one before"
    )


#: What a list's `next_cursor` is (see `control_plane/pagination.py`).
NEXT_CURSOR = "pass it as ?cursor= to get the next page; null on the last page"


class _VersionView(_View):
    version: int
    sha256: str
    created_at: datetime
    created_by: str
    published: bool = False

    @classmethod
    def of(cls, row: Any, published_version: int | None) -> Self:
        """The view of a stored version row, marked published when it is the tenant's one."""
        view = cls.model_validate(row)
        return view.model_copy(update={"published": view.version == published_version})


class FlowVersionView(_VersionView):
    flow_id: str
    warnings: list[str]


class FlowVersionDetail(FlowVersionView):
    yaml: str = Field(validation_alias=AliasChoices("yaml", "content"))


class FlowVersionList(BaseModel):
    published_version: int | None
    versions: list[FlowVersionView]
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR)


class KnowledgeVersionView(_VersionView):
    pass


class KnowledgeVersionDetail(KnowledgeVersionView):
    text: str = Field(validation_alias=AliasChoices("text", "content"))


class KnowledgeVersionList(BaseModel):
    published_version: int | None
    versions: list[KnowledgeVersionView]
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR)


class FlowIssueView(BaseModel):
    line: int | None
    path: str
    message: str
    severity: str
    source: str


# ---------------------------------------------------------------- credentials, audit, admin


class CredentialView(_View):
    scope: str
    key_names: list[str] = Field(description="names only; values are never returned")
    updated_at: datetime


class AuditView(_View):
    id: int
    at: datetime
    actor: str
    tenant_id: str | None
    action: str
    target: str
    details: dict[str, Any]


class RotationResult(BaseModel):
    rotated: int = Field(description="credential rows re-encrypted with the primary key")
    skipped: list[str] = Field(
        default_factory=list,
        description="rows (tenant/scope) no configured key can decrypt, left as they are: "
        "put their secrets again",
    )


class ErrorBody(BaseModel):
    detail: str


class FlowErrorBody(BaseModel):
    detail: str
    errors: list[FlowIssueView]


# ---------------------------------------------------------------- observability


class TenantStatus(BaseModel):
    tenant_id: str
    tenant_status: str
    status: str = Field(description="ok | degraded | unreachable | unconfigured")
    data_plane_url: str | None
    published_flow_version: int | None
    published_knowledge_version: int | None
    checked_at: datetime
    health: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    tasks: Any = None
    errors: list[str] = Field(default_factory=list)


class FleetView(BaseModel):
    checked_at: datetime
    tenants: list[TenantStatus]


class HealthView(BaseModel):
    status: str
    database: str = Field(description="ok, unavailable, not migrated or unknown revision")
    version: str
    detail: str | None = Field(default=None, description="what to do when not ok")


def data_plane_url_text(value: AnyHttpUrl | None) -> str | None:
    """The stored form of a data-plane URL (no trailing slash)."""
    return None if value is None else str(value).rstrip("/")


def _plain_data_plane_url(value: AnyHttpUrl | None) -> AnyHttpUrl | None:
    if value is None:
        return None
    if value.username or value.password or value.query or value.fragment:
        raise ValueError("give the data plane's base URL without credentials, query or fragment")
    stored = data_plane_url_text(value) or ""
    if len(stored) > DATA_PLANE_URL_LENGTH:
        raise ValueError(
            f"the URL is {len(stored)} characters once normalised (non-ASCII characters are "
            f"percent-encoded); at most {DATA_PLANE_URL_LENGTH} are allowed"
        )
    return value
