"""Request and response bodies of the control-plane API (pydantic, shown in OpenAPI)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    UrlConstraints,
    field_validator,
    model_validator,
)

from botfleet.control_plane.binding_schemas import check_timezone
from botfleet.control_plane.principals import DEFAULT_ROLE, Role
from botfleet.control_plane.provenance import StoredBy
from botfleet.control_plane.task_models import TaskView
from botfleet.domain.tenant_ids import TENANT_ID_PATTERN as TENANT_ID_PATTERN

LANGUAGE_PATTERN = r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$"


def _printable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no name needs control characters.
    if any(ord(c) < 32 for c in value):
        raise ValueError("control characters are not allowed")
    return value


#: A one-line text field (names): no control characters.
Label = Annotated[str, AfterValidator(_printable)]
#: A tenant's name. The lengths are the string's own constraints, checked before `_printable`:
#: put on an optional `Label` they are checked after it, as a generic value's, and a name too
#: long was "Value should have at most 200 items after validation".
TenantName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]
#: What a tenant id may be (`TENANT_ID_PATTERN`), in words: a 422 shows this, not the regex.
TENANT_ID_RULE = (
    "must be 1 to 63 characters: lowercase letters, digits, '-' and '_', starting and ending "
    "with a letter or digit (e.g. 'acme' or 'shop-1')"
)
#: What a language tag may be (`LANGUAGE_PATTERN`), in words.
LANGUAGE_RULE = (
    "must be a language code of 2 or 3 lowercase letters, optionally with a region or "
    "variant after '-' (e.g. 'en', 'es', 'pt-BR')"
)
#: The words a 422 says instead of "String should match pattern '<regex>'" (`api/errors.py`).
PATTERN_RULES = {TENANT_ID_PATTERN: TENANT_ID_RULE, LANGUAGE_PATTERN: LANGUAGE_RULE}
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

#: What a tenant's `more_channels` are (docs/channels.md, "Several channels").
MORE_CHANNELS = (
    "further channels of the same bot, each a channel binding ({type, ...settings}, checked as "
    "`channel` is) of another kind than `channel`'s and each other's (webchat and http_dev are "
    "one kind; http_dev cannot sit beside others); their secrets are the credentials of the "
    "scope channel:<kind> (channel:telegram)"
)


class TenantCreate(_Body):
    id: str = Field(pattern=TENANT_ID_PATTERN, description=f"the tenant's id: {TENANT_ID_RULE}")
    name: TenantName
    timezone: str = Field(default="UTC", max_length=64)
    language: str = Field(default="en", pattern=LANGUAGE_PATTERN, max_length=16)
    channel: dict[str, Any] = Field(default_factory=lambda: {"type": "http_dev"})
    more_channels: list[dict[str, Any]] = Field(default_factory=list, description=MORE_CHANNELS)
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


#: How a PATCH treats the binding sections (`TenantUpdate`).
REPLACES_SECTION = (
    "replaces the whole {name}: keys left out are removed (a PATCH does not merge into "
    "it); send every key to keep, e.g. the current {name} from GET with the change applied"
)


class TenantUpdate(_Body):
    """Fields to change; absent fields stay as they are. ``channel``, ``more_channels``,
    ``connectors`` and ``llm`` are each replaced whole by what is sent: a key left out of one
    is removed from it, not kept."""

    name: TenantName | None = None
    timezone: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, pattern=LANGUAGE_PATTERN, max_length=16)
    channel: dict[str, Any] | None = Field(
        default=None, description=REPLACES_SECTION.format(name="channel binding")
    )
    more_channels: list[dict[str, Any]] | None = Field(
        default=None,
        description=REPLACES_SECTION.format(name="list of more channels")
        + " (a channel left out is no longer served; its credentials stay)",
    )
    connectors: dict[str, Any] | None = Field(
        default=None,
        description=REPLACES_SECTION.format(name="map of connector bindings")
        + " (a binding left out is unbound)",
    )
    llm: dict[str, Any] | None = Field(
        default=None, description=REPLACES_SECTION.format(name="llm section")
    )
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
    # Default: an older control plane's answer, from before more_channels.
    more_channels: list[dict[str, Any]] = Field(default_factory=list, description=MORE_CHANNELS)
    connectors: dict[str, Any]
    llm: dict[str, Any]
    data_plane_url: str | None
    published_flow_version: int | None
    published_knowledge_version: int | None
    created_at: datetime
    updated_at: datetime


class TenantUpdated(TenantView):
    """The tenant as a PATCH left it, and what the PATCH replaced."""

    before: dict[str, Any] = Field(
        default_factory=dict,
        description="the fields this PATCH changed, each with the value it held before (a "
        "binding section whole); a field it did not change is absent. Read under the "
        "tenant's lock: what this PATCH replaced, never what a concurrent change did",
    )


class TenantCreated(BaseModel):
    tenant: TenantView
    boot_token: str = Field(description="shown once: the data plane's BOOT_TOKEN")


# ---------------------------------------------------------------- identity


#: The longest an API key may be given to live (`expires_at`, `expires_in_days`): 2 years.
MAX_API_KEY_LIFETIME_DAYS = 730


#: What the role of a key says, in the schema (docs/control-plane.md has the table).
ROLE_DOC = (
    "what the key may do in its tenant: `viewer` reads (not keys, credentials or contacts' "
    "data), `editor` also uploads, publishes and rolls back flows and knowledge and runs "
    "tasks, `owner` may do everything a tenant key may (keys, boot token, credentials, "
    "settings, contacts)"
)


class ApiKeyCreate(_Body):
    """A new key; without `expires_at` or `expires_in_days` it never expires (unless the key
    creating it does: then it must expire by then); without `role` it is an owner. A tenant
    key makes keys of at most its own role."""

    name: Label = Field(min_length=1, max_length=100)
    role: Role = Field(default=DEFAULT_ROLE, description=f"{ROLE_DOC}; default: owner")
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="when the key stops working: an ISO 8601 date-time with its offset "
        f"(2027-06-30T00:00:00Z), in the future, at most {MAX_API_KEY_LIFETIME_DAYS} days away",
    )
    expires_in_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_API_KEY_LIFETIME_DAYS,
        description="or: the key stops working this many days from now",
    )

    @field_validator("expires_at")
    @classmethod
    def _future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        # Compared before converting: an extreme offset date (0001-01-01T00:00+01:00) is
        # refused here instead of overflowing in the conversion.
        now = datetime.now(UTC)
        if value <= now:
            raise ValueError(f"must be in the future (it is now {utc_instant(now)})")
        if value > now + timedelta(days=MAX_API_KEY_LIFETIME_DAYS):
            raise ValueError(
                f"must be at most {MAX_API_KEY_LIFETIME_DAYS} days from now; rotate keys "
                "instead of making them live longer"
            )
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _one_expiry(self) -> Self:
        if self.expires_at is not None and self.expires_in_days is not None:
            raise ValueError("give expires_at or expires_in_days, not both")
        return self

    def expiry(self, now: datetime) -> datetime | None:
        """When the key expires (UTC), or None: `expires_in_days` counts from `now`, to the
        second."""
        if self.expires_in_days is not None:
            start = now.astimezone(UTC).replace(microsecond=0)
            return start + timedelta(days=self.expires_in_days)
        return self.expires_at


def utc_instant(value: datetime) -> str:
    """An instant as messages show it: UTC, to the second (2027-06-30T00:00:00Z)."""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class ApiKeyView(_View):
    id: str
    tenant_id: str
    name: str
    # Default: an older control plane's answer, from before roles, when every key was this.
    role: Role = Field(default=DEFAULT_ROLE, description=ROLE_DOC)
    created_at: datetime
    created_by: str = Field(
        description="`admin` (made with the admin key: only the admin may revoke it) or "
        "`apikey:<id>`, the id of the tenant key that made it"
    )
    revoked_at: datetime | None
    # Defaults: a client reading an older control plane's answer, without these fields.
    expires_at: datetime | None = Field(default=None, description="null: never expires")
    last_used_at: datetime | None = Field(
        default=None,
        description="when the key last authenticated a request, recorded at most once an "
        "hour (so it may be up to an hour old); null: not used since this was recorded",
    )


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
        default=None,
        ge=1,
        description="version to go back to (any earlier one, published before or not); "
        "default: the version that was published before the published one (a version never "
        "published is skipped; 409 when there is none)",
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


#: What an answer's `unchanged` is.
UNCHANGED = (
    "upload: true when the text was the latest version's, which is answered (status 200) "
    "instead of storing a duplicate (published too with ?publish=true); false when a new "
    "version was stored (201), and in publish and rollback answers"
)


class FlowVersionItem(_VersionView):
    """A flow version as lists show it."""

    flow_id: str
    warnings: list[str]


class FlowChangeView(_View):
    """One way publishing a version affects conversations under way (never a refusal)."""

    code: str = Field(
        description="state_removed | task_removed | task_data_missing; more_changes (last, "
        "path 'flow') counts those past the first 100"
    )
    path: str = Field(
        description="where: a state or task of the version live until then "
        "(states.ASK_DAY, tasks.reminder), or an action of the published one "
        "(tasks.reminder[0]); a name longer than 80 characters is cut, ending in '…'"
    )
    message: str = Field(description="what happens to the contacts concerned")


class FlowVersionView(FlowVersionItem):
    """The answer of an upload, publish or rollback."""

    unchanged: bool = Field(default=False, description=UNCHANGED)
    changes: list[FlowChangeView] = Field(
        default_factory=list,
        description="when this answer made the version live: what replacing the version live "
        "until then does to conversations under way (contacts restarted, reminders that send "
        "nothing or render a value empty), computed from the two flows; empty when nothing "
        "was live, nothing changes for them, or no publish happened",
    )

    def with_changes(self, changes: Iterable[object]) -> Self:
        """This view with `changes` (objects with code, path and message) listed."""
        views = [FlowChangeView.model_validate(change) for change in changes]
        return self.model_copy(update={"changes": views})


class FlowVersionDetail(FlowVersionItem):
    yaml: str = Field(validation_alias=AliasChoices("yaml", "content"))


class FlowVersionList(BaseModel):
    published_version: int | None
    versions: list[FlowVersionItem]
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR)


class KnowledgeVersionItem(_VersionView):
    """A knowledge version as lists show it."""


class KnowledgeVersionView(KnowledgeVersionItem):
    """The answer of an upload, publish or rollback."""

    unchanged: bool = Field(default=False, description=UNCHANGED)


class KnowledgeVersionDetail(KnowledgeVersionItem):
    text: str = Field(validation_alias=AliasChoices("text", "content"))


class KnowledgeVersionList(BaseModel):
    published_version: int | None
    versions: list[KnowledgeVersionItem]
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
    stored_by: StoredBy = Field(
        description="who put the current secrets: operator (admin API key), tenant (one of "
        "its own keys), or unknown (stored before the control plane recorded it; treated as "
        "the operator's). A tenant key may move the host only its own secrets are sent to"
    )
    updated_at: datetime


class AuditView(_View):
    id: int
    at: datetime
    actor: str
    tenant_id: str | None
    action: str
    target: str
    details: dict[str, Any]


#: The layout of a tenant's export (`TenantExport.format`): a change to it gets a new number.
EXPORT_FORMAT = 1


class TenantExport(BaseModel):
    """Everything the control plane holds about a tenant, except secrets: take it before
    deleting the tenant. Each part has the shape of its own route's answer."""

    format: int = Field(
        description=f"the layout of this document: {EXPORT_FORMAT} (a later layout gets a new "
        "number)"
    )
    # Text, not a datetime: exports have always written it with `+00:00`, where the answers'
    # datetimes end in `Z`, and an export is kept and compared.
    exported_at: str = Field(
        json_schema_extra={"format": "date-time"},
        description="when the export was taken: UTC, written with +00:00 "
        "(2027-06-30T09:00:00.123456+00:00)",
    )
    tenant: TenantView = Field(description="the tenant, as GET /v1/tenants/{tenant_id} shows it")
    flows: list[FlowVersionDetail] = Field(
        description="every flow version, oldest first, with its YAML; `published` marks the "
        "tenant's published one"
    )
    knowledge: list[KnowledgeVersionDetail] = Field(
        description="every knowledge version, oldest first, with its text"
    )
    api_keys: list[ApiKeyView] = Field(
        description="every API key's metadata, oldest first, revoked and expired ones "
        "included; never a key or its hash"
    )
    credentials: list[CredentialView] = Field(
        description="each credential scope with the names of its secrets, by scope; never a value"
    )
    audit: list[AuditView] = Field(description="the tenant's audit entries, oldest first")


