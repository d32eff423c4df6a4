"""One tenant's calendar, two contacts' languages: a flow passes `language: "{{ data.lang }}"` to
the calendar, and each contact reads the days in theirs, through the runtime. A value the
calendar does not write keeps the calendar's own language; one that is not text takes the
flow's `on_error` path."""

from __future__ import annotations

from typing import Any

from botfleet.domain.outputs import Buttons, Output, Text
from botfleet.testing.runtime import bootstrap_test_runtime, make_tenant_config, text_message

WEEKDAYS = {day: ["10:00-14:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def flow(language: Any) -> dict[str, Any]:
    """A contact's first message is the language they want; the calendar's days follow."""
    return {
        "id": "call_language",
        "initial_state": "START",
        "states": {
            "START": {
                "transitions": [
                    {"set_data": {"lang": "{{ message.text | trim }}"}, "target": "DAYS"}
                ]
            },
            "DAYS": {
                "on_enter": [
                    {
                        "action": "invoke_connector",
                        "connector": "calendar",
                        "operation": "get_available_days",
                        "params": {
                            "from_date": "{{today}}",
                            "lookahead_days": 3,
                            "language": language,
                        },
                        "result_key": "days",
                        "on_error": {"text": "calendar refused", "target": "START"},
                    },
                    {"action": "send_dynamic_options", "source_key": "days", "text": "Day?"},
                ],
                "transitions": [{"on_payload_prefix": "day_", "target": "START"}],
                "fallback": "DAYS",
            },
        },
    }


def config(language_param: Any) -> Any:
    binding = {"type": "mock_calendar", "schedule": WEEKDAYS}
    return make_tenant_config(flow(language_param), language="es", connectors={"calendar": binding})


def titles(outputs: tuple[Output, ...]) -> list[str]:
    """The titles of the options offered (three days: buttons)."""
    (buttons,) = [o for o in outputs if isinstance(o, Buttons)]
    return [b.title for b in buttons.buttons]


async def days_for(runtime: Any, contact: str, text: str) -> tuple[Output, ...]:
    return (await runtime.handle(text_message(contact, text))).outputs


async def test_each_contact_reads_the_days_in_the_language_the_flow_passes() -> None:
    async with bootstrap_test_runtime(config("{{ data.lang }}")) as runtime:  # Mon 6 May 2024
        assert titles(await days_for(runtime, "john", "en")) == [
            "Mon 6 May",
            "Tue 7 May",
            "Wed 8 May",
        ]
        assert titles(await days_for(runtime, "ana", "es")) == [
            "Lun 6 may",
            "Mar 7 may",
            "Mié 8 may",
        ]
        assert titles(await days_for(runtime, "jean", "fr-FR"))[0] == "Lun. 6 mai"


async def test_a_language_the_calendar_does_not_write_keeps_the_calendars() -> None:
    # The tenant's calendar is Spanish (its `language: es`), not the English fallback.
    async with bootstrap_test_runtime(config("{{ data.lang }}")) as runtime:
        assert titles(await days_for(runtime, "jan", "nl"))[0] == "Lun 6 may"
        assert titles(await days_for(runtime, "ana", "   "))[0] == "Lun 6 may"  # blank


async def test_a_language_that_is_not_text_takes_the_flows_error_path() -> None:
    async with bootstrap_test_runtime(config(7)) as runtime:
        outputs = await days_for(runtime, "ana", "es")
        assert [o.text for o in outputs if isinstance(o, Text)] == ["calendar refused"]
