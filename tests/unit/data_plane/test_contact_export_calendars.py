"""A contact's export reads each calendar binding's appointments; a calendar that fails is named
in the export, which still answers with what the data plane holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from botfleet.adapters.stores import InMemoryTenantStore
from botfleet.data_plane.runtime.contact_data import CalendarAppointments, ContactData
from botfleet.domain.errors import ConnectorUnavailable
from botfleet.testing.runtime import bootstrap_test_runtime, make_tenant_config


class Calendars:
    """Two calendar bindings and a notification hook; `downtown` is down."""

    def operations(self) -> dict[str, frozenset[str]]:
        listing = frozenset({"list_appointments", "book_appointment"})
        return {
            "calendar": listing,
            "calendar.downtown": listing,
            "notification": frozenset({"send"}),
        }

    async def call(
        self, category: str, operation: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> Any:
        assert operation == "list_appointments"
        if category == "calendar.downtown":
            raise ConnectorUnavailable("calendar.downtown: timed out after 5 s")
        return [{"event_id": "e1", "contact_id": params["contact_id"]}]


async def test_each_calendar_is_read_and_a_failing_one_is_named() -> None:
    async with bootstrap_test_runtime(make_tenant_config()) as runtime:
        runtime.connectors = Calendars()
        data = ContactData(runtime, InMemoryTenantStore().contacts)
        with structlog.testing.capture_logs() as logs:
            found = await data.export("ana")
    assert found.appointments == [
        CalendarAppointments("calendar", [{"event_id": "e1", "contact_id": "ana"}]),
        CalendarAppointments(
            "calendar.downtown",
            None,
            "ConnectorUnavailable: calendar.downtown: timed out after 5 s",
        ),
    ]
    [warning] = [e for e in logs if e["event"] == "contact_export_calendar_failed"]
    assert warning["connector"] == "calendar.downtown"
    assert "ana" not in str(warning)