class RotationResult(BaseModel):
    rotated: int = Field(description="credential rows re-encrypted with the primary key")
    skipped: list[str] = Field(
        default_factory=list,
        description="rows (tenant/scope) no configured key can decrypt, left as they are: "
        "put their secrets again",
    )


class StoredUrlRefused(BaseModel):
    tenant_id: str
    place: str = Field(
        description="where the URL is: a binding's field (connectors.llm.base_url), or "
        "credentials.<scope>.<name> for one stored as a credential (never the URL itself)"
    )
    problem: str = Field(description="why the public rules refuse it")


class TenantUrlReport(BaseModel):
    policy: str = Field(description="the control plane's CP_TENANT_URL_POLICY")
    tenants: int = Field(description="tenants whose bindings and credentials were read")
    refused: list[StoredUrlRefused] = Field(
        description="stored URLs a tenant key could not set under CP_TENANT_URL_POLICY=public "
        "(those set with the admin key on purpose included), by tenant"
    )
    unreadable: list[str] = Field(
        default_factory=list,
        description="credential rows (tenant/scope) no configured key can decrypt, so not read",
    )


class ErrorBody(BaseModel):
    detail: str


class FlowErrorBody(BaseModel):
    detail: str
    errors: list[FlowIssueView]


# ---------------------------------------------------------------- observability


