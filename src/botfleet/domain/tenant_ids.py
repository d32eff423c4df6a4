"""What a tenant id may be. An id names files (a data plane's folder under `DP_DATA_DIR`, the
fleet's pid and log files), so `.`, `..` and ids starting with a dot or a dash are never ids:
they would name the folder above, a hidden file or a command-line option."""

from __future__ import annotations

import re
from typing import TypeGuard

#: A tenant of a local tenant file or the fleet: 1 to 63 letters, digits, `_`, `.` or `-`,
#: starting with a letter, a digit or `_`.
LOCAL_TENANT_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$"
LOCAL_TENANT_ID_RULE = (
    "1 to 63 letters, digits, '_', '.' or '-', starting with a letter, a digit or '_'"
)
#: A tenant registered with the control plane: it also names URLs, database rows and metrics
#: labels, so lower case and no dots.
TENANT_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$"
REGISTERED_TENANT_ID_RULE = (
    "1 to 63 lower-case letters, digits, '_' or '-', starting and ending with a letter or a digit"
)
_LOCAL = re.compile(LOCAL_TENANT_ID_PATTERN)
_REGISTERED = re.compile(TENANT_ID_PATTERN)


def local_tenant_id_problem(tenant_id: str) -> str | None:
    """Why `tenant_id` is no tenant id (the value is not repeated: it may be anything), or
    None."""
    if _LOCAL.fullmatch(tenant_id):
        return None
    return f"a tenant id is {LOCAL_TENANT_ID_RULE}"


def is_registered_tenant_id(value: object) -> TypeGuard[str]:
    """Whether `value` is an id the control plane registers: a text, matched whole (`$`
    alone would let a trailing line break by)."""
    return isinstance(value, str) and _REGISTERED.fullmatch(value) is not None


def registered_tenant_id_problem(tenant_id: str) -> str | None:
    """Why `tenant_id` is no id the control plane registers, or None."""
    if is_registered_tenant_id(tenant_id):
        return None
    return f"a control plane's tenant id is {REGISTERED_TENANT_ID_RULE}"
