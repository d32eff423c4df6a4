"""Credential encryption at rest: JSON objects sealed with MultiFernet (primary key first)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from botfleet.control_plane.errors import ControlPlaneError


class UndecryptableSecret(ControlPlaneError):
    """A stored secret was sealed with a key this process does not have."""

    status_code = 500

    def __init__(self, where: str) -> None:
        super().__init__(
            f"{where}: cannot decrypt the stored credentials with any configured key "
            "(was a key removed from CP_FERNET_KEYS before rotating?)"
        )


class SecretBox:
    """Seals and opens JSON objects. Encrypts with the first key, decrypts with any."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("SecretBox needs at least one Fernet key")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def __repr__(self) -> str:
        return "SecretBox(<keys hidden>)"

    def seal(self, values: dict[str, Any]) -> str:
        """Encrypt a JSON object; returns the Fernet token as text."""
        plain = json.dumps(values, sort_keys=True, separators=(",", ":")).encode()
        return self._fernet.encrypt(plain).decode()

    def open(self, token: str, *, where: str = "credentials") -> dict[str, Any]:
        """Decrypt a token made by `seal`."""
        try:
            plain = self._fernet.decrypt(token.encode())
        except InvalidToken:
            raise UndecryptableSecret(where) from None
        value = json.loads(plain)
        if not isinstance(value, dict):
            raise UndecryptableSecret(where)
        return value

    def rotate(self, token: str, *, where: str = "credentials") -> str:
        """Re-encrypt a token with the primary key (its content is unchanged)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret(where) from None