#: What a field of a data plane's answer holds when that data plane predates it.
_EARLIER_RELEASES = "absent from data planes of earlier releases (then null here)"


class DataPlaneConfigPolls(BaseModel):
    """Whether a data plane's configuration polls reach the control plane."""

    model_config = ConfigDict(extra="allow")

    polls: str = Field(
        description="`ok`; `refused` (the control plane said no: a rotated boot token, a "
        "disabled tenant), `unreachable`, or `cache` (it started from its cached copy and has "
        "not polled since): it runs the configuration it has, and publishes do not reach it"
    )
    http_status: int | None = Field(default=None, description="the refusal's HTTP status")
    since: datetime | None = Field(default=None, description="when the polls stopped working")


class DataPlaneConfigState(BaseModel):
    """Settings published since the data plane started that it applies at its next start."""

    model_config = ConfigDict(extra="allow")

    restart_required: list[str] = Field(
        description="each changed setting as `section.key` (`llm.model`, `connectors.calendar`, "
        "`channel.access_token`): names only, never values; empty when none waits"
    )
    since: datetime | None = Field(
        default=None, description="when the first of them reached the data plane; null: none"
    )
    control_plane: DataPlaneConfigPolls | None = Field(
        default=None,
        description="whether its configuration polls reach this control plane; null: a local "
        f"tenant file (nothing is polled), or {_EARLIER_RELEASES}",
    )


