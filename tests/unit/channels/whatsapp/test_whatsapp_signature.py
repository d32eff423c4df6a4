"""X-Hub-Signature-256 verification and the subscription handshake."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.adapters.channels.whatsapp.signature import (
    MalformedSignature,
    MissingSignature,
    WrongVerifyToken,
    signature_for,
    verify_signature,
    verify_subscription,
)
from botfleet.domain.errors import InvalidSignature

SECRET = "app-secret-123"
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def test_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert signature_for(BODY, SECRET) == f"sha256={expected}"


def test_the_right_signature_is_accepted_in_either_hex_case() -> None:
    verify_signature(BODY, signature_for(BODY, SECRET), SECRET)
    verify_signature(BODY, signature_for(BODY, SECRET).upper().replace("SHA256", "sha256"), SECRET)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_signature_is_reported_as_missing(header: str | None) -> None:
    with pytest.raises(MissingSignature):
        verify_signature(BODY, header, SECRET)


@pytest.mark.parametrize(
    "header",
    [
        signature_for(BODY, "another-secret"),
        signature_for(BODY + b" ", SECRET),
        signature_for(BODY, SECRET).removeprefix("sha256="),
        "sha1=" + hashlib.sha1(BODY).hexdigest(),
        "sha256=ñ" + "0" * 63,
    ],
)
def test_a_wrong_signature_is_rejected(header: str) -> None:
    with pytest.raises(InvalidSignature) as raised:
        verify_signature(BODY, header, SECRET)
    assert not isinstance(raised.value, MissingSignature)


@pytest.mark.parametrize(
    ("header", "malformed"),
    [
        (signature_for(BODY, "another-secret"), False),  # another app secret
        (signature_for(BODY + b" ", SECRET), False),  # another body
        (signature_for(BODY, SECRET).removeprefix("sha256="), True),
        ("sha1=" + hashlib.sha1(BODY).hexdigest(), True),
        (signature_for(BODY, SECRET)[:-1], True),  # cut short on the way
        ("sha256=ñ" + "0" * 63, True),
    ],
)
def test_a_malformed_header_is_told_from_a_mismatch(header: str, malformed: bool) -> None:
    with pytest.raises(InvalidSignature) as raised:
        verify_signature(BODY, header, SECRET)
    assert isinstance(raised.value, MalformedSignature) is malformed


@given(body=st.binary(max_size=256), tweak=st.integers(min_value=0, max_value=255))
def test_any_changed_byte_breaks_the_signature(body: bytes, tweak: int) -> None:
    header = signature_for(body, SECRET)
    verify_signature(body, header, SECRET)
    changed = body + bytes([tweak])
    with pytest.raises(InvalidSignature):
        verify_signature(changed, header, SECRET)


def test_the_handshake_needs_subscribe_mode_and_our_token() -> None:
    verify_subscription("subscribe", "verify-me", "verify-me")
    for mode, token in [("subscribe", "nope"), ("unsubscribe", "verify-me"), (None, None)]:
        with pytest.raises(WrongVerifyToken):
            verify_subscription(mode, token, "verify-me")
