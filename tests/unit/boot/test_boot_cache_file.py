"""BootCache: sealing, wrong or missing keys, unreadable files, atomic private writes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from cryptography.fernet import Fernet
from structlog.testing import capture_logs

from botfleet.data_plane.config_source import BootCache
from botfleet.data_plane.config_source.cache import put_secrets, take_secrets
from botfleet.domain.tenants import BootPayload, PublishedFlow, TenantInfo

SECRET = "EAA-whatsapp-secret-token"


def payload() -> BootPayload:
    return BootPayload(
        tenant=TenantInfo(id="acme", name="Acme"),
        flow=PublishedFlow(version=2, flow_id="f", yaml="id: f\n", sha256="0" * 64),
        channel={"type": "whatsapp", "phone_number_id": "42", "access_token": SECRET},
        connectors={"calendar": {"type": "caldav", "url": "https://dav", "password": "pw-1"}},
        llm={"enabled": True, "api_key": "sk-2"},
        secret_paths=("channel.access_token", "connectors.calendar.password", "llm.api_key"),
    )


def test_secrets_are_taken_out_and_put_back_by_path() -> None:
    data = payload().model_dump(mode="json")
    taken = take_secrets(data, payload().secret_paths)
    assert taken == {
        "channel.access_token": SECRET,
        "connectors.calendar.password": "pw-1",
        "llm.api_key": "sk-2",
    }
    assert "access_token" not in data["channel"]
    assert data["connectors"]["calendar"] == {"type": "caldav", "url": "https://dav"}
    put_secrets(data, taken)
    assert BootPayload.model_validate(data) == payload()


def test_a_sealed_cache_round_trips_and_holds_no_secret_in_clear(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    path = tmp_path / "t" / "boot-cache.json"
    BootCache(path, key).save(payload(), '"etag-1"')
    text = path.read_text()
    for secret in (SECRET, "pw-1", "sk-2"):
        assert secret not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(path.parent.glob(".*.tmp"))
    cached = BootCache(path, key).load()
    assert cached is not None
    assert (cached.payload, cached.etag, cached.secrets_restored) == (payload(), '"etag-1"', True)


def test_rotated_cache_keys_still_open_the_old_copy(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    path = tmp_path / "boot-cache.json"
    BootCache(path, old).save(payload(), '"e"')
    cached = BootCache(path, f"{new},{old}").load()
    assert cached is not None and cached.secrets_restored


def test_a_copy_opened_with_an_old_key_is_sealed_again_with_the_new_one(tmp_path: Path) -> None:
    """A start from the cache re-seals it at once: the old key can then be dropped even if no
    pull ever brings a new payload (the control plane answering 304, or down)."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    path = tmp_path / "boot-cache.json"
    BootCache(path, old).save(payload(), '"e"')
    with capture_logs() as logs:
        assert BootCache(path, f"{new},{old}").load() is not None
    assert [e["event"] for e in logs] == ["boot_cache_resealed"]
    document = json.loads(path.read_text())
    assert SECRET not in path.read_text() and document["etag"] == '"e"'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cached = BootCache(path, new).load()  # the old key dropped
    assert cached is not None and cached.secrets_restored
    assert cached.payload.channel["access_token"] == SECRET
    with capture_logs() as logs:  # sealed with the first key: nothing to do
        BootCache(path, f"{new},{old}").load()
    assert logs == []


def test_a_wrong_key_gives_the_payload_without_secrets_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "boot-cache.json"
    BootCache(path, Fernet.generate_key().decode()).save(payload(), '"e"')
    with capture_logs() as logs:
        cached = BootCache(path, Fernet.generate_key().decode()).load()
    assert cached is not None and not cached.secrets_restored
    assert "access_token" not in cached.payload.channel
    assert cached.payload.channel["phone_number_id"] == "42"
    assert [e["event"] for e in logs] == ["boot_cache_secrets_unreadable"]


def test_an_invalid_key_is_named_never_shown_and_secrets_are_not_written(tmp_path: Path) -> None:
    path = tmp_path / "boot-cache.json"
    with capture_logs() as logs:
        cache = BootCache(path, "not-a-fernet-key-value")
        cache.save(payload(), '"e"')
    assert not cache.can_seal
    assert [e["event"] for e in logs] == ["boot_cache_key_invalid", "boot_cache_without_secrets"]
    assert "DP_CACHE_KEY" in logs[0]["detail"]
    assert "not-a-fernet-key-value" not in json.dumps(logs)
    assert SECRET not in path.read_text()