class DataPlaneHealth(BaseModel):
    """The data plane's ``GET /health``, as it answered (a field a later release adds is
    passed on too)."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(
        description="`ok` while it runs; degraded, error, down, unhealthy or failing make the "
        "tenant's `status` degraded"
    )
    tenant_id: str | None = Field(
        default=None,
        description="the tenant it runs; an answer naming another tenant is not reported (the "
        "status is then unreachable); null: it names none, and is taken at its word",
    )
    flow_id: str = Field(description="the `id` of the flow it runs")
    flow_version: str = Field(
        description="the live flow's version as the data plane names it: `v3` for version 3 "
        "pulled from the control plane, `local` for a flow from its own files"
    )
    knowledge_version: str = Field(
        description="the live knowledge's version: `v2` for version 2 pulled from the control "
        "plane, a digest of the text for a local file, empty when it has none"
    )
    store: str | None = Field(
        default=None,
        description="`ok`, or `unavailable: <the database's words>` for a minute after a "
        "request was refused because the tenant's state file was locked or full (the data "
        "plane's status is then degraded); null from a release before it",
    )
    busy_contacts: int = Field(description="contacts with a turn under way or waiting for one")
    connectors: dict[str, str] = Field(
        description="each connector category (`calendar`; the LLM fallback as `llm`) and its "
        "circuit breaker's state: closed, open or half_open"
    )
    config: DataPlaneConfigState | None = Field(
        default=None,
        description="published settings it runs without until restarted (its `status` stays "
        f"ok: it runs, on the settings it started with); {_EARLIER_RELEASES}",
    )


class QuestionCounts(BaseModel):
    """The month's questions the LLM fallback was asked, by outcome."""

    answered: int = Field(description="answered from the knowledge")
    out_of_scope: int = Field(description="the knowledge does not say: the safe text was sent")
    errors: int = Field(description="the provider failed: the safe text was sent")
    over_quota: int = Field(description="the monthly quota was spent: the safe text was sent")


