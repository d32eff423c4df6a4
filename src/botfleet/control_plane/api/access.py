"""Who may call each route: the one table of the control plane's access rules.

Every route the app serves has an entry (`tests/.../test_cp_key_roles.py` fails on a route
without one, and on an entry without a route). `deps.get_principal` enforces it for every
route that takes an API key, before the route reads its body: a tenant key whose role is
below the entry's gets 403 naming the role it needs. An admin-only route refuses every
tenant key. The services keep their own checks (tenancy, admin-only changes within a route,
a disabled tenant's keys): this table only says who may call the route at all.

Roles (`principals.Role`): ``viewer`` reads, except personal data about contacts (the
conversation and task lists hold contact ids and task data) and what only the owner manages
(keys, credentials, the export holding both; its audit log hides their names), and may revoke
itself; ``editor`` also changes what the bot says (flows, knowledge, but not their
conversation retention) and runs tasks; ``owner`` may do all a tenant key may.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from botfleet.control_plane.errors import PermissionDenied
from botfleet.control_plane.principals import Principal, Role


class Gate(StrEnum):
    """Routes outside the tenant roles."""

    #: No credential at all (health, metrics, the API's own docs).
    PUBLIC = "public"
    #: The tenant's boot token, not an API key (`GET /v1/boot/{tenant_id}`).
    BOOT_TOKEN = "boot token"
    #: The admin API key only.
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Access:
    """Who may call a route, and what the route does (as a refusal names it)."""

    needs: Role | Gate
    what: str


VIEWER, EDITOR, OWNER = Role.VIEWER, Role.EDITOR, Role.OWNER
PUBLIC, BOOT_TOKEN, ADMIN = Gate.PUBLIC, Gate.BOOT_TOKEN, Gate.ADMIN

_T = "/v1/tenants/{tenant_id}"

#: (method, route template) -> who may call it.
ROUTE_ACCESS: dict[tuple[str, str], Access] = {
    # Public, and the boot token.
    ("GET", "/health"): Access(PUBLIC, "the health check"),
    ("GET", "/metrics"): Access(PUBLIC, "the metrics"),
    ("GET", "/openapi.json"): Access(PUBLIC, "the OpenAPI schema"),
    ("GET", "/docs"): Access(PUBLIC, "the API docs page"),
    ("GET", "/v1/boot/{tenant_id}"): Access(BOOT_TOKEN, "the boot payload"),
    # The operator's: every tenant, the fleet, the encryption keys.
    ("POST", "/v1/tenants"): Access(ADMIN, "creating a tenant"),
    ("POST", f"{_T}/disable"): Access(ADMIN, "disabling a tenant"),
    ("POST", f"{_T}/enable"): Access(ADMIN, "enabling a tenant"),
    ("DELETE", _T): Access(ADMIN, "deleting a tenant"),
    ("GET", "/v1/fleet"): Access(ADMIN, "the fleet view"),
    ("POST", "/v1/admin/rotate-keys"): Access(ADMIN, "rotating the encryption keys"),
    ("GET", "/v1/admin/tenant-urls"): Access(ADMIN, "reviewing the tenants' stored URLs"),
    # Reading the tenant (a tenant key lists and sees only its own).
    ("GET", "/v1/tenants"): Access(VIEWER, "listing tenants"),
    ("GET", _T): Access(VIEWER, "reading the tenant"),
    ("GET", f"{_T}/status"): Access(VIEWER, "the tenant's status"),
    ("GET", "/v1/audit"): Access(VIEWER, "reading the audit log"),
    ("GET", "/v1/binding-schemas"): Access(VIEWER, "the binding schemas"),
    ("GET", f"{_T}/flows"): Access(VIEWER, "listing flow versions"),
    ("GET", f"{_T}/flows/diff"): Access(VIEWER, "comparing flow versions"),
    ("GET", f"{_T}/flows/{{version}}"): Access(VIEWER, "reading a flow version"),
    ("GET", f"{_T}/knowledge"): Access(VIEWER, "listing knowledge versions"),
    ("GET", f"{_T}/knowledge/diff"): Access(VIEWER, "comparing knowledge versions"),
    ("GET", f"{_T}/knowledge/{{version}}"): Access(VIEWER, "reading a knowledge version"),
    # Any key may revoke itself (a leaked key need not wait for the owner); the service lets a
    # key below owner revoke no other (`identity.revoke_api_key`).
    ("DELETE", f"{_T}/api-keys/{{key_id}}"): Access(VIEWER, "revoking an API key"),
    # Changing what the bot says, and running its tasks; and what those need to see: who
    # talked to the bot (contact ids are phone numbers) and the pending jobs with their
    # contacts and data. Personal data, so not a viewer's.
    ("GET", f"{_T}/conversations"): Access(EDITOR, "listing conversations"),
    ("GET", f"{_T}/tasks"): Access(EDITOR, "listing scheduled tasks"),
    ("POST", f"{_T}/flows"): Access(EDITOR, "uploading a flow"),
    ("POST", f"{_T}/flows/rollback"): Access(EDITOR, "rolling back the flow"),
    ("POST", f"{_T}/flows/{{version}}/publish"): Access(EDITOR, "publishing a flow version"),
    ("POST", f"{_T}/knowledge"): Access(EDITOR, "uploading a knowledge document"),
    ("POST", f"{_T}/knowledge/rollback"): Access(EDITOR, "rolling back the knowledge"),
    ("POST", f"{_T}/knowledge/{{version}}/publish"): Access(
        EDITOR, "publishing a knowledge version"
    ),
    ("POST", f"{_T}/tasks/run"): Access(EDITOR, "running a task"),
    ("POST", f"{_T}/tasks/{{job_id}}/run"): Access(EDITOR, "running a scheduled job now"),
    ("DELETE", f"{_T}/tasks/{{job_id}}"): Access(EDITOR, "cancelling a scheduled job"),
    # The tenant's owner: settings, access, secrets and contacts' personal data.
    ("PATCH", _T): Access(OWNER, "changing the tenant's settings"),
    ("GET", f"{_T}/export"): Access(OWNER, "exporting the tenant (keys and credential names)"),
    ("POST", f"{_T}/api-keys"): Access(OWNER, "creating an API key"),
    ("GET", f"{_T}/api-keys"): Access(OWNER, "listing API keys"),
    ("POST", f"{_T}/boot-token/rotate"): Access(OWNER, "rotating the boot token"),
    ("GET", f"{_T}/credentials"): Access(OWNER, "listing credentials"),
    ("PUT", f"{_T}/credentials/{{scope}}"): Access(OWNER, "storing credentials"),
    ("DELETE", f"{_T}/credentials/{{scope}}"): Access(OWNER, "deleting credentials"),
    ("GET", f"{_T}/contacts/{{contact_id}}"): Access(OWNER, "exporting a contact's data"),
    ("DELETE", f"{_T}/contacts/{{contact_id}}"): Access(OWNER, "erasing a contact's data"),
}


def route_access(method: str, template: str) -> Access | None:
    """The entry of a route (its template as the router matched it: `path_format`)."""
    return ROUTE_ACCESS.get((method.upper(), template))


def authorize(principal: Principal, method: str, template: str | None) -> None:
    """Refuse `principal` the route unless the table lets it call it (403). A route missing
    from the table refuses every tenant key: forgetting an entry fails closed."""
    if principal.is_admin:
        return
    access = None if template is None else route_access(method, template)
    if access is None:
        raise PermissionDenied(
            f"{method.upper()} {template} is not open to tenant API keys (it has no role in "
            "the control plane's access table)"
        )
    if isinstance(access.needs, Role):
        principal.require_role(access.needs, access.what)
    else:
        # The public and boot-token routes take no API key, so only ADMIN gets here.
        principal.require_admin(access.what)
