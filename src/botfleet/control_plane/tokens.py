"""API keys and boot tokens: generation, parsing and hashing (only hashes are stored)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

API_KEY_PREFIX = "bfk"
BOOT_TOKEN_PREFIX = "bfb"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly generated API key: `key_id` is stored in clear, `secret` only as a hash."""

    key_id: str
    secret: str

    def __repr__(self) -> str:
        return f"IssuedKey(key_id={self.key_id!r}, secret=<hidden>)"

    @property
    def digest(self) -> str:
        return hash_secret(self.secret)


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a key or token (they are random, so no salt or KDF is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def digests_match(secret: str, digest: str) -> bool:
    """Constant-time comparison of a presented secret against a stored digest."""
    return hmac.compare_digest(hash_secret(secret), digest)


def new_api_key() -> IssuedKey:
    """A key shaped ``bfk_<key id>_<random>``; the id lets us find the row without the secret."""
    key_id = secrets.token_hex(6)
    return IssuedKey(key_id=key_id, secret=f"{API_KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}")


def api_key_id(presented: str) -> str | None:
    """The key id inside a presented API key, or None when it is not shaped like one."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[1]) != 12:
        return None
    return parts[1]


def new_boot_token() -> str:
    return f"{BOOT_TOKEN_PREFIX}_{secrets.token_urlsafe(32)}"
