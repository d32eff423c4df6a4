"""Contact hashes are keyed (HMAC under a secret key), so a phone number cannot be recovered from
its hash by trying every number; the key file is created private, kept, and replaced if broken."""

from __future__ import annotations

import hashlib
import hmac
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from botfleet import contact_hash
from botfleet.contact_hash import KEY_BYTES, hash_contact, load_or_create_key, use_key

PHONE = "+34600123456"


@pytest.fixture(autouse=True)
def _no_tenant_keys() -> Iterator[None]:
    yield
    for tenant in ("t1", "t2"):
        use_key(tenant, None)


def keyed(key: bytes, tenant: str, contact: str) -> str:
    return hmac.new(key, f"{tenant}\x00{contact}".encode(), hashlib.sha256).hexdigest()[:12]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_hash_is_not_the_unkeyed_sha256_of_tenant_and_contact() -> None:
    unkeyed = hashlib.sha256(f"t1:{PHONE}".encode()).hexdigest()[:12]
    assert hash_contact("t1", PHONE) != unkeyed


def test_the_hash_is_an_hmac_under_the_tenants_key() -> None:
    key = bytes(range(KEY_BYTES))
    use_key("t1", key)
    assert hash_contact("t1", PHONE) == keyed(key, "t1", PHONE)
    assert hash_contact("t1", None) is None


def test_another_key_gives_another_hash_and_none_falls_back_to_the_process_key() -> None:
    without = hash_contact("t1", PHONE)
    use_key("t1", b"a" * KEY_BYTES)
    first = hash_contact("t1", PHONE)
    use_key("t1", b"b" * KEY_BYTES)
    assert hash_contact("t1", PHONE) != first  # the memo never serves the old key's hash
    use_key("t1", None)
    assert hash_contact("t1", PHONE) == without


def test_tenants_sharing_the_process_key_still_get_different_hashes() -> None:
    assert hash_contact("t1", PHONE) != hash_contact("t2", PHONE)


def test_the_key_file_is_created_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "acme" / "log-hash.key"
    with structlog.testing.capture_logs() as logs:
        key = load_or_create_key(path)
    assert len(key) == KEY_BYTES
    assert path.read_bytes() == key
    assert mode(path) == 0o600
    assert [e["event"] for e in logs] == ["log_hash_key_created"]
    with structlog.testing.capture_logs() as logs:
        assert load_or_create_key(path) == key
    assert logs == []
    assert [p.name for p in path.parent.iterdir()] == ["log-hash.key"]  # no temporary left


@pytest.mark.parametrize("content", [b"", b"short", b"x" * (KEY_BYTES + 1)])
def test_a_corrupt_key_file_is_replaced_with_a_warning(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "log-hash.key"
    path.write_bytes(content)
    with structlog.testing.capture_logs() as logs:
        key = load_or_create_key(path)
    assert len(key) == KEY_BYTES
    assert path.read_bytes() == key
    assert mode(path) == 0o600
    [warning] = logs
    assert warning["event"] == "log_hash_key_replaced"
    assert warning["log_level"] == "warning"
    assert key.hex() not in repr(logs)


def test_a_key_that_cannot_be_read_or_saved_is_used_for_this_process_only(tmp_path: Path) -> None:
    path = tmp_path / "log-hash.key"
    path.mkdir()  # neither readable as a file nor replaceable by one
    with structlog.testing.capture_logs() as logs:
        key = load_or_create_key(path)
    assert len(key) == KEY_BYTES
    assert [e["event"] for e in logs] == ["log_hash_key_not_saved"]
    assert logs[0]["log_level"] == "warning"


def test_a_key_file_restored_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "log-hash.key"
    path.write_bytes(b"k" * KEY_BYTES)
    path.chmod(0o644)
    assert load_or_create_key(path) == b"k" * KEY_BYTES
    assert mode(path) == 0o600


def test_a_key_created_meanwhile_by_another_process_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log-hash.key"
    theirs = b"t" * KEY_BYTES
    real_write = contact_hash._write_key

    def other_process_first(target: Path, key: bytes, *, replace: bool) -> None:
        if not target.exists():
            target.write_bytes(theirs)  # between our read (missing) and our write
        real_write(target, key, replace=replace)

    monkeypatch.setattr(contact_hash, "_write_key", other_process_first)
    assert load_or_create_key(path) == theirs
    assert path.read_bytes() == theirs
