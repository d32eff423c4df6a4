"""`botfleet cp contacts erase`: appointments the calendars still hold are said on stderr (an
erasure leaves them; its counts alone read like everything went)."""

from __future__ import annotations

import pytest

from botfleet.cli.commands.cp_contacts import _say_appointments_left


def test_appointments_left_get_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    _say_appointments_left({"conversation": True, "appointments_left": 2})
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("note: 2 upcoming appointment(s) of the contact stay")
    assert "cancel them in the calendar" in captured.err


@pytest.mark.parametrize("left", [0, None, "2"])
def test_none_left_or_unknown_gets_no_note(
    capsys: pytest.CaptureFixture[str], left: object
) -> None:
    _say_appointments_left({"appointments_left": left})
    assert capsys.readouterr().err == ""
