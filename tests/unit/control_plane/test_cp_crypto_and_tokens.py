"""SecretBox (MultiFernet) and key/token helpers."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from botfleet.control_plane.crypto import SecretBox, UndecryptableSecret
from botfleet.control_plane.tokens import (
    api_key_id,
    digests_match,
    hash_secret,
    new_api_key,
    new_boot_token,
)

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_seal_and_open_round_trip_without_plaintext_in_the_token() -> None:
    box = SecretBox([OLD])
    token = box.seal({"api_key": "sk-123", "nested": {"a": 1}})
    assert "sk-123" not in token
    assert box.open(token) == {"api_key": "sk-123", "nested": {"a": 1}}
    assert OLD not in repr(box)


def test_rotation_moves_tokens_to_the_primary_key() -> None:
    token = SecretBox([OLD]).seal({"password": "p"})
    both = SecretBox([NEW, OLD])
    assert both.open(token) == {"password": "p"}
    rotated = both.rotate(token)
    assert SecretBox([NEW]).open(rotated) == {"password": "p"}
    with pytest.raises(UndecryptableSecret, match="acme/llm: cannot decrypt"):
        SecretBox([NEW]).open(token, where="acme/llm")


def test_api_keys_carry_their_id_and_are_stored_as_hashes() -> None:
    issued = new_api_key()
    assert api_key_id(issued.secret) == issued.key_id
    assert issued.secret not in repr(issued)
    assert issued.digest == hash_secret(issued.secret)
    assert digests_match(issued.secret, issued.digest)
    assert not digests_match(issued.secret + "x", issued.digest)
    assert new_api_key().key_id != issued.key_id


@pytest.mark.parametrize("presented", ["", "bfk", "bfk_short_x", "xyz_0123456789ab_x", "admin"])
def test_malformed_api_keys_have_no_id(presented: str) -> None:
    assert api_key_id(presented) is None


def test_boot_tokens_are_random() -> None:
    first, second = new_boot_token(), new_boot_token()
    assert first.startswith("bfb_")
    assert first != second
    assert len(first) > 40