def test_missing_or_broken_files_read_as_no_cache(tmp_path: Path) -> None:
    path = tmp_path / "boot-cache.json"
    assert BootCache(path, None).load() is None
    path.write_text("{not json")
    with capture_logs() as logs:
        assert BootCache(path, None).load() is None
    assert logs[0]["event"] == "boot_cache_unreadable"
    path.write_text(json.dumps({"format": 99}))
    assert BootCache(path, None).load() is None
    path.write_text(json.dumps({"format": 1, "payload": {"tenant": 1}, "saved_at": "x"}))
    assert BootCache(path, None).load() is None


def test_an_empty_first_key_entry_is_skipped_when_sealing_and_resealing(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    path = tmp_path / "boot-cache.json"
    BootCache(path, old).save(payload(), '"e"')
    with capture_logs() as logs:
        cached = BootCache(path, f", {new},{old}").load()
    assert cached is not None and cached.secrets_restored
    assert [e["event"] for e in logs] == ["boot_cache_resealed"]
    fresh = BootCache(path, new).load()  # sealed with `new`, the first key given
    assert fresh is not None and fresh.secrets_restored


def test_a_copy_of_another_tenant_is_refused_and_reads_as_no_cache(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    path = tmp_path / "boot-cache.json"
    BootCache(path, key).save(payload(), '"e"')
    assert BootCache(path, key, tenant_id="acme").load() is not None
    with capture_logs() as logs:
        assert BootCache(path, key, tenant_id="bravo").load() is None
    assert [(e["event"], e["log_level"]) for e in logs] == [("boot_cache_other_tenant", "error")]
    assert (logs[0]["tenant"], logs[0]["cached_tenant"]) == ("bravo", ["acme"])
    assert SECRET not in json.dumps(logs)


def test_a_copy_without_the_tenant_field_is_judged_by_its_payload(tmp_path: Path) -> None:
    """Files written before the ``tenant_id`` field (and any edited one) still name a tenant:
    the payload's, which must match too."""
    key = Fernet.generate_key().decode()
    path = tmp_path / "boot-cache.json"
    BootCache(path, key).save(payload(), '"e"')
    document = json.loads(path.read_text())
    del document["tenant_id"]
    path.write_text(json.dumps(document))
    assert BootCache(path, key, tenant_id="acme").load() is not None
    assert BootCache(path, key, tenant_id="bravo").load() is None
    document["tenant_id"] = "bravo"  # the field says bravo, the payload acme
    path.write_text(json.dumps(document))
    assert BootCache(path, key, tenant_id="bravo").load() is None


def test_a_cache_that_cannot_be_written_is_logged_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "boot-cache.json"
    (path / "in-the-way").mkdir(parents=True)  # a directory where the file goes: EISDIR
    cache = BootCache(path, Fernet.generate_key().decode(), tenant_id="acme")
    with capture_logs() as logs:
        assert cache.try_save(payload(), '"e"') is False
    [warning] = logs
    assert (warning["event"], warning["log_level"]) == ("boot_cache_not_saved", "warning")
    assert warning["error"] == "IsADirectoryError" and warning["errno"] == "EISDIR"
    assert not list(tmp_path.glob(".*.tmp"))
    assert SECRET not in json.dumps(logs)


def test_a_quiet_failed_write_logs_nothing_and_says_nothing_about_secrets(tmp_path: Path) -> None:
    # The watcher retries a failed write at every poll and reports the streak itself; without a
    # key, "the cached copy holds no secrets" is said only of a copy that was written.
    path = tmp_path / "boot-cache.json"
    (path / "in-the-way").mkdir(parents=True)
    cache = BootCache(path, None, tenant_id="acme")
    with capture_logs() as logs:
        assert cache.try_save(payload(), '"e"', quiet=True) is False
        assert cache.try_save(payload(), '"e"') is False
    assert [e["event"] for e in logs] == ["boot_cache_not_saved"]
    (path / "in-the-way").rmdir()
    path.rmdir()
    with capture_logs() as logs:
        assert cache.try_save(payload(), '"e"', quiet=True) is True
    assert [e["event"] for e in logs] == ["boot_cache_without_secrets"]
