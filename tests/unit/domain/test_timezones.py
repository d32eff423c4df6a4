"""Time zone names: IANA names pass everywhere; names that mean the host's setting never do."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from botfleet.adapters.connectors.calendar.config import CalendarSettings
from botfleet.adapters.llm.quota import InMemoryUsageStore, QuotaGuard, month_of
from botfleet.adapters.scheduling.triggers import build_trigger
from botfleet.control_plane.binding_schemas import check_timezone, validate_connectors
from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.models import TenantCreate, TenantUpdate
from botfleet.domain.cron import parse_cron
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import tenant_config_from_mapping
from botfleet.domain.timezones import check_zone_name, zone_names
from botfleet.flows.turn import TenantInfo
from botfleet.ports.scheduling import StandingJob
from botfleet.testing.clock import FrozenClock

VALID = ["UTC", "Etc/GMT+3", "Europe/Madrid", "America/Argentina/Buenos_Aires"]
HOST_SETTING = "is the host's own clock setting"


@pytest.mark.parametrize("name", [*VALID, "America/Buenos_Aires", "US/Eastern", "GMT", "Etc/UTC"])
def test_iana_names_pass_unchanged(name: str) -> None:
    assert check_zone_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("localtime", f"time zone 'localtime' {HOST_SETTING} (/etc/localtime)"),
        ("LocalTime", HOST_SETTING),  # what a case-insensitive file system resolves
        ("Factory", "placeholder zone of a machine whose time zone was never set"),
        ("posixrules", "host's default for POSIX TZ strings"),
        ("posix/Europe/Madrid", "copy in the host's zoneinfo folder, which other hosts may not "
         "have: use 'Europe/Madrid'"),
        ("right/UTC", "use 'UTC'"),
        ("/etc/localtime", "'/etc/localtime' is a file path"),
        ("/usr/share/zoneinfo/Europe/Madrid", "is a file path"),
        ("../UTC", "is a file path"),
        ("Europe/../UTC", "is a file path"),
        ("Europe//Madrid", "is a file path"),
        ("", "time zone is empty"),
        ("   ", "time zone is empty"),
        ("europe/madrid", "unknown time zone 'europe/madrid' (did you mean 'Europe/Madrid'?)"),
        ("Europe/Madrid ", "did you mean 'Europe/Madrid'?"),
        ("Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("Europe", "unknown time zone 'Europe'"),
    ],
)  # fmt: skip
def test_host_dependent_paths_and_unknown_names_are_refused_saying_why(
    name: str, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        check_zone_name(name)
    assert message in str(caught.value)
    assert "Europe/Madrid" in str(caught.value) or "'UTC'" in str(caught.value)


def test_the_accepted_names_are_the_same_on_every_host() -> None:
    # `available_timezones()` walks the host's folders: on Debian it lists `localtime`, and
    # everywhere `Factory`. The accepted list is tzdata's (a dependency), minus those.
    names = zone_names()
    assert not {"localtime", "Factory", "posixrules"} & names
    assert names <= zoneinfo.available_timezones() | {"UTC"}
    assert len(names) > 500
    assert not any(name.startswith(("posix/", "right/")) for name in names)


def test_every_accepted_name_loads() -> None:
    for name in zone_names():
        zoneinfo.ZoneInfo(name)


def _tenant_file(zone: str) -> None:
    tenant_config_from_mapping(
        {"tenant_id": "acme", "timezone": zone, "flow_path": "flow.yaml"}, source="acme.yaml"
    )


def _quota(zone: str) -> None:
    clock = FrozenClock(datetime(2024, 5, 6, tzinfo=UTC))
    QuotaGuard(InMemoryUsageStore(), limit=None, timezone=zone, clock=clock)


#: Every place a zone name is checked, and how its message names the place.
SITES: dict[str, tuple[Callable[[str], Any], str]] = {
    "tenant file (data plane)": (_tenant_file, "acme.yaml: timezone:"),
    "cron rule": (lambda zone: parse_cron("0 9 * * *", zone), "time zone 'localtime'"),
    "control plane": (check_timezone, "time zone 'localtime'"),
    "control plane, new tenant": (
        lambda zone: TenantCreate.model_validate({"id": "acme", "name": "A", "timezone": zone}),
        "timezone\n",
    ),
    "control plane, tenant update": (
        lambda zone: TenantUpdate.model_validate({"timezone": zone}),
        "timezone\n",
    ),
    "control plane, calendar binding": (
        lambda zone: validate_connectors({"calendar": {"type": "mock_calendar", "timezone": zone}}),
        "connectors.calendar.timezone: ",
    ),
    "calendar connector": (
        lambda zone: CalendarSettings.model_validate({"type": "mock_calendar", "timezone": zone}),
        "timezone\n",
    ),
    "engine": (lambda zone: TenantInfo(id="acme", timezone=zone), "tenant.timezone: "),
    "standing schedule": (
        lambda zone: build_trigger(StandingJob("digest", "task", cron="0 9 * * *", timezone=zone)),
        "standing_schedules.digest: ",
    ),
    "LLM quota": (_quota, "LLM quota timezone: "),
    "LLM usage month": (
        lambda zone: month_of(datetime(2024, 5, 6, tzinfo=UTC), zone),
        "time zone 'localtime'",
    ),
}


@pytest.mark.parametrize("site", SITES)
def test_every_site_refuses_localtime_naming_the_place(site: str) -> None:
    check, place = SITES[site]
    with pytest.raises((ValueError, ConfigError, InvalidInput)) as caught:
        check("localtime")
    message = str(caught.value)
    assert place in message
    assert HOST_SETTING in message and "Europe/Madrid" in message


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("zone", VALID)
def test_every_site_accepts_iana_names(site: str, zone: str) -> None:
    check, _ = SITES[site]
    check(zone)


def test_the_control_plane_refusal_is_a_field_error() -> None:
    with pytest.raises(ValidationError) as caught:
        TenantCreate.model_validate({"id": "acme", "name": "A", "timezone": "localtime"})
    [error] = caught.value.errors()
    assert error["loc"] == ("timezone",)
