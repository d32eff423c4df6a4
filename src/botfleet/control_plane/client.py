"""Typed HTTP client of the control-plane API (what `botfleet cp ...` and `botfleet demo` call).

    with ControlPlaneClient("http://localhost:8001", api_key) as cp:
        created = cp.create_tenant(TenantCreate(id="acme", name="Acme"))
        cp.upload_flow("acme", Path("flow.yaml").read_text(), publish=True)

Every method maps to one route and returns the route's response model. Errors raise
`ControlPlaneAPIError` (the status, the control plane's ``detail`` and, for an invalid flow,
each issue with its line) or `ControlPlaneConnectionError` (or its `NotTheControlPlaneError`:
an error answer without the control plane's ``{"detail": ...}``, from another server); none
ever holds the API key nor a ``user:password@`` written in the URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import BaseModel, TypeAdapter

from botfleet.control_plane.contact_models import ContactErasureView, ConversationListView
from botfleet.control_plane.models import (
    ApiKeyCreated,
    ApiKeyView,
    AuditView,
    BootTokenIssued,
    CredentialView,
    FleetView,
    FlowVersionDetail,
    FlowVersionList,
    FlowVersionView,
    HealthView,
    KnowledgeVersionDetail,
    KnowledgeVersionList,
    KnowledgeVersionView,
    RotationResult,
    TenantCreate,
    TenantCreated,
    TenantStatus,
    TenantUpdate,
    TenantUpdated,
    TenantUrlReport,
    TenantView,
)
from botfleet.control_plane.path_segments import path_segment
from botfleet.control_plane.task_models import (
    CancelledTaskView,
    RunJobView,
    RunTaskView,
    TaskListView,
)
from botfleet.domain.errors import BotPlatformError
from botfleet.domain.tenants import BootPayload

ModelT = TypeVar("ModelT", bound=BaseModel)
VersionListT = TypeVar("VersionListT", FlowVersionList, KnowledgeVersionList)
DEFAULT_URL = "http://localhost:8001"
DEFAULT_TIMEOUT_S = 30.0


_USERINFO = re.compile(r"(?<=://)[^/?#\s]+@")


def mask_url(text: str) -> str:
    """`text` with the user name and password of every URL in it (``user:pass@``) masked."""
    return _USERINFO.sub("***@", text)


class ControlPlaneConnectionError(BotPlatformError):
    """The control plane did not answer (not running, wrong URL, timeout).

    Neither `url` nor `reason` holds a ``user:password@`` written in the URL: it is masked."""

    def __init__(self, url: str, reason: str) -> None:
        self.url, self.reason = mask_url(url), mask_url(reason)
        super().__init__(f"cannot reach the control plane at {self.url}: {self.reason}")


class NotTheControlPlaneError(ControlPlaneConnectionError):
    """An error answer the control plane never gives (no JSON ``{"detail": ...}``): another
    server answers at the URL (a web page's 404, ``http.server``'s 501, a proxy's 502).

    `reason` says what came (status, kind of body, at most a short clean excerpt), never the
    whole body: an HTML page dumped on the terminal hides what went wrong."""

    def __init__(self, url: str, reason: str) -> None:
        self.url, self.reason = mask_url(url), mask_url(reason)
        BotPlatformError.__init__(
            self, f"{self.url} answered, but not as the control plane does: {self.reason}"
        )


class ControlPlaneAPIError(BotPlatformError):
    """The control plane answered with an error status."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None):
        self.status, self.detail, self.errors = status, detail, list(errors or [])
        lines = [f"HTTP {status}: {detail}"]
        for issue in self.errors:
            line = f"line {issue['line']}: " if issue.get("line") else ""
            # As `botfleet validate` marks them: an upload's answer lists its warnings too, and
            # the one error that refused it must stand out.
            mark = "[warning] " if issue.get("severity") == "warning" else ""
            lines.append(f"  {line}{issue.get('path', '')}: {mark}{issue.get('message', '')}")
        super().__init__("\n".join(lines))


def _error(
    url: str, response: httpx.Response
) -> ControlPlaneConnectionError | ControlPlaneAPIError:
    """What an error status means: the control plane's refusal, or another server's answer."""
    try:
        body = response.json()
    except ValueError:
        body = None
    # Every error the control plane gives (its handlers, FastAPI's own 404/405/422) is a JSON
    # object with a `detail`; anything else is not its answer, even with an HTTP error status.
    if not (isinstance(body, dict) and isinstance(body.get("detail"), str | list)):
        return NotTheControlPlaneError(url, _foreign_answer(response, body))
    detail, errors = _detail(body)
    return ControlPlaneAPIError(response.status_code, detail, errors)


#: Kept of another server's error body: enough to recognise it, not a page on the terminal.
_EXCERPT_CHARS = 80
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)


