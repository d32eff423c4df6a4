"""The boot settings as read: BOOT_TOKEN and CACHE_KEY cleaned up, or refused without echo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.testing.runtime import make_settings

TOKEN = "bfb_s3cret-Token.value"
KEY, OLD_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def refusal(**fields: Any) -> str:
    """The text of the settings error, as it would be printed."""
    with pytest.raises(ValidationError) as caught:
        make_settings(**fields)
    return str(caught.value)


@pytest.mark.parametrize("read", [f"{TOKEN}\n", f"  {TOKEN}\r\n", f"\t{TOKEN} "])
def test_the_boot_token_loses_the_whitespace_around_it(read: str) -> None:
    assert make_settings(boot_token=read).boot_token == TOKEN


def test_the_boot_token_is_read_stripped_from_the_environment_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no `.env` file
    monkeypatch.setenv("DP_BOOT_TOKEN", f"{TOKEN}\n")
    monkeypatch.setenv("DP_TENANT_ID", "acme\n")
    settings = DataPlaneSettings()
    assert (settings.boot_token, settings.tenant_id) == (TOKEN, "acme")


@pytest.mark.parametrize(
    "token",
    ["bfb_s3cret Token", "bfb_s3cret\nToken", "bfb_s3cret\x00Token", "bfb_s3crét-Token"],
)
def test_a_boot_token_with_whitespace_or_control_characters_inside_is_refused_unseen(
    token: str,
) -> None:
    text = refusal(boot_token=token)
    assert "BOOT_TOKEN" in text and "printable ASCII" in text
    assert "s3cret" not in text


def test_the_internal_token_is_cleaned_up_and_checked_the_same_way() -> None:
    # A token file's newline would make every control-plane call to /tasks and /usage a 403.
    assert make_settings(internal_token=f"{TOKEN}\n").internal_token == TOKEN
    text = refusal(internal_token="bfb_s3cret Token")
    assert "DP_INTERNAL_TOKEN" in text and "s3cret" not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(f",{KEY}", KEY, id="empty-first"),
        pytest.param(f" {KEY} , ,{OLD_KEY},", f"{KEY},{OLD_KEY}", id="empty-between-and-last"),
        pytest.param(f"{KEY}\n", KEY, id="newline"),
        pytest.param("", None, id="empty-is-unset"),
        pytest.param("  ", None, id="blank-is-unset"),
        pytest.param(None, None, id="unset"),
    ],
)
def test_empty_cache_key_entries_are_dropped(value: str | None, expected: str | None) -> None:
    assert make_settings(cache_key=value).cache_key == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param(",", "holds no key", id="comma"),
        pytest.param(" , ,", "holds no key", id="commas"),
        pytest.param("not-a-fernet-key-at-all", "key 1 of 1 is not a Fernet key", id="not-a-key"),
        pytest.param(f"{KEY},{KEY[:-4]}", "key 2 of 2 is not a Fernet key", id="short"),
        pytest.param(f"{KEY},{KEY[:20]}é{KEY[21:]}", "key 2 of 2 is not a Fernet key", id="ascii"),
    ],
)
def test_a_cache_key_setting_without_a_usable_key_is_named_never_shown(
    value: str, problem: str
) -> None:
    text = refusal(cache_key=value)
    assert "DP_CACHE_KEY" in text and problem in text
    for key in value.split(","):
        if key.strip(" ,"):
            assert key.strip() not in text
    assert KEY[:12] not in text


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(KEY, id="key"),
        pytest.param(KEY[:-1], id="one-less"),
        pytest.param(KEY + "AAAA", id="longer"),
        pytest.param("x" * 44, id="xs"),
        pytest.param(KEY.rstrip("="), id="unpadded"),
        pytest.param("%" * 44, id="not-base64"),
    ],
)
def test_the_settings_accept_exactly_the_keys_fernet_accepts(key: str) -> None:
    try:
        Fernet(key.encode())
    except ValueError:
        refusal(cache_key=key)
    else:
        assert make_settings(cache_key=key).cache_key == key