class DataPlaneLLMError(BaseModel):
    """The last question the LLM provider failed, as the data plane keeps it (in memory: its
    restart clears it)."""

    model_config = ConfigDict(extra="allow")

    outcome: str = Field(
        description="as in the `llm_question` log line: timeout, unavailable, rate_limited, "
        "rejected, circuit_open or error"
    )
    at: datetime = Field(description="when")
    detail: str = Field(
        description="the log line's `detail` with what to check (`model ... not found (check "
        "the model name...)`); the provider's own words only for an HTTP 404, as a refusal of "
        "another kind may quote the question back"
    )
    resolved_at: datetime | None = Field(
        default=None,
        description="when the provider next answered a question (the failure is past); null: "
        "it has not yet",
    )


class DataPlaneUsage(BaseModel):
    """The data plane's ``GET /usage``: this month's LLM token counters, as it answered (a
    field a later release adds is passed on too)."""

    model_config = ConfigDict(extra="allow")

    tenant_id: str = Field(description="the tenant it counts for")
    month: str = Field(description="YYYY-MM, in the tenant's time zone")
    timezone: str = Field(description="the time zone months are counted in")
    llm_enabled: bool = Field(description="whether questions go to the LLM fallback")
    llm_unavailable: str | None = Field(
        default=None,
        description="why an enabled LLM answers every question with the safe text (its key "
        f"is missing); null when it does not; {_EARLIER_RELEASES}",
    )
    llm_last_error: DataPlaneLLMError | None = Field(
        default=None,
        description="the cause of the last of `questions.errors` since the data plane started; "
        f"null: none; {_EARLIER_RELEASES}",
    )
    provider: str = Field(description="anthropic, openai_compatible or mock_llm")
    model: str = Field(description="the provider's model asked")
    knowledge_version: str = Field(description="the version of the knowledge it answers from")
    input_tokens: int = Field(description="tokens sent to the provider this month")
    output_tokens: int = Field(description="tokens the provider answered with this month")
    cached_tokens: int = Field(description="input tokens read from the provider's cache")
    total_tokens: int = Field(description="input + output: what the quota counts")
    quota_monthly_tokens: int | None = Field(description="the monthly quota; null: none")
    remaining_tokens: int | None = Field(
        description="what is left of the quota this month; null without a quota"
    )
    questions: QuestionCounts = Field(description="the month's questions, by outcome")
    requests: int = Field(description="calls made to the provider")


