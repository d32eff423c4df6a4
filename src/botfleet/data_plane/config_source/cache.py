"""The last good boot payload on the tenant's volume; its secrets sealed with Fernet.

The file (``boot-cache.json`` beside the tenant's state database) holds the payload with every
field of `secret_paths` taken out. Those values are sealed together with the key(s) from
``DP_CACHE_KEY``/``CACHE_KEY`` (comma-separated Fernet keys; the first encrypts, all decrypt).
Without a usable key the secrets are left out (never written in clear) and the log says so: a
data plane started from such a cache runs only when its bindings need no secret.

The file names its tenant: a copy of another tenant's (a volume copied or mounted by mistake) is
refused at load and read as no cache. A file written before the field existed is judged by the
tenant id inside its payload.
"""

from __future__ import annotations

import errno
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from pydantic import ValidationError

from botfleet.domain.tenants import BootPayload

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

log = structlog.get_logger("botfleet.data_plane.boot")

CACHE_FILE = "boot-cache.json"
CACHE_FORMAT = 1
KEY_VARIABLE = "DP_CACHE_KEY"


@dataclass(frozen=True, slots=True)
class CachedBoot:
    payload: BootPayload
    etag: str
    saved_at: datetime
    #: False when the payload had secrets that could not be put back (no key, wrong key).
    secrets_restored: bool


def key_list(keys: str | None) -> list[str]:
    """Comma-separated keys as a list, empty entries (``",<key>"``) and whitespace dropped."""
    return [k.strip() for k in (keys or "").split(",") if k.strip()]


def cache_fernet(keys: str | None) -> MultiFernet | None:
    """The cache's cipher from comma-separated Fernet keys; None (logged) when unusable."""
    parts = key_list(keys)
    if not parts:
        return None
    # Imported only when a key is set: `cryptography` is 7 MB of every data plane's memory,
    # and a tenant run from a local file (or without a cache key) never seals anything.
    from cryptography.fernet import Fernet, MultiFernet

    try:
        return MultiFernet([Fernet(k.encode()) for k in parts])
    except ValueError:
        # The variable is named, never its value.
        log.error(
            "boot_cache_key_invalid",
            detail=f"{KEY_VARIABLE} is not a comma-separated list of Fernet keys; "
            "the boot cache will hold no secrets",
        )
        return None


#: A more channel's secret: ``more_channels[1].bot_token``.
_MORE_CHANNEL_PATH = re.compile(r"more_channels\[(\d+)\]\.(.+)")


def _split_path(path: str) -> tuple[list[str | int], str]:
    """``connectors.calendar.password`` -> (["connectors", "calendar"], "password");
    ``connectors.notification.crm.secret`` -> (["connectors", "notification.crm"], "secret");
    ``more_channels[1].bot_token`` -> (["more_channels", 1], "bot_token")."""
    more = _MORE_CHANNEL_PATH.fullmatch(path)
    if more is not None:
        return ["more_channels", int(more[1])], more[2]
    if path.startswith("connectors."):
        # At the last dot: a named binding's key has one of its own, a credential name none
        # (it is a field of the binding's settings). At the first, a named binding's secrets
        # stayed in the cache file in clear.
        binding, _, key = path.removeprefix("connectors.").rpartition(".")
        return ["connectors", binding], key
    section, _, key = path.partition(".")
    return [section], key


