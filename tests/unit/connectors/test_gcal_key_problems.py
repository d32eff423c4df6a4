"""An unusable Google service-account key is refused at boot saying what is wrong with it (the
wrong download, a file cut short, a private key pasted with ``\\n``...), naming the setting and
never quoting the key. Before, most of them were only a class name (``ValueError``,
``MalformedError``, ``FileNotFoundError``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from botfleet.adapters.connectors.calendar.google import build

SECRET = "MIIEsecretKEYmaterial"
PEM = f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n"
KEY = {
    "type": "service_account",
    "project_id": "fisio",
    "private_key_id": "0123456789abcdef",
    "private_key": PEM,
    "client_email": "bot@fisio.iam.gserviceaccount.com",
    "client_id": "1234567890",
    "token_uri": "https://oauth2.googleapis.com/token",
}


def _encrypted_pem() -> str:
    """A real RSA key exported with a password (cryptography then raises TypeError)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    ).decode()


ENCRYPTED_PEM = _encrypted_pem()


class Clock:
    def now(self) -> datetime:
        return datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


def refusal(settings: dict[str, Any]) -> str:
    with pytest.raises(ValueError) as raised:
        build(
            {"calendar_id": "ruiz@group.calendar.google.com", **settings},
            timezone="UTC",
            clock=Clock(),
        )
    message = str(raised.value)
    assert SECRET not in message and "BEGIN PRIVATE" not in message, message
    return message


def key_file(tmp_path: Path, content: Any) -> dict[str, str]:
    path = tmp_path / "key.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return {"credentials_path": str(path)}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (json.dumps(KEY)[:150], "not valid JSON at line 1, column"),
        ({"installed": {"client_id": "x", "client_secret": "y"}}, "an OAuth client's file"),
        ({"type": "authorized_user", "refresh_token": "r"}, "type is 'authorized_user'"),
        ({k: v for k, v in KEY.items() if k != "private_key"}, "missing private_key"),
        ({**KEY, "client_email": ""}, "missing client_email"),
        ({**KEY, "private_key": PEM.replace("\n", "\\n")}, "line breaks written as \\n"),
        ({"service_account_info": KEY}, "wrapped in service_account_info"),
        ({**KEY, "private_key": SECRET}, "not a PEM private key"),
        (PEM, "not valid JSON"),
        ([KEY], "the JSON is a list"),
        # Refused with its reason, not escaping as a RecursionError.
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        # A secret pasted as the type is not echoed (`refusal` checks), a name is.
        ({**KEY, "type": PEM}, "the key's type is not 'service_account'"),
        ({**KEY, "private_key": ENCRYPTED_PEM}, "encrypted with a password"),
    ],
)
def test_a_key_file_that_is_no_key_says_why(tmp_path: Path, content: Any, says: str) -> None:
    message = refusal(key_file(tmp_path, content))
    assert message.startswith("credentials_path: not a usable service-account key ("), message
    assert says in message


def test_a_private_key_that_does_not_load_says_so_without_quoting_it(tmp_path: Path) -> None:
    message = refusal(key_file(tmp_path, KEY))
    assert "its private_key does not load" in message


def test_a_key_file_that_cannot_be_read_says_why_without_its_path(tmp_path: Path) -> None:
    missing = refusal({"credentials_path": str(tmp_path / "nope.json")})
    folder = refusal({"credentials_path": str(tmp_path)})
    assert "no such file" in missing and str(tmp_path) not in missing
    assert "a folder, not the key file" in folder


def test_the_key_stored_as_credentials_is_checked_the_same_way() -> None:
    as_object = refusal({"service_account_info": {"installed": {"client_id": "x"}}})
    as_text = refusal({"service_account_info": json.dumps(KEY)[:-1]})
    assert as_object.startswith("service_account_info: not a usable service-account key (")
    assert "an OAuth client's file" in as_object
    assert "not valid JSON" in as_text
