"""Which time zone names a tenant may use: IANA names that mean the same on every host.

`ZoneInfo(name)` looks a name up on the machine it runs on (the folders of `zoneinfo.TZPATH`,
then the `tzdata` package), so it also accepts names whose meaning is the host's:

- ``localtime``: Debian links it to ``/etc/localtime``, so it is the host's own clock setting
  (and `available_timezones()` lists it there); on a host without that link it is unknown;
- ``Factory``: the placeholder of a machine whose zone was never set (UTC, shown as ``-00``);
- ``posixrules``: the host's default rules for POSIX ``TZ`` strings;
- ``posix/...``, ``right/...`` (leap seconds counted) and any other file a host keeps in its
  zoneinfo folder; on a case-insensitive file system, ``europe/madrid`` too.

A tenant configured with one of those keeps a different clock, or fails to start, depending on
where it runs. The names accepted are the `tzdata` package's list (a dependency, so the same
wherever the same lock file is installed) without ``Factory``; `available_timezones()` (the host's
folders) is the fallback only when `tzdata` is missing. ``UTC`` is always accepted.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from importlib import resources

__all__ = ["check_zone_name", "zone_names"]

_EXAMPLE = "use an IANA name such as 'Europe/Madrid'"
#: Lower-cased, as a case-insensitive file system resolves them whatever their case.
_HOST_DEPENDENT = {
    "localtime": "is the host's own clock setting (/etc/localtime), so the bot would keep a "
    "different time on each machine",
    "factory": "is the placeholder zone of a machine whose time zone was never set",
    "posixrules": "is the host's default for POSIX TZ strings, not a place",
}
_HOST_FOLDERS = ("posix", "right")


@cache
def zone_names() -> frozenset[str]:
    """Every name `check_zone_name` accepts (read once: a file of ~600 lines)."""
    try:
        listed = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    except (ImportError, OSError):
        names = set(zoneinfo.available_timezones())
    else:
        names = {line.strip() for line in listed.splitlines() if line.strip()}
    names = {name for name in names if name.lower() not in _HOST_DEPENDENT}
    return frozenset(names | {"UTC"})


@cache
def _by_folded_case() -> dict[str, str]:
    return {name.lower(): name for name in zone_names()}


def check_zone_name(name: str) -> str:
    """`name` unchanged when it is an IANA time zone that means the same on every host.

    Raises:
        ValueError: the name is empty, a file path, host-dependent (``localtime``, ``Factory``,
            ``posixrules``, ``posix/...``) or unknown; the message says which, and what to use.
    """
    if name in zone_names():
        return name
    raise ValueError(_why_refused(name))


def _why_refused(name: str) -> str:
    if not name.strip():
        return f"time zone is empty: {_EXAMPLE}"
    shown = repr(name)
    parts = name.split("/")
    if name.startswith(("/", "~")) or "\\" in name or any(p in ("", ".", "..") for p in parts):
        return f"time zone {shown} is a file path, not a zone name: {_EXAMPLE}"
    reason = _HOST_DEPENDENT.get(name.lower())
    if reason is not None:
        return f"time zone {shown} {reason}: {_EXAMPLE}"
    if len(parts) > 1 and parts[0].lower() in _HOST_FOLDERS:
        inner = _by_folded_case().get("/".join(parts[1:]).lower())
        if inner is not None:
            return (
                f"time zone {shown} names a copy in the host's zoneinfo folder, which other "
                f"hosts may not have: use {inner!r}"
            )
    suggestion = _by_folded_case().get(name.strip().lower())
    if suggestion is not None:
        return f"unknown time zone {shown} (did you mean {suggestion!r}?)"
    return f"unknown time zone {shown} ({_EXAMPLE})"
