"""A Google service-account key google-auth can load (a fresh RSA key, never a real account's),
for tests of credentials the control plane checks as the data plane's boot does."""

from __future__ import annotations

from functools import cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TOKEN_URI = "https://oauth2.googleapis.com/token"


@cache
def private_key_pem() -> str:
    """A PKCS#8 PEM RSA key; made once per test run (making one takes a while)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def service_account(**overrides: Any) -> dict[str, Any]:
    """A key file's JSON as Google gives it, with `overrides` (``token_uri=...``)."""
    return {
        "type": "service_account",
        "project_id": "acme-bot",
        "private_key_id": "0123456789abcdef",
        "private_key": private_key_pem(),
        "client_email": "bot@acme-bot.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": TOKEN_URI,
        **overrides,
    }
