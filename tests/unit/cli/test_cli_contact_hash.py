"""`botfleet contact-hash`: the hash a contact's log lines carry, from the tenant's key file."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from cli_helpers import Invoke

from botfleet.contact_hash import KEY_BYTES, hash_contact, load_or_create_key, use_key


def test_it_prints_the_hash_the_data_plane_logs(invoke: Invoke, tmp_path: Path) -> None:
    key_file = tmp_path / "acme" / "log-hash.key"
    key = load_or_create_key(key_file)  # as a data plane's first start does
    use_key("acme", key)
    try:
        logged = hash_contact("acme", "+34600123456")
    finally:
        use_key("acme", None)
    result = invoke("contact-hash", "acme", "+34600123456", "--key-file", key_file)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{logged}\n"
    # The documented formula, computed independently.
    expected = hmac.digest(key, b"acme\x00+34600123456", "sha256").hex()[:12]
    assert logged == expected
    assert key.hex() not in result.stdout + result.stderr


def test_another_tenant_or_contact_hashes_differently(invoke: Invoke, tmp_path: Path) -> None:
    key_file = tmp_path / "log-hash.key"
    key_file.write_bytes(secrets.token_bytes(KEY_BYTES))
    outputs = {
        invoke("contact-hash", tenant, contact, "-k", key_file).stdout
        for tenant, contact in [("acme", "1"), ("acme", "2"), ("other", "1")]
    }
    assert len(outputs) == 3


def test_a_missing_file_is_named_and_never_created(invoke: Invoke, tmp_path: Path) -> None:
    missing = tmp_path / "log-hash.key"
    result = invoke("contact-hash", "acme", "+34600123456", "--key-file", missing)
    assert result.exit_code == 1
    assert f"error: {missing}: no such file" in result.stderr
    assert result.stdout == ""
    assert not missing.exists()  # reading must not create a key the logs were not hashed with


def test_a_file_that_is_not_a_key_is_refused(invoke: Invoke, tmp_path: Path) -> None:
    broken = tmp_path / "log-hash.key"
    broken.write_bytes(b"short")
    result = invoke("contact-hash", "acme", "x", "--key-file", broken)
    assert result.exit_code == 1
    assert f"error: {broken}: 5 bytes instead of 32, not a log-hash key" in result.stderr
    assert broken.read_bytes() == b"short"  # left as it is


def test_a_number_typed_with_a_plus_gets_the_hash_of_the_whatsapp_id_too(
    invoke: Invoke, tmp_path: Path
) -> None:
    # WhatsApp's contact ids are the number's digits without '+': the hash of "+34..." is
    # not in any WhatsApp tenant's logs.
    key_file = tmp_path / "log-hash.key"
    key = load_or_create_key(key_file)
    result = invoke("contact-hash", "acme", "+34 600 123 456", "--key-file", key_file)
    assert result.exit_code == 0, result.stderr
    exact = hmac.digest(key, b"acme\x00+34 600 123 456", "sha256").hex()[:12]
    whatsapp = hmac.digest(key, b"acme\x0034600123456", "sha256").hex()[:12]
    # A tenant whose WhatsApp is a more channel stores `whatsapp:34600123456` (a DPO grepped
    # with the bare number's hash and found nothing).
    more = hmac.digest(key, b"acme\x00whatsapp:34600123456", "sha256").hex()[:12]
    assert result.stdout == f"{exact}\n"  # what was asked, alone on stdout
    note, labelled, prefixed = result.stderr.splitlines()
    assert note.startswith("note: WhatsApp contact ids have no '+' (34600123456)")
    assert "Telegram ids are chat ids" in note
    assert labelled == f"hash of '34600123456' (without the '+'): {whatsapp}"
    assert prefixed == (
        f"hash of 'whatsapp:34600123456' (WhatsApp as one of the tenant's more_channels): {more}"
    )


def test_an_id_without_a_plus_gets_no_note(invoke: Invoke, tmp_path: Path) -> None:
    key_file = tmp_path / "log-hash.key"
    load_or_create_key(key_file)
    result = invoke("contact-hash", "acme", "34600123456", "--key-file", key_file)
    assert result.exit_code == 0
    assert result.stderr == ""
