"""Who stored a scope's credentials: the operator (admin API key) or the tenant (its own key).

Recorded on every put, because the two differ in what a tenant key may do with them: a tenant
may send secrets it stored itself wherever it likes, but not the operator's, which it cannot
read (`credential_scopes.host_move_conflict`). A put replaces the scope's secrets as a whole,
so the last put decides: a tenant overwriting the operator's secrets makes them its own (the
operator's are gone), and the other way round. Rows stored before this was recorded (revision
0003) say ``unknown`` and count as the operator's.
"""

from __future__ import annotations

from enum import StrEnum

from botfleet.control_plane.principals import Principal


class StoredBy(StrEnum):
    """Who put a credential row's current secrets."""

    OPERATOR = "operator"
    TENANT = "tenant"
    #: Stored before the control plane recorded it: treated as the operator's.
    UNKNOWN = "unknown"


def stored_by(principal: Principal) -> StoredBy:
    """The provenance a put made by `principal` gives the secrets it stores."""
    return StoredBy.OPERATOR if principal.is_admin else StoredBy.TENANT


def stored_by_tenant(value: str) -> bool:
    """Whether a row's `stored_by` says the tenant stored it (anything else: the operator's)."""
    return value == StoredBy.TENANT