def _excerpt(text: str) -> str:
    """`text` on one line, at most `_EXCERPT_CHARS` long, without the characters that could
    drive the terminal or reorder the line (control, bidirectional format, line separators)."""
    clean = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if len(clean) > _EXCERPT_CHARS:
        clean = clean[: _EXCERPT_CHARS - 3].rstrip() + "..."
    return clean


def _foreign_answer(response: httpx.Response, body: Any) -> str:
    """Another server's error answer in a few words: its status, and what its body is."""
    status = f"HTTP {response.status_code} {_excerpt(response.reason_phrase)}".rstrip()
    text = response.text
    if not text.strip():
        return f"{status} with no body"
    if body is not None:
        return f'{status} with JSON but no "detail" message'
    start = text[:1000].lower()
    if "<html" in start or "<!doctype" in start:
        title = _TITLE.search(text[:5000])
        titled = _excerpt(title[1]) if title else ""
        return f"{status} with an HTML page" + (f" titled {titled!r}" if titled else "")
    return f"{status} with text {_excerpt(text)!r}"


def _detail(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The control plane's error answer: its detail, and an invalid flow's issues."""
    detail = body["detail"]
    if isinstance(detail, list):  # FastAPI's request validation: [{loc, msg}, ...]
        detail = "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg', '')}"
            for item in detail
            if isinstance(item, dict)
        )
    errors = body.get("errors")
    return str(detail), errors if isinstance(errors, list) else []


def _refused_run(response: httpx.Response) -> bool:
    """A 422 that is a strict run's refusal (the run's view), not a request refused."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("status") == "refused" and "run_id" in body


def _segment(value: str | int) -> str:
    return path_segment(value)


def next_cursor_of(response: httpx.Response) -> str | None:
    """The ``cursor`` of the ``Link: <...>; rel="next"`` header, or None (the last page).
    Only the cursor is taken: the client rebuilds the URL on its own base URL, which a proxy
    path prefix may make differ from the one the control plane sees."""
    link = response.links.get("next", {}).get("url")
    if not link:
        return None
    cursors = parse_qs(urlsplit(link).query).get("cursor")
    return cursors[0] if cursors else None