def _holder(data: dict[str, Any], parents: list[str | int]) -> dict[str, Any] | None:
    node: Any = data
    for name in parents:
        if isinstance(name, int):
            node = node[name] if isinstance(node, list) and name < len(node) else None
        else:
            node = node.get(name) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def take_secrets(data: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """Remove the values at `paths` from `data` (a dumped payload); returns them by path."""
    taken: dict[str, Any] = {}
    for path in paths:
        parents, key = _split_path(path)
        holder = _holder(data, parents)
        if holder is not None and key in holder:
            taken[path] = holder.pop(key)
    return taken


def put_secrets(data: dict[str, Any], secrets: dict[str, Any]) -> None:
    for path, value in secrets.items():
        parents, key = _split_path(path)
        holder = _holder(data, parents)
        if holder is not None:
            holder[key] = value


def sealed_secrets_open(path: Path, keys: str | None) -> bool | None:
    """Whether the secrets sealed in the cached copy at `path` open with `keys` (the way a
    start from it would read them); None when there is no copy, or it holds none sealed. For
    a check before a restart on a new ``DP_CACHE_KEY``: nothing is logged."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    sealed = document.get("sealed_secrets") if isinstance(document, dict) else None
    if not isinstance(sealed, str) or not sealed:
        return None
    parts = key_list(keys)
    if not parts:
        return False
    from cryptography.fernet import Fernet, InvalidToken, MultiFernet

    try:
        MultiFernet([Fernet(k.encode()) for k in parts]).decrypt(sealed.encode())
    except (InvalidToken, ValueError):
        return False
    return True


class BootCache:
    """Reads and writes one tenant's cached boot payload.

    Args:
        path: the cache file.
        keys: the Fernet key(s) (``DP_CACHE_KEY``); None: secrets are not cached.
        tenant_id: the tenant this process runs (``TENANT_ID``): a cached copy of any other
            is refused at load. None: not checked.
    """

    def __init__(self, path: Path, keys: str | None, *, tenant_id: str | None = None) -> None:
        self.path = path
        self.tenant_id = tenant_id
        self._fernet = cache_fernet(keys)
        self._sealing_key = key_list(keys)[0] if self._fernet is not None else None

    @property
    def can_seal(self) -> bool:
        return self._fernet is not None

    def save(self, payload: BootPayload, etag: str, *, now: datetime | None = None) -> None:
        """Write the payload atomically (0600), secrets sealed or left out."""
        data = payload.wire_data()
        secrets = take_secrets(data, payload.secret_paths)
        sealed: str | None = None
        if secrets and self._fernet is not None:
            sealed = self._fernet.encrypt(json.dumps(secrets).encode()).decode()
        document = {
            "format": CACHE_FORMAT,
            "tenant_id": payload.tenant.id,
            "etag": etag,
            "saved_at": (now or datetime.now(UTC)).isoformat(),
            "payload": data,
            "sealed_secrets": sealed,
            "secrets_left_out": bool(secrets) and sealed is None,
        }
        _write_private(self.path, json.dumps(document, indent=1, sort_keys=True))
        if secrets and sealed is None:
            # Said once the copy exists: a write that failed (and is retried at every poll)
            # leaves no copy to warn about.
            log.warning(
                "boot_cache_without_secrets",
                tenant=payload.tenant.id,
                secrets=len(secrets),
                detail=f"{KEY_VARIABLE} is not set: the cached copy holds no secrets, so a "
                "start from it cannot use bindings that need them",
            )

    def try_save(self, payload: BootPayload, etag: str, *, quiet: bool = False) -> bool:
        """`save`, an I/O failure (disk full, read-only volume) logged instead of raised: the
        configuration in hand runs anyway; only a later start from the cache finds an older copy.

        `quiet`: the failure is not logged (the caller retries and has reported it already).
        """
        try:
            self.save(payload, etag)
        except OSError as exc:
            if quiet:
                return False
            log.warning(
                "boot_cache_not_saved",
                tenant=payload.tenant.id,
                path=str(self.path),
                error=type(exc).__name__,
                errno=errno.errorcode.get(exc.errno or 0),
                detail="running the configuration pulled; a start with the control plane "
                "down would use an older copy, or none; retried at each config poll "
                "(DP_CONFIG_POLL_S)",
            )
            return False
        return True

    def load(self) -> CachedBoot | None:
        """The cached payload, or None (logged) when there is none or it cannot be read."""
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.error("boot_cache_unreadable", path=str(self.path), error=type(exc).__name__)
            return None
        if not isinstance(document, dict) or document.get("format") != CACHE_FORMAT:
            log.error("boot_cache_unreadable", path=str(self.path), error="unknown format")
            return None
        data = document.get("payload")
        if not self._is_own(document, data):
            return None
        restored = not document.get("secrets_left_out", False)
        sealed = document.get("sealed_secrets")
        if isinstance(data, dict) and sealed:
            secrets = self._unseal(str(sealed))
            if secrets is None:
                restored = False
            else:
                self._reseal_if_rotated(document, str(sealed))
                put_secrets(data, secrets)
        try:
            payload = BootPayload.model_validate(data)
            saved_at = datetime.fromisoformat(str(document["saved_at"]))
        except (ValidationError, KeyError, ValueError) as exc:
            log.error("boot_cache_unreadable", path=str(self.path), error=type(exc).__name__)
            return None
        return CachedBoot(payload, str(document.get("etag") or ""), saved_at, restored)

    def _is_own(self, document: dict[str, Any], data: Any) -> bool:
        """Whether the file belongs to `tenant_id`, by its ``tenant_id`` field and the tenant
        inside its payload (the only one a file written before the field existed has)."""
        if self.tenant_id is None:
            return True
        inner = data.get("tenant") if isinstance(data, dict) else None
        ids = (document.get("tenant_id"), inner.get("id") if isinstance(inner, dict) else None)
        found = {str(value) for value in ids if value is not None}
        if found and found != {self.tenant_id}:
            log.error(
                "boot_cache_other_tenant",
                path=str(self.path),
                tenant=self.tenant_id,
                cached_tenant=sorted(found),
                detail="the cached copy belongs to another tenant (a copied volume?): not used",
            )
            return False
        return True

    def _reseal_if_rotated(self, document: dict[str, Any], sealed: str) -> None:
        """Seal again with the first key when an older one opened the secrets.

        Done at load, not at the next pull: a data plane started from the cache may see only
        304s for days, and the operator drops the old key once the key is rotated.
        """
        from cryptography.fernet import Fernet, InvalidToken

        assert self._fernet is not None and self._sealing_key is not None  # it just opened
        try:
            Fernet(self._sealing_key.encode()).decrypt(sealed.encode())
            return
        except InvalidToken:
            pass
        document["sealed_secrets"] = self._fernet.rotate(sealed.encode()).decode()
        try:
            _write_private(self.path, json.dumps(document, indent=1, sort_keys=True))
        except OSError as exc:
            log.error("boot_cache_reseal_failed", path=str(self.path), error=type(exc).__name__)
            return
        log.info(
            "boot_cache_resealed", path=str(self.path), detail=f"with the first {KEY_VARIABLE}"
        )

    def _unseal(self, sealed: str) -> dict[str, Any] | None:
        if self._fernet is None:
            log.error(
                "boot_cache_secrets_unreadable",
                path=str(self.path),
                detail=f"the cache holds sealed secrets but {KEY_VARIABLE} is not set",
            )
            return None
        from cryptography.fernet import InvalidToken

        try:
            secrets: dict[str, Any] = json.loads(self._fernet.decrypt(sealed.encode()))
        except (InvalidToken, ValueError):
            log.error(
                "boot_cache_secrets_unreadable",
                path=str(self.path),
                detail=f"the sealed secrets do not open with {KEY_VARIABLE} (was it changed?)",
            )
            return None
        return secrets


def _write_private(path: Path, text: str) -> None:
    """Write-then-rename, so a crash never leaves half a cache; owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
