"""`as_logged`: a job or run id as the audit (which a `viewer` key reads) records it. The contact
id the data plane's answer names becomes its hash; any other run of digits a phone number may
be (a key the flow built from `data.phone`, in a format of its own) becomes `<number>`."""

from __future__ import annotations

from botfleet.control_plane.services.tasks import as_logged

HASH = "5ed3d90e59d5"


def test_the_contact_id_becomes_its_hash() -> None:
    job = "once:reminder:34600111222"
    assert as_logged(job, "34600111222", HASH) == f"once:reminder:<contact {HASH}>"


def test_a_number_in_another_format_is_scrubbed_too() -> None:
    for key in ("+34 600 111 222", "+34-600-111-222", "(600) 111 222", "600.111.222"):
        logged = as_logged(f"once:call:{key}@20240506T160000Z", "34600111222", HASH)
        assert logged == "once:call:<number>@20240506T160000Z", key


def test_without_an_answer_numbers_are_scrubbed_all_the_same() -> None:
    assert as_logged("once:reminder:+34600111222", None, None) == "once:reminder:<number>"


def test_ids_without_numbers_are_kept() -> None:
    run = "manual:team_reply@20240506T090000.123Z"
    assert as_logged(run, "web-ana", HASH) == run
    assert as_logged("standing:morning@20240506T080000Z", None, None) == (
        "standing:morning@20240506T080000Z"
    )