class ControlPlaneClient:
    """One client per control plane and key (admin or tenant API key).

    Args:
        url: the control plane's base URL.
        api_key: sent as ``Authorization: Bearer``; None for the unauthenticated routes.
        timeout_s: per request.
        transport: test seam (an `httpx.MockTransport`, a WSGI transport...).
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout_s, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ---------------------------------------------------------------- plumbing

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; raises on a connection problem or an error status."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ControlPlaneConnectionError(self.url, f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise _error(self.url, response)
        return response

    def _get(self, path: str, model: type[ModelT], **kwargs: Any) -> ModelT:
        return model.model_validate(self.request("GET", path, **kwargs).json())

    def _send(self, method: str, path: str, model: type[ModelT], **kwargs: Any) -> ModelT:
        return model.model_validate(self.request(method, path, **kwargs).json())

    def _list(self, path: str, model: type[ModelT], **kwargs: Any) -> list[ModelT]:
        return TypeAdapter(list[model]).validate_python(  # type: ignore[valid-type]
            self.request("GET", path, **kwargs).json()
        )

    def _pages(
        self,
        path: str,
        next_cursor: Callable[[httpx.Response], str | None],
        page_size: int | None,
    ) -> Iterator[httpx.Response]:
        """Every page of a paginated list, following the cursors `next_cursor(response)` gives
        until there is none (a cursor seen twice stops it: a server bug must not loop)."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {} if page_size is None else {"limit": page_size}
            if cursor is not None:
                params["cursor"] = cursor
            response = self.request("GET", path, params=params)
            yield response
            cursor = next_cursor(response)
            if cursor is None:
                return
            if cursor in seen:
                raise ControlPlaneAPIError(
                    response.status_code, f"{path} gave the same next page twice ({cursor})"
                )
            seen.add(cursor)

    def _all_versions(
        self, path: str, model: type[VersionListT], page_size: int | None
    ) -> VersionListT:
        def body_cursor(response: httpx.Response) -> str | None:
            cursor = response.json().get("next_cursor")
            return cursor if isinstance(cursor, str) else None

        pages = [
            model.model_validate(response.json())
            for response in self._pages(path, body_cursor, page_size)
        ]
        versions = [view for page in pages for view in page.versions]
        # The published version as the last page saw it (the list was read over several calls).
        return pages[-1].model_copy(update={"versions": versions, "next_cursor": None})

    @staticmethod
    def _tenant(tenant_id: str) -> str:
        return f"/v1/tenants/{_segment(tenant_id)}"

    # ---------------------------------------------------------------- health

    def health(self) -> HealthView:
        """``GET /health`` (a 503 answer is returned too: it says what is degraded)."""
        try:
            response = self._http.get("/health")
        except httpx.HTTPError as exc:
            raise ControlPlaneConnectionError(self.url, f"{type(exc).__name__}: {exc}") from None
        if response.status_code not in (200, 503):
            raise _error(self.url, response)
        return HealthView.model_validate(response.json())

    # ---------------------------------------------------------------- tenants

    def list_tenants(self, *, page_size: int | None = None) -> list[TenantView]:
        """Every tenant the key may see: the pages (`page_size` each; default the control
        plane's) are followed to the last one."""
        adapter = TypeAdapter(list[TenantView])
        return [
            tenant
            for response in self._pages("/v1/tenants", next_cursor_of, page_size)
            for tenant in adapter.validate_python(response.json())
        ]

    def get_tenant(self, tenant_id: str) -> TenantView:
        return self._get(self._tenant(tenant_id), TenantView)

    def create_tenant(self, body: TenantCreate) -> TenantCreated:
        """Admin. The answer holds the boot token, this once."""
        data = body.model_dump(mode="json", exclude_none=True)
        if not data.get("more_channels"):
            # Left out when empty: a control plane from before them refuses the field.
            data.pop("more_channels", None)
        return self._send("POST", "/v1/tenants", TenantCreated, json=data)

    def update_tenant(
        self, tenant_id: str, body: TenantUpdate, *, drop_stale_credentials: bool = False
    ) -> TenantUpdated:
        """With `drop_stale_credentials`, stored secrets the new bindings do not take are
        deleted (otherwise such a change is refused with 409 naming them). The answer's
        `before` holds what the change replaced."""
        data = body.model_dump(mode="json", exclude_unset=True)
        params = {"drop_stale_credentials": "true"} if drop_stale_credentials else None
        return self._send("PATCH", self._tenant(tenant_id), TenantUpdated, json=data, params=params)

    def disable_tenant(self, tenant_id: str) -> TenantView:
        return self._send("POST", f"{self._tenant(tenant_id)}/disable", TenantView)

    def enable_tenant(self, tenant_id: str) -> TenantView:
        return self._send("POST", f"{self._tenant(tenant_id)}/enable", TenantView)

    def export_tenant(self, tenant_id: str) -> dict[str, Any]:
        exported: dict[str, Any] = self.request("GET", f"{self._tenant(tenant_id)}/export").json()
        return exported

    def delete_tenant(self, tenant_id: str) -> None:
        self.request("DELETE", self._tenant(tenant_id))

    # ---------------------------------------------------------------- identity

    def create_api_key(
        self,
        tenant_id: str,
        name: str,
        *,
        expires_at: datetime | None = None,
        expires_in_days: int | None = None,
        role: str | None = None,
    ) -> ApiKeyCreated:
        """A new key (shown this once); with `expires_at` (aware) or `expires_in_days` (not
        both) it stops working then, otherwise it works until revoked (or, when the control
        plane sets ``CP_API_KEY_MAX_DAYS``, until that many days from now). `role`:
        ``viewer``, ``editor`` or ``owner``; None sends none (the control plane makes an
        owner, and an older one, without roles, is not sent a field it refuses)."""
        body: dict[str, Any] = {"name": name}
        if role is not None:
            body["role"] = role
        if expires_at is not None:
            body["expires_at"] = expires_at.isoformat()
        if expires_in_days is not None:
            body["expires_in_days"] = expires_in_days
        path = f"{self._tenant(tenant_id)}/api-keys"
        return self._send("POST", path, ApiKeyCreated, json=body)

    def list_api_keys(self, tenant_id: str, *, include_expired: bool = False) -> list[ApiKeyView]:
        """The tenant's keys; those past their expiry only with `include_expired`."""
        params = {"include_expired": "true"} if include_expired else None
        return self._list(f"{self._tenant(tenant_id)}/api-keys", ApiKeyView, params=params)

    def revoke_api_key(self, tenant_id: str, key_id: str) -> None:
        self.request("DELETE", f"{self._tenant(tenant_id)}/api-keys/{_segment(key_id)}")

    def rotate_boot_token(self, tenant_id: str) -> BootTokenIssued:
        path = f"{self._tenant(tenant_id)}/boot-token/rotate"
        return self._send("POST", path, BootTokenIssued)

    # ---------------------------------------------------------------- flows

    def upload_flow(
        self, tenant_id: str, yaml_text: str, *, publish: bool = False
    ) -> FlowVersionView:
        """Upload YAML; an invalid flow raises `ControlPlaneAPIError` with every issue's line."""
        return self._send(
            "POST",
            f"{self._tenant(tenant_id)}/flows",
            FlowVersionView,
            params={"publish": str(publish).lower()},
            content=yaml_text.encode(),
            headers={"Content-Type": "application/yaml"},
        )

    def list_flows(self, tenant_id: str, *, page_size: int | None = None) -> FlowVersionList:
        """Every version (all pages), oldest first."""
        return self._all_versions(f"{self._tenant(tenant_id)}/flows", FlowVersionList, page_size)

    def get_flow(self, tenant_id: str, version: int) -> FlowVersionDetail:
        return self._get(f"{self._tenant(tenant_id)}/flows/{version}", FlowVersionDetail)

    def publish_flow(self, tenant_id: str, version: int) -> FlowVersionView:
        path = f"{self._tenant(tenant_id)}/flows/{version}/publish"
        return self._send("POST", path, FlowVersionView)

    def rollback_flow(self, tenant_id: str, version: int | None = None) -> FlowVersionView:
        """Publish `version`, or the version that was live before the published one (drafts
        never published are skipped; 409 when there is none)."""
        body = {"version": version} if version is not None else None
        path = f"{self._tenant(tenant_id)}/flows/rollback"
        return self._send("POST", path, FlowVersionView, json=body)

    def diff_flows(self, tenant_id: str, from_version: int, to_version: int) -> str:
        params = {"from": from_version, "to": to_version}
        return self.request("GET", f"{self._tenant(tenant_id)}/flows/diff", params=params).text

    # ---------------------------------------------------------------- knowledge

    def upload_knowledge(
        self, tenant_id: str, markdown: str, *, publish: bool = False
    ) -> KnowledgeVersionView:
        return self._send(
            "POST",
            f"{self._tenant(tenant_id)}/knowledge",
            KnowledgeVersionView,
            params={"publish": str(publish).lower()},
            content=markdown.encode(),
            headers={"Content-Type": "text/markdown"},
        )

    def list_knowledge(
        self, tenant_id: str, *, page_size: int | None = None
    ) -> KnowledgeVersionList:
        """Every version (all pages), oldest first."""
        path = f"{self._tenant(tenant_id)}/knowledge"
        return self._all_versions(path, KnowledgeVersionList, page_size)

    def get_knowledge(self, tenant_id: str, version: int) -> KnowledgeVersionDetail:
        path = f"{self._tenant(tenant_id)}/knowledge/{version}"
        return self._get(path, KnowledgeVersionDetail)

    def publish_knowledge(self, tenant_id: str, version: int) -> KnowledgeVersionView:
        path = f"{self._tenant(tenant_id)}/knowledge/{version}/publish"
        return self._send("POST", path, KnowledgeVersionView)

    def rollback_knowledge(
        self, tenant_id: str, version: int | None = None
    ) -> KnowledgeVersionView:
        """As `rollback_flow`, for the knowledge document."""
        body = {"version": version} if version is not None else None
        path = f"{self._tenant(tenant_id)}/knowledge/rollback"
        return self._send("POST", path, KnowledgeVersionView, json=body)

    def diff_knowledge(self, tenant_id: str, from_version: int, to_version: int) -> str:
        params = {"from": from_version, "to": to_version}
        return self.request("GET", f"{self._tenant(tenant_id)}/knowledge/diff", params=params).text

    # ---------------------------------------------------------------- credentials

    def set_credentials(
        self, tenant_id: str, scope: str, values: Mapping[str, Any]
    ) -> CredentialView:
        """Store a scope's secrets (replacing the old ones); the answer names keys only."""
        path = f"{self._tenant(tenant_id)}/credentials/{_segment(scope)}"
        return self._send("PUT", path, CredentialView, json=dict(values))

    def list_credentials(self, tenant_id: str) -> list[CredentialView]:
        return self._list(f"{self._tenant(tenant_id)}/credentials", CredentialView)

    def delete_credentials(self, tenant_id: str, scope: str, *, force: bool = False) -> None:
        """`force`: also secrets the scope's binding requires (else 409)."""
        self.request(
            "DELETE",
            f"{self._tenant(tenant_id)}/credentials/{_segment(scope)}",
            params={"force": "true"} if force else None,
        )

    # ---------------------------------------------------------------- contacts

    def list_conversations(
        self,
        tenant_id: str,
        *,
        active_since: datetime | None = None,
        limit: int | None = None,
        before: str | None = None,
    ) -> ConversationListView:
        """Who talked to the tenant's bot and when, the most recent first (no content); with
        `active_since` (aware) only those with a turn since then; `limit`: 1 to 1000 (default
        the control plane's, 100); `before`: the `next` of the previous page, for the older
        ones (give the same `active_since`)."""
        params: dict[str, Any] = {}
        if active_since is not None:
            params["active_since"] = active_since.isoformat()
        if limit is not None:
            params["limit"] = limit
        if before is not None:
            params["before"] = before
        path = f"{self._tenant(tenant_id)}/conversations"
        return self._get(path, ConversationListView, params=params)

    def export_contact(self, tenant_id: str, contact_id: str) -> dict[str, Any]:
        """Everything the tenant's data plane holds about the contact (its messages: handle
        with care), as the data plane gives it."""
        path = f"{self._tenant(tenant_id)}/contacts/{_segment(contact_id)}"
        exported: dict[str, Any] = self.request("GET", path).json()
        return exported

    def erase_contact(self, tenant_id: str, contact_id: str) -> ContactErasureView:
        """Erase the contact's data on the tenant's data plane; the answer counts what went."""
        path = f"{self._tenant(tenant_id)}/contacts/{_segment(contact_id)}"
        return self._send("DELETE", path, ContactErasureView)

    # ---------------------------------------------------------------- tasks

    def run_task(
        self,
        tenant_id: str,
        task: str,
        contact_id: str,
        data: Mapping[str, Any] | None = None,
        *,
        strict: bool = False,
    ) -> RunTaskView:
        """Run the flow's `task` now for the contact on the tenant's data plane, with `data` as
        its data; what became of it (``status`` ``failed`` is an answer too, not an error).
        `strict`: when a template lacks a value nothing is sent, and the answer (422) is
        returned with ``status`` ``refused`` and its ``warnings``."""
        body: dict[str, Any] = {"task": task, "contact_id": contact_id, "data": dict(data or {})}
        if strict:  # only when asked: a control plane of an earlier release refuses the field
            body["strict"] = True
        return self._run(f"{self._tenant(tenant_id)}/tasks/run", RunTaskView, json=body)

    def _run(self, path: str, model: type[ModelT], **kwargs: Any) -> ModelT:
        """`POST path`'s run: a strict run refused (422, ``status: refused``) is an answer."""
        try:
            response = self._http.request("POST", path, **kwargs)
        except httpx.HTTPError as exc:
            raise ControlPlaneConnectionError(self.url, f"{type(exc).__name__}: {exc}") from None
        if response.status_code == 422 and _refused_run(response):
            return model.model_validate(response.json())
        if response.status_code >= 400:
            raise _error(self.url, response)
        return model.model_validate(response.json())

    def list_tasks(
        self,
        tenant_id: str,
        *,
        contact_id: str | None = None,
        task: str | None = None,
        due_after: datetime | None = None,
        due_before: datetime | None = None,
        limit: int | None = None,
    ) -> TaskListView:
        """The tenant's pending jobs, soonest first; times aware; `limit` 1 to 1000 (default
        the control plane's, 200)."""
        params: dict[str, Any] = {}
        for name, value in (("contact_id", contact_id), ("task", task), ("limit", limit)):
            if value is not None:
                params[name] = value
        for name, moment in (("due_after", due_after), ("due_before", due_before)):
            if moment is not None:
                params[name] = moment.isoformat()
        return self._get(f"{self._tenant(tenant_id)}/tasks", TaskListView, params=params)

    def run_job(self, tenant_id: str, job_id: str, *, strict: bool = False) -> RunJobView:
        """Run the tenant's pending job `job_id` (as `list_tasks` names it) now, with its own
        task, contact and data; what became of it (``status`` ``failed`` is an answer too).
        `strict`: as for `run_task` (``status`` ``refused``: the job stays pending)."""
        path = f"{self._tenant(tenant_id)}/tasks/{_segment(job_id)}/run"
        params = {"strict": "true"} if strict else None
        return self._run(path, RunJobView, params=params)

    def cancel_job(self, tenant_id: str, job_id: str) -> CancelledTaskView:
        """Cancel the tenant's pending one-off job `job_id`; what it was."""
        path = f"{self._tenant(tenant_id)}/tasks/{_segment(job_id)}"
        return self._send("DELETE", path, CancelledTaskView)

    # ---------------------------------------------------------------- audit, fleet, admin

    def audit(
        self,
        *,
        tenant_id: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditView]:
        """Newest first; `actor` keeps one caller's entries (``admin``, ``apikey:<key id>``)."""
        params: dict[str, Any] = {"limit": limit}
        filters = {"tenant_id": tenant_id, "action": action, "actor": actor, "before_id": before_id}
        for name, value in filters.items():
            if value is not None:
                params[name] = value
        return self._list("/v1/audit", AuditView, params=params)

    def tenant_status(self, tenant_id: str) -> TenantStatus:
        return self._get(f"{self._tenant(tenant_id)}/status", TenantStatus)

    def fleet(self) -> FleetView:
        return self._get("/v1/fleet", FleetView)

    def rotate_keys(self) -> RotationResult:
        """Re-encrypt every credential with the first key of ``CP_FERNET_KEYS`` (admin)."""
        return self._send("POST", "/v1/admin/rotate-keys", RotationResult)

    def tenant_urls(self) -> TenantUrlReport:
        """Stored URLs a tenant key could not set under ``CP_TENANT_URL_POLICY=public``
        (admin): tenant, place and why, never the URL."""
        return self._get("/v1/admin/tenant-urls", TenantUrlReport)

    def binding_schemas(self) -> dict[str, dict[str, Any]]:
        schemas: dict[str, dict[str, Any]] = self.request("GET", "/v1/binding-schemas").json()
        return schemas

    def boot(self, tenant_id: str, boot_token: str) -> BootPayload:
        """What the tenant's data plane pulls (holds its secrets: handle with care)."""
        response = self.request(
            "GET",
            f"/v1/boot/{_segment(tenant_id)}",
            headers={"Authorization": f"Bearer {boot_token}"},
        )
        return BootPayload.model_validate(response.json())
