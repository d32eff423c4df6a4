"""Control-plane errors; `api/errors.py` maps each to an HTTP status.

BotPlatformError
└── ControlPlaneError
    ├── AuthenticationFailed     401  (missing or wrong key/token)
    │   └── ApiKeyExpired        401  (the right key, past its expires_at)
    ├── PermissionDenied         403  (authenticated, but not allowed)
    ├── TenantDisabled           403  (boot of a disabled tenant)
    ├── TenantReadOnly           403  (a tenant key changing its disabled tenant)
    ├── NotFound                 404  (also for another tenant's resources)
    ├── Conflict                 409  (duplicate id, nothing to roll back to...)
    ├── PayloadTooLarge          413
    ├── InvalidInput             422  (names the field)
    ├── DatabaseUnavailable      503
    └── DatabaseNotMigrated      503  (reachable, but without the control plane's tables)
"""

from __future__ import annotations

from botfleet.domain.errors import BotPlatformError


class ControlPlaneError(BotPlatformError):
    """A request the control plane refuses, with a message safe to show the caller."""

    status_code = 400


class AuthenticationFailed(ControlPlaneError):
    status_code = 401


class ApiKeyExpired(AuthenticationFailed):
    """A tenant key presented with its right secret, past its `expires_at`. Only then is the
    key named (a wrong secret gets the one message of every failure): the caller holds it."""

    def __init__(self, name: str, key_id: str, expired_at: str) -> None:
        self.name, self.key_id, self.expired_at = name, key_id, expired_at
        super().__init__(
            f"API key {name!r} expired at {expired_at}; create a new key (with the admin key "
            "or another of the tenant's keys) and use it instead"
        )


class PermissionDenied(ControlPlaneError):
    status_code = 403


class TenantDisabled(PermissionDenied):
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        super().__init__(
            f"tenant {tenant_id!r} is disabled; enable it with POST /v1/tenants/{tenant_id}/enable"
        )


class TenantReadOnly(PermissionDenied):
    """A disabled tenant's own keys may still read it (and export it), not change it: disabling
    a tenant freezes its configuration until an admin enables it again."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        super().__init__(
            f"tenant {tenant_id!r} is disabled: its API keys can read it but not change it; "
            f"an admin can enable it (POST /v1/tenants/{tenant_id}/enable)"
        )


class NotFound(ControlPlaneError, LookupError):
    status_code = 404

    def __init__(self, kind: str, key: object) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"{kind} {key!r} not found")


class Conflict(ControlPlaneError):
    status_code = 409


class PayloadTooLarge(ControlPlaneError):
    status_code = 413

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(f"{what} is {size} bytes; the limit is {limit}")


class UnsupportedMediaType(ControlPlaneError):
    status_code = 415

    def __init__(self, given: str, accepted: tuple[str, ...]) -> None:
        super().__init__(
            f"content type {given!r} is not accepted (use one of: {', '.join(accepted)})"
        )


class InvalidInput(ControlPlaneError, ValueError):
    status_code = 422

    def __init__(self, field: str, detail: str) -> None:
        self.field, self.detail = field, detail
        super().__init__(f"{field}: {detail}")


class DatabaseUnavailable(ControlPlaneError):
    status_code = 503

    def __init__(self, detail: str = "") -> None:
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"the control-plane database is unavailable; retry later{suffix}")


#: How to create or upgrade the control plane's tables (docs/control-plane.md).
MIGRATE_COMMAND = "botfleet db upgrade"


class DatabaseNotMigrated(ControlPlaneError):
    status_code = 503

    def __init__(self) -> None:
        super().__init__(
            "the control-plane database is not migrated (its tables are missing or older than "
            f"this version): run `{MIGRATE_COMMAND}`, or start the control plane with "
            "CP_MIGRATE_ON_STARTUP=true"
        )
