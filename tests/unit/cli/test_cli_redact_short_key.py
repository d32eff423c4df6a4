"""An error line never shows the API key; a "key" too short to be one is not cut out of every
word (`--key e` made "invalid API k***y")."""

from __future__ import annotations

from botfleet.cli.commands.cp_common import redact


def test_a_real_key_is_hidden_wherever_it_appears() -> None:
    key = "bfk_0123456789ab_secretpart"
    assert redact(f"HTTP 401: invalid API key {key}", key) == "HTTP 401: invalid API key ***"


def test_a_too_short_key_leaves_the_message_readable() -> None:
    assert redact("HTTP 401: invalid API key", "e") == "HTTP 401: invalid API key"
    assert redact("not JSON (Expecting value)", "x") == "not JSON (Expecting value)"


def test_a_password_in_a_url_is_hidden_whatever_the_key() -> None:
    assert redact("cannot reach http://ana:pw@cp:8001", None) == "cannot reach http://***@cp:8001"
