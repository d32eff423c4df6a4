"""Settings of `calendar_pool` and the boot checks of its members (docs/connectors.md, "Anyone on
the team: a pool of calendars").

The type is named `calendar_pool`: "pool" is the word for "any one of several interchangeable
resources" (a pool of chairs, rooms, staff), which is what a contact choosing "anyone" asks
for, and the `calendar_` prefix says it is a calendar type, as `mock_calendar` and
`google_calendar` do. It is bound like any calendar (`connectors.calendar.anyone`) and its
members are other calendar bindings of the same tenant, named by their binding's key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from botfleet.adapters.connectors.calendar.texts import LANGUAGES, checked_calendar_language
from botfleet.flows._issues import did_you_mean
from botfleet.flows.connector_names import connector_category

POOL_TYPE = "calendar_pool"
#: Fewer would be a plain calendar under another name.
MIN_MEMBERS = 2


def _tenant_default(schema: dict[str, Any]) -> None:
    # As the calendars' `language`: a tenant file's binding gets the tenant's.
    schema.pop("default", None)


class CalendarPoolSettings(BaseModel):
    """`connectors.calendar.<name>: {type: calendar_pool, members: [...]}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["calendar_pool"]
    members: list[str] = Field(
        description="the calendar bindings the pool answers for (`calendar.ana`), at least 2; "
        "a booking goes to the first of them, in this order, that takes it",
        examples=[["calendar.ana", "calendar.rui"]],
    )
    order: Literal["listed"] = Field(
        "listed", description="which member a booking tries first: `listed`, the members' order"
    )
    # Accepted so a tenant file may state it (and the sandbox's checks fill it in); the members
    # keep their own, which must be one zone: a slot id is a wall time.
    timezone: str | None = Field(
        None, description="not used: each member answers in its own zone (they must agree)"
    )
    language: str = Field(
        "en",
        description="language of the pool's own messages (an unknown appointment) and of the "
        f"merged slots' `description` (one of {', '.join(LANGUAGES)}); defaults to the "
        "tenant's; the members' answers are in their own",
        json_schema_extra=_tenant_default,
    )

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        return checked_calendar_language(value)


def member_problems(
    name: str, members: list[str], kinds: Mapping[str, str], zones: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(key, message) of each thing wrong with the members of the pool bound as `name`.

    `kinds`: the tenant's bindings by name -> type; `zones`: a calendar binding's name -> its
    time zone (its own, else the tenant's)."""
    where = f"connectors.{name}.members"
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, member in enumerate(members):
        key = f"{where}[{index}]"
        kind = kinds.get(member)
        if member in seen:
            problems.append((key, f"{member!r} is listed twice: each member once"))
        elif kind is None:
            calendars = [n for n in kinds if connector_category(n) == "calendar" and n != name]
            problems.append(
                (key, f"the tenant binds no connector {member!r}{did_you_mean(member, calendars)}"
                 f"; members are calendar bindings of this tenant ({', '.join(calendars)})")
            )  # fmt: skip
        elif connector_category(member) != "calendar":
            problems.append((key, f"{member!r} is not a calendar binding (type {kind!r})"))
        elif kind == POOL_TYPE:
            problems.append((key, f"{member!r} is itself a pool: list its members instead"))
        seen.add(member)
    if len(seen) < MIN_MEMBERS:
        problems.append((where, f"a pool needs at least {MIN_MEMBERS} different members"))
    usable = [m for m in dict.fromkeys(members) if m in zones]
    if len({zones[m] for m in usable}) > 1:
        named = ", ".join(f"{m}: {zones[m]}" for m in usable)
        problems.append((where, f"the members must share one time zone ({named})"))
    return problems
