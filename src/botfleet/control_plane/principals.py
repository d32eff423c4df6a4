"""Who is calling: the admin, or one tenant's API key; and what each may touch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from botfleet.control_plane.errors import NotFound, PermissionDenied


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. A tenant principal only ever sees its own tenant."""

    kind: Literal["admin", "tenant"]
    tenant_id: str | None = None
    key_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    @property
    def actor(self) -> str:
        """How the audit log names this caller (never the key itself)."""
        return "admin" if self.is_admin else f"apikey:{self.key_id}"

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise PermissionDenied(f"{what} needs the admin API key")

    def require_tenant(self, tenant_id: str) -> None:
        """Refuse another tenant's resources with 404, so their existence does not leak."""
        if not self.is_admin and self.tenant_id != tenant_id:
            raise NotFound("tenant", tenant_id)


ADMIN = Principal(kind="admin")
