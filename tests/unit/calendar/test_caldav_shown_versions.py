"""The versions of events contacts were shown (`shown_versions.py`, used by the CalDAV and the
Google Calendar stores): remembered per event, used once, the oldest forgotten first."""

from __future__ import annotations

from botfleet.adapters.connectors.calendar.shown_versions import ShownVersions


def test_a_version_shown_is_given_once() -> None:
    shown = ShownVersions()
    shown.remember("e1", 'etag "1"')
    assert "e1" in shown
    assert shown.take("e1") == 'etag "1"'
    assert shown.take("e1") is None  # a refused write is not repeated with it
    assert "e1" not in shown


def test_showing_an_event_again_replaces_its_version_and_no_tag_forgets_it() -> None:
    shown = ShownVersions()
    shown.remember("e1", "a")
    shown.remember("e1", "b")
    assert shown.take("e1") == "b"
    shown.remember("e1", "a")
    shown.remember("e1", None)  # shown without a tag: the write names what its read sees
    assert "e1" not in shown
    shown.remember("e1", "")
    assert "e1" not in shown


def test_the_oldest_shown_is_forgotten_first() -> None:
    shown = ShownVersions(limit=2)
    shown.remember("e1", "1")
    shown.remember("e2", "2")
    shown.remember("e1", "1b")  # shown again: now the newest
    shown.remember("e3", "3")
    assert "e2" not in shown
    assert (shown.take("e1"), shown.take("e3")) == ("1b", "3")


def test_an_outsized_tag_or_id_is_not_kept() -> None:
    shown = ShownVersions()
    shown.remember("e1", "x" * 100_000)  # a server answering megabytes: not held in memory
    shown.remember("e" * 100_000, "tag")
    assert len(shown._tags) == 0
    shown.remember("e2", "t" * 512)
    assert shown.take("e2") == "t" * 512