class PendingTasks(BaseModel):
    """The data plane's ``GET /tasks``: its first 200 pending jobs (one-off tasks and standing
    schedules), soonest first, as it answered (a field a later release adds is passed on
    too)."""

    model_config = ConfigDict(extra="allow")

    tasks: list[TaskView] = Field(description="the jobs, soonest first")
    count: int = Field(description="jobs in `tasks`")
    truncated: bool | None = Field(
        default=None,
        description="more jobs are pending than listed (`GET /v1/tenants/{tenant_id}/tasks` "
        f"lists up to 1000, filtered); {_EARLIER_RELEASES}",
    )


class TenantStatus(BaseModel):
    """The tenant as its data plane reports it, read when asked (``GET /health``, then
    ``/usage`` and ``/tasks`` with its ``data_plane`` token)."""

    tenant_id: str = Field(description="the tenant")
    tenant_status: str = Field(description="the tenant's own status: active or disabled")
    status: str = Field(
        description="the data plane's: ok | degraded (its /health failed or says so) | "
        "unreachable (no answer, or the answer of another tenant's data plane) | "
        "unconfigured (no data_plane_url)"
    )
    data_plane_url: str | None = Field(description="where it was asked; null: not set")
    published_flow_version: int | None = Field(
        description="the flow version the control plane has published (the data plane's "
        "live one is `health.flow_version`); null: none"
    )
    published_knowledge_version: int | None = Field(
        description="the knowledge version the control plane has published; null: none"
    )
    checked_at: datetime = Field(description="when the data plane was asked")
    health: DataPlaneHealth | None = Field(
        default=None,
        description="its /health answer; null when it gave none of that shape (see `errors`)",
    )
    usage: DataPlaneUsage | None = Field(
        default=None,
        description="its /usage answer; null when it gave none (a data plane without the LLM "
        "fallback answers 404; a wrong token 401 or 403: see `errors`)",
    )
    tasks: PendingTasks | None = Field(
        default=None,
        description="its /tasks answer; null when it gave none (a data plane without a "
        "scheduler answers 501; see `errors`)",
    )
    errors: list[str] = Field(
        default_factory=list,
        description="why a part is missing, one line each: the request and what failed "
        "(`GET http://dp:8002/usage: HTTP 401`), never a token",
    )
    notes: list[str] = Field(
        default_factory=list,
        description="what the operator should know of the answers, one line each: published "
        "settings waiting for the data plane's restart (`health.config`), the LLM provider's "
        "last failure (`usage.llm_last_error`)",
    )


class FleetView(BaseModel):
    """Every tenant's status, its data plane asked when this was."""

    checked_at: datetime = Field(description="when the data planes were asked")
    tenants: list[TenantStatus] = Field(description="by tenant id")


class HealthView(BaseModel):
    """The control plane's own health (``GET /health``)."""

    status: str = Field(description="ok, or degraded when the database is not")
    database: str = Field(description="ok, unavailable, not migrated or unknown revision")
    version: str = Field(description="the package version (the same on every build)")
    release: str = Field(
        description="the version with the build's commit (`0.1.0+4c1fc49`: BOTFLEET_RELEASE, "
        "else the checkout's git HEAD), which tells two builds apart; the version alone when "
        "neither is known"
    )
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
