"""A data plane with a state file hashes contacts in its logs under the key kept beside it
(`log-hash.key`): the same hash after a restart, another one for another tenant directory, and
the same one in the scheduler's lines as in the runtime's."""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

import structlog

from botfleet.adapters.scheduling import fire_job
from botfleet.testing.runtime import bootstrap_test_runtime, make_settings, text_message

PHONE = "+34600123456"

#: Every turn and task logs a missing template value, a line naming the contact.
FLOW = {
    "id": "hash_v1",
    "initial_state": "ASK",
    "tasks": {"reminder": [{"action": "send_text", "text": "Reminder {{ data.nickname }}"}]},
    "states": {
        "ASK": {
            "on_enter": [{"action": "send_text", "text": "Hello {{ data.nickname }}"}],
            "fallback": "ASK",
        }
    },
}


async def logged_hashes(state_db: Path, *, fire: bool = False) -> dict[str, set[str]]:
    """The `contact` field of each logged event, after a turn (and a due task) of PHONE."""
    with structlog.testing.capture_logs() as logs:
        async with bootstrap_test_runtime(
            flow=FLOW, settings=make_settings(state_db=state_db)
        ) as runtime:
            await runtime.handle(text_message(PHONE, "hi"))
            if fire:  # what a stored job calls when due
                await fire_job(
                    tenant_id="test",
                    job_id="once:k1",
                    kind="one_off",
                    task="reminder",
                    contact_id=PHONE,
                    data={},
                )
    assert PHONE not in repr(logs)
    hashes: dict[str, set[str]] = {}
    for entry in logs:
        if entry.get("contact") is not None:
            hashes.setdefault(entry["event"], set()).add(entry["contact"])
    return hashes


def only(hashes: dict[str, set[str]]) -> str:
    [value] = set().union(*hashes.values())
    return str(value)


def keyed(key: bytes, tenant: str, contact: str) -> str:
    return hmac.new(key, f"{tenant}\x00{contact}".encode(), hashlib.sha256).hexdigest()[:12]


async def test_the_key_is_created_private_beside_the_state_and_kept_across_restarts(
    tmp_path: Path,
) -> None:
    state_db = tmp_path / "test" / "state.db"
    first = only(await logged_hashes(state_db))
    key_file = tmp_path / "test" / "log-hash.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()
    assert first == keyed(key, "test", PHONE)
    assert first != hashlib.sha256(f"test:{PHONE}".encode()).hexdigest()[:12]
    assert only(await logged_hashes(state_db)) == first  # a restart
    assert key_file.read_bytes() == key


async def test_another_tenant_directory_has_another_key(tmp_path: Path) -> None:
    one = only(await logged_hashes(tmp_path / "a" / "state.db"))
    other = only(await logged_hashes(tmp_path / "b" / "state.db"))
    assert one != other


async def test_the_scheduler_logs_the_same_hash_as_the_runtime(tmp_path: Path) -> None:
    hashes = await logged_hashes(tmp_path / "test" / "state.db", fire=True)
    assert "task_due" in hashes  # the scheduler's line
    assert len(hashes) > 1  # and the runtime's, for the turn and the task
    key = (tmp_path / "test" / "log-hash.key").read_bytes()
    assert only(hashes) == keyed(key, "test", PHONE)


async def test_in_memory_stores_hash_with_the_process_key_and_still_agree() -> None:
    with structlog.testing.capture_logs() as logs:
        async with bootstrap_test_runtime(flow=FLOW) as runtime:
            await runtime.handle(text_message(PHONE, "hi"))
            await fire_job(
                tenant_id="test",
                job_id="once:k1",
                kind="one_off",
                task="reminder",
                contact_id=PHONE,
                data={},
            )
    contacts = {e["contact"] for e in logs if e.get("contact") is not None}
    assert len(contacts) == 1
    assert contacts != {hashlib.sha256(f"test:{PHONE}".encode()).hexdigest()[:12]}
