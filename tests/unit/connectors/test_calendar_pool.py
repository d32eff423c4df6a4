"""`calendar_pool`: a barber shop's "anyone" over `calendar.ana` and `calendar.rui`, built by the
catalog over the members' own connectors (docs/connectors.md, "Anyone on the team: a pool of
calendars")."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

from botfleet.adapters.connectors.calendar.pool import CalendarPool
from botfleet.adapters.connectors.calendar.service import CalendarService
from botfleet.adapters.registry import build_connectors, connector_json_schemas
from botfleet.domain.errors import ConfigError, ConnectorRejected, ConnectorUnavailable
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping

SOURCE = "tenants/barbearia.yaml"
ANA = {"type": "mock_calendar", "schedule": {"mon": ["10:00-12:00"], "tue": ["10:00-12:00"]}}
RUI = {"type": "mock_calendar", "schedule": {"mon": ["11:00-13:00"], "wed": ["10:00-12:00"]}}
POOL = {"type": "calendar_pool", "members": ["calendar.ana", "calendar.rui"]}
MONDAY = "2024-05-06"


class FixedClock:
    def now(self) -> datetime:
        return datetime(2024, 5, 6, 7, tzinfo=UTC)  # Monday 08:00 in Lisbon


class Down:
    """A member whose back end does not answer."""

    category = "calendar"

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def operations(self) -> frozenset[str]:
        return frozenset(self.inner.operations())

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        raise ConnectorUnavailable("the calendar server did not answer")

    async def find_created(
        self, operation: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> Any:
        raise ConnectorUnavailable("the calendar server did not answer")


def tenant(**connectors: Any) -> TenantConfig:
    raw = {"tenant_id": "barbearia", "timezone": "Europe/Lisbon", "flow_path": "x.yaml"}
    return tenant_config_from_mapping({**raw, "connectors": connectors}, source=SOURCE)


def shop(ana: Any = None, pool: Any = None) -> dict[str, Any]:
    bindings = {"calendar.ana": ana or ANA, "calendar.rui": RUI, "calendar.anyone": pool or POOL}
    return build_connectors(tenant(**bindings), clock=FixedClock())


def boot_error(**connectors: Any) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        build_connectors(tenant(**connectors), clock=FixedClock())
    return raised.value


def booking(slot: str, contact: str = "+351910000001") -> dict[str, Any]:
    return {"slot": slot, "contact_id": contact, "service_name": "Corte"}


async def call(connector: Any, operation: str, key: str = "", **params: Any) -> Any:
    return await connector.call(operation, params, idempotency_key=key)


# ------------------------------------------------------------------ boot


def test_the_pool_answers_over_the_members_own_connectors() -> None:
    built = shop()
    anyone = built["calendar.anyone"]
    assert isinstance(anyone, CalendarPool)
    assert list(anyone.members) == ["calendar.ana", "calendar.rui"]
    assert anyone.members["calendar.ana"] is built["calendar.ana"]
    assert isinstance(built["calendar.rui"], CalendarService)
    assert "calendar_pool" in connector_json_schemas()["calendar"]


@pytest.mark.parametrize(
    ("members", "key", "says"),
    [
        (["calendar.ana", "calendar.rue"], "members[1]", "no connector 'calendar.rue' (did you"),
        (["calendar.ana", "notification"], "members[1]", "'notification' is not a calendar"),
        (["calendar.ana", "calendar.ana"], "members[1]", "'calendar.ana' is listed twice"),
        (["calendar.ana", "calendar.all"], "members[1]", "'calendar.all' is itself a pool"),
        (["calendar.ana", "calendar.anyone"], "members[1]", "'calendar.anyone' is itself a pool"),
        (["calendar.ana"], "members", "at least 2 different members"),
    ],
)
def test_a_wrong_member_stops_the_boot_naming_the_key(
    members: list[str], key: str, says: str
) -> None:
    error = boot_error(
        **{
            "calendar.ana": ANA,
            "calendar.rui": RUI,
            "calendar.all": POOL,
            "notification": {"type": "webhook", "url": "https://hooks.example.com/x"},
            "calendar.anyone": {"type": "calendar_pool", "members": members},
        }
    )
    assert error.problems[0][0] == f"connectors.calendar.anyone.{key}"
    assert says in error.problems[0][1]
    assert str(error).startswith(SOURCE)


def test_members_in_different_time_zones_are_refused() -> None:
    error = boot_error(
        **{
            "calendar.ana": {**ANA, "timezone": "Europe/Madrid"},
            "calendar.rui": RUI,
            "calendar.anyone": POOL,
        }
    )
    assert list(error.problems) == [
        (
            "connectors.calendar.anyone.members",
            "the members must share one time zone (calendar.ana: Europe/Madrid, "
            "calendar.rui: Europe/Lisbon)",
        )
    ]


def test_an_unknown_pool_setting_is_named() -> None:
    error = boot_error(
        **{"calendar.ana": ANA, "calendar.rui": RUI, "calendar.anyone": {**POOL, "order": "random"}}
    )
    assert error.problems[0][0] == "connectors.calendar.anyone.order"


# ------------------------------------------------------------------ reads


async def test_days_and_slots_are_the_union_offered_once() -> None:
    anyone = shop()["calendar.anyone"]
    days = await call(anyone, "get_available_days", lookahead_days=3)
    assert [d["id"] for d in days] == ["day_2024-05-06", "day_2024-05-07", "day_2024-05-08"]
    slots = await call(anyone, "get_slots_for_day", date_str=MONDAY)
    # Ana 10-12, Rui 11-13: 11:00 and 11:30 are offered once.
    assert [s["title"] for s in slots] == ["10:00", "10:30", "11:00", "11:30", "12:00", "12:30"]


async def test_a_failing_member_is_left_out_of_days_and_slots() -> None:
    anyone = shop()["calendar.anyone"]
    anyone.members["calendar.ana"] = Down(anyone.members["calendar.ana"])
    with capture_logs() as logs:
        slots = await call(anyone, "get_slots_for_day", date_str=MONDAY)
    assert [s["title"] for s in slots] == ["11:00", "11:30", "12:00", "12:30"]
    (warning,) = [e for e in logs if e["event"] == "calendar_pool_member_failed"]
    assert warning["member"] == "calendar.ana"
    assert warning["connector"] == "calendar.anyone"
    assert warning["log_level"] == "warning"
    assert MONDAY not in repr(warning)  # never params


async def test_all_members_failing_is_the_first_ones_error() -> None:
    anyone = shop()["calendar.anyone"]
    for name in list(anyone.members):
        anyone.members[name] = Down(anyone.members[name])
    with pytest.raises(ConnectorUnavailable):
        await call(anyone, "get_available_days")


async def test_places_add_up_over_the_members() -> None:
    built = shop(
        ana={"type": "mock_calendar", "schedule": {"mon": ["11:00-12:00"]}, "capacity": 3},
        pool={**POOL, "language": "pt"},
    )
    slots = await call(built["calendar.anyone"], "get_slots_for_day", date_str=MONDAY)
    by_id = {s["id"]: s for s in slots}
    # Ana's 3 places and Rui's one; 12:00 is Rui's alone, of one booking per slot.
    assert by_id["hour_2024-05-06_1100"]["places_left"] == 4
    assert by_id["hour_2024-05-06_1100"]["description"] == "Restam 4 lugares"
    assert by_id["hour_2024-05-06_1200"] == {"id": "hour_2024-05-06_1200", "title": "12:00"}


# ------------------------------------------------------------------ booking


async def test_a_booking_goes_to_the_first_listed_member_free_then_the_next() -> None:
    built = shop()
    anyone = built["calendar.anyone"]
    first = await call(anyone, "book_appointment", "k1", **booking(f"{MONDAY}_1100"))
    assert first["success"] and first["member"] == "calendar.ana"
    assert first["event_id"].startswith("calendar.ana:")
    assert first["appointment"]["event_id"] == first["event_id"]
    assert first["appointment"]["member"] == "calendar.ana"
    second = await call(anyone, "book_appointment", "k2", **booking(f"{MONDAY}_1100", "+3512"))
    assert second["success"] and second["member"] == "calendar.rui"
    third = await call(anyone, "book_appointment", "k3", **booking(f"{MONDAY}_1100", "+3513"))
    assert third["success"] is False and third["reason"] == "slot_taken"


async def test_a_slot_only_the_second_member_has_is_booked_there() -> None:
    anyone = shop()["calendar.anyone"]
    answer = await call(anyone, "book_appointment", "k", **booking(f"{MONDAY}_1230"))
    assert answer["member"] == "calendar.rui"
    closed = await call(anyone, "book_appointment", "k2", **booking(f"{MONDAY}_1600"))
    assert closed["reason"] == "unavailable"


async def test_a_failing_member_moves_the_booking_to_the_next() -> None:
    anyone = shop()["calendar.anyone"]
    anyone.members["calendar.ana"] = Down(anyone.members["calendar.ana"])
    answer = await call(anyone, "book_appointment", "k", **booking(f"{MONDAY}_1100"))
    assert answer["success"] and answer["member"] == "calendar.rui"


async def test_a_booking_every_member_fails_raises_the_first_error() -> None:
    anyone = shop()["calendar.anyone"]
    for name in list(anyone.members):
        anyone.members[name] = Down(anyone.members[name])
    with pytest.raises(ConnectorUnavailable):
        await call(anyone, "book_appointment", "k", **booking(f"{MONDAY}_1100"))


async def test_two_contacts_racing_for_anyone_get_one_barber_each() -> None:
    anyone = shop()["calendar.anyone"]
    answers = await asyncio.gather(
        call(anyone, "book_appointment", "a", **booking(f"{MONDAY}_1100", "+3511")),
        call(anyone, "book_appointment", "b", **booking(f"{MONDAY}_1100", "+3512")),
    )
    assert sorted(a["member"] for a in answers) == ["calendar.ana", "calendar.rui"]


async def test_a_pool_booking_and_a_direct_one_see_each_other() -> None:
    built = shop()
    await call(built["calendar.ana"], "book_appointment", "d", **booking(f"{MONDAY}_1100"))
    other = booking(f"{MONDAY}_1100", "+3512")
    answer = await call(built["calendar.anyone"], "book_appointment", "p", **other)
    assert answer["member"] == "calendar.rui"


async def test_a_retried_booking_finds_the_one_any_member_made() -> None:
    built = shop(ana={**ANA, "busy": [{"start": f"{MONDAY}T11:00", "end": f"{MONDAY}T11:30"}]})
    anyone = built["calendar.anyone"]
    first = await call(anyone, "book_appointment", "turn-1", **booking(f"{MONDAY}_1100"))
    assert first["member"] == "calendar.rui"
    built["calendar.ana"].store.events.clear()  # Ana's slot is free by the retry
    again = await call(anyone, "book_appointment", "turn-1", **booking(f"{MONDAY}_1100"))
    assert again == first
    params = booking(f"{MONDAY}_1100")
    assert await anyone.find_created("book_appointment", params, idempotency_key="turn-1") == first
    assert await anyone.find_created("book_appointment", params, idempotency_key="other") is None


# ------------------------------------------------------------------ the contact's appointments


async def test_appointments_are_merged_by_start_and_routed_back() -> None:
    built = shop()
    anyone = built["calendar.anyone"]
    contact = "+351910000001"
    late = await call(anyone, "book_appointment", "a", **booking(f"{MONDAY}_1230", contact))
    early = await call(anyone, "book_appointment", "b", **booking(f"{MONDAY}_1000", contact))
    listed = await call(anyone, "list_appointments", contact_id=contact)
    assert [(r["event_id"], r["member"]) for r in listed] == [
        (early["event_id"], "calendar.ana"),
        (late["event_id"], "calendar.rui"),
    ]
    items = await call(anyone, "get_future_appointments", contact_id=contact, id_prefix="move_")
    assert [i["id"] for i in items] == [f"move_{early['event_id']}", f"move_{late['event_id']}"]

    # Moving Rui's: his free times only, then the move, then the cancel, by the pool's ids.
    slots = await call(
        anyone, "get_slots_for_day", date_str=MONDAY, event_id=late["event_id"], contact_id=contact
    )
    assert [s["title"] for s in slots] == ["11:00", "11:30", "12:00", "12:30"]
    moved = await call(
        anyone,
        "reschedule_appointment",
        "m",
        event_id=late["event_id"],
        contact_id=contact,
        slot=f"{MONDAY}_1130",
    )
    assert moved["success"] and moved["event_id"] == late["event_id"]
    assert moved["member"] == "calendar.rui" and moved["appointment"]["time"] == "11:30"
    cancelled = await call(
        anyone, "cancel_event", "c", event_id=f"cancel_appt_{late['event_id']}", contact_id=contact
    )
    assert cancelled["success"]
    assert [r["member"] for r in await call(anyone, "list_appointments", contact_id=contact)] == [
        "calendar.ana"
    ]


async def test_an_id_of_no_member_is_a_missing_appointment() -> None:
    anyone = shop()["calendar.anyone"]
    contact = {"contact_id": "+3511"}
    for event_id in ("mem1-ana", "calendar.joao:mem1", "calendar.ana:"):
        cancel = await call(anyone, "cancel_event", event_id=event_id, **contact)
        assert cancel["success"] is False and cancel["reason"] == "not_found"
        move = await call(
            anyone, "reschedule_appointment", event_id=event_id, slot=f"{MONDAY}_1100", **contact
        )
        assert move["reason"] == "not_found" and move["event_id"] == ""
        assert await call(anyone, "get_available_days", event_id=event_id, **contact) == []
    with pytest.raises(ConnectorRejected):
        await call(anyone, "cancel_event", **contact)  # no event_id: the flow's mistake


async def test_a_member_failing_fails_the_list_of_appointments() -> None:
    anyone = shop()["calendar.anyone"]
    anyone.members["calendar.rui"] = Down(anyone.members["calendar.rui"])
    with pytest.raises(ConnectorUnavailable):
        await call(anyone, "list_appointments", contact_id="+3511")


async def test_a_member_failing_the_list_does_not_open_the_pools_breaker() -> None:
    # A contact's appointments asked twice while Rui's calendar is down: the pool still
    # offers Ana's times (its breaker, counting only the pool's own failures, stays closed).
    from botfleet.adapters.connectors.policy import ResiliencePolicy
    from botfleet.data_plane.resilience import BreakerState, ResilientConnector

    anyone = shop()["calendar.anyone"]
    anyone.members["calendar.rui"] = Down(anyone.members["calendar.rui"])
    policy = ResiliencePolicy(failure_threshold=1, max_attempts=1, timeout_s=5)
    guarded = ResilientConnector(anyone, policy, name="calendar.anyone")
    for _ in range(2):
        with pytest.raises(ConnectorUnavailable) as raised:
            await guarded.call("list_appointments", {"contact_id": "+3511"}, idempotency_key="")
        assert "calendar.rui did not answer" in str(raised.value)
    assert guarded.breaker.state is BreakerState.CLOSED
    days = await guarded.call(
        "get_available_days", {"from_date": MONDAY, "lookahead_days": 1}, idempotency_key=""
    )
    assert [d["id"] for d in days] == [f"day_{MONDAY}"]
