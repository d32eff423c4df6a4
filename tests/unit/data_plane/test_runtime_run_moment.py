"""`run_moment` reads back the moment `ports.scheduling.run_id` put in a run id: what a task's
`delay`s count from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from botfleet.ports.scheduling import one_off_run_id, run_id, run_moment

DUE = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "moment",
    [
        DUE,
        DUE + timedelta(milliseconds=7),
        DUE + timedelta(milliseconds=999),
        datetime(2024, 10, 27, 2, 30, tzinfo=timezone(timedelta(hours=2))),  # given in a zone
    ],
)
@pytest.mark.parametrize(
    "key", ["reminder:evt-3", "reminder:ana@example.com", "r@20240101T000000Z"]
)
def test_a_run_id_gives_back_its_moment(moment: datetime, key: str) -> None:
    assert run_moment(one_off_run_id(key, moment)) == moment
    assert run_moment(run_id(f"standing:{key}", moment)) == moment


def test_the_moment_is_kept_to_the_millisecond_as_the_run_id_keeps_it() -> None:
    assert run_moment(run_id("manual:x", DUE + timedelta(microseconds=2_345))) == DUE + timedelta(
        milliseconds=2
    )


@pytest.mark.parametrize(
    "rid",
    [
        "job-1",
        "task:reminder",
        "once:reminder",
        "once:reminder@",
        "once:reminder@20240506T090000",  # no Z
        "once:reminder@20241306T090000Z",  # month 13
        "once:reminder@20240506T090000.5Z",  # not milliseconds
        "once:reminder@20240506T090000Z:extra",
    ],
)
def test_an_id_without_a_moment_gives_none(rid: str) -> None:
    assert run_moment(rid) is None
