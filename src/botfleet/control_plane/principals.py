"""Who is calling: the admin, or one tenant's API key with its role; and what each may touch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from botfleet.control_plane.errors import NotFound, PermissionDenied


class Role(StrEnum):
    """What a tenant API key may do within its tenant, each role including the ones below it.
    Which route needs which role: `api/access.py` (docs/control-plane.md has the table)."""

    #: Reads the tenant's configuration, versions, status and audit log, but nothing about
    #: contacts nor the names of keys and credentials; revokes itself.
    VIEWER = "viewer"
    #: And changes what the bot says: flows, knowledge documents (but not the flow's
    #: conversation retention), lists conversations and tasks, runs a task.
    EDITOR = "editor"
    #: And everything else a tenant key may do: keys, boot token (with no expiry of its own),
    #: credentials, settings, contacts. Keys made before roles existed are owners, as are new
    #: keys given no role.
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def covers(self, other: Role) -> bool:
        """Whether this role may do what `other` may."""
        return self.rank >= other.rank


_RANKS = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}
#: What a key gets when it was made without a role (and every key made before roles existed).
DEFAULT_ROLE = Role.OWNER
#: How a key's `created_by` names the admin (a tenant key is ``apikey:<key id>``).
ADMIN_ACTOR = "admin"
KEY_ACTOR_PREFIX = "apikey:"
#: Every name `Principal.actor` gives: the admin, or a tenant key by its id (12 hex digits).
#: A tenant key's id, as `keys list` shows it and the audit names the key (`apikey:<id>`).
KEY_ID_PATTERN = r"[0-9a-f]{12}"
ACTOR_PATTERN = rf"^(admin|{KEY_ACTOR_PREFIX}{KEY_ID_PATTERN})$"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. A tenant principal only ever sees its own tenant, and only
    does what its `role` allows; `expires_at` is its key's (None: never expires)."""

    kind: Literal["admin", "tenant"]
    tenant_id: str | None = None
    key_id: str | None = None
    role: Role = DEFAULT_ROLE
    expires_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    @property
    def actor(self) -> str:
        """How the audit log names this caller (never the key itself)."""
        return ADMIN_ACTOR if self.is_admin else f"{KEY_ACTOR_PREFIX}{self.key_id}"

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise PermissionDenied(f"{what} needs the admin API key")

    def require_role(self, needed: Role, what: str) -> None:
        """Refuse a tenant key whose role is below `needed` (403 naming both roles); the
        admin may do anything."""
        if self.is_admin or self.role.covers(needed):
            return
        raise PermissionDenied(
            f"{what} needs a tenant API key with the {needed} role{_or_higher(needed)}; "
            f"this key ({self.key_id}) has the {self.role} role: ask the tenant's owner or "
            "the admin for a key with that role"
        )

    def require_tenant(self, tenant_id: str) -> None:
        """Refuse another tenant's resources with 404, so their existence does not leak."""
        if not self.is_admin and self.tenant_id != tenant_id:
            raise NotFound("tenant", tenant_id)


def _or_higher(role: Role) -> str:
    higher = [other.value for other in Role if other.rank > role.rank]
    return f" (or {' or '.join(higher)})" if higher else ""


ADMIN = Principal(kind="admin")
