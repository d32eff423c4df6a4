"""What `botfleet db downgrade` says it undoes: `downgrade_steps` for each way of naming the
target, a loss written for every revision, and the password cut from every message."""

from __future__ import annotations

import pytest

from botfleet.cli.commands.db import mask
from botfleet.control_plane.db.migrate import (
    DOWNGRADE_LOSSES,
    UnknownDowngradeTarget,
    downgrade_steps,
    known_revisions,
)

IDS = [revision.id for revision in known_revisions()]  # newest first
HEAD = frozenset({IDS[0]})


def test_every_revision_says_what_its_downgrade_loses() -> None:
    assert set(DOWNGRADE_LOSSES) == set(IDS)


@pytest.mark.parametrize(
    ("target", "undone"),
    [
        ("base", IDS),
        ("-1", IDS[:1]),
        (f"-{len(IDS)}", IDS),
        (IDS[-1], IDS[:-1]),
        (IDS[0], []),
    ],
)
def test_the_revisions_undone(target: str, undone: list[str]) -> None:
    assert [revision.id for revision in downgrade_steps(HEAD, target)] == undone


def test_a_database_never_migrated_has_nothing_to_undo() -> None:
    assert downgrade_steps(frozenset(), "base") == []


@pytest.mark.parametrize(
    ("current", "target", "why"),
    [
        (HEAD, "nope", "is not a revision of this botfleet"),
        (frozenset(), "head", "is not a revision of this botfleet"),
        (HEAD, f"-{len(IDS) + 1}", "above base"),
        (frozenset({IDS[-1]}), IDS[0], "is not below"),
        (frozenset({"9999"}), "base", "cannot take down"),
    ],
)
def test_targets_refused(current: frozenset[str], target: str, why: str) -> None:
    with pytest.raises(UnknownDowngradeTarget, match=why):
        downgrade_steps(current, target)


def test_mask_cuts_the_password_of_the_urls_and_of_any_url_written_out() -> None:
    url = "postgresql://botfleet:pa55-w0rd@db.internal/botfleet"
    said = f"login refused for pa55-w0rd; tried {url} and mysql://x:other-secret@h/y"
    masked = mask(said, url)
    assert "pa55-w0rd" not in masked and "other-secret" not in masked
    assert "postgresql://botfleet:***@db.internal/botfleet" in masked
