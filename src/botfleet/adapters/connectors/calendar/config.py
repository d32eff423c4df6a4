"""Tenant configuration of the calendar connector (`connectors.calendar` in the tenant YAML)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from botfleet.adapters.connectors.calendar.texts import (
    LANGUAGES,
    calendar_language,
    checked_calendar_language,
)
from botfleet.domain.calendar import TimeWindow
from botfleet.domain.timezones import check_zone_name
from botfleet.flows.suggestions import closest

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
#: Index = `date.weekday()`.
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_WINDOW_PATTERN = r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$"
_WINDOW = re.compile(_WINDOW_PATTERN)


def _window_text(value: str) -> str:
    # A validator rather than `pattern=`: pydantic's message would quote the regex.
    if not _WINDOW.match(value):
        raise ValueError(
            f"expected opening hours as 'HH:MM-HH:MM', e.g. '10:00-14:00', got {value!r}"
        )
    return value


WindowText = Annotated[
    str,
    AfterValidator(_window_text),
    Field(examples=["10:00-14:00"], json_schema_extra={"pattern": _WINDOW_PATTERN}),
]


def parse_day_windows(day: str, texts: list[str]) -> tuple[TimeWindow, ...]:
    """Parse one day's windows, sorted; raises ValueError naming the day and entry."""
    windows: list[TimeWindow] = []
    for index, text in enumerate(texts):
        try:
            windows.append(TimeWindow.parse(text))
        except ValueError as exc:
            raise ValueError(f"schedule.{day}[{index}]: {exc}") from None
    windows.sort()
    for earlier, later in itertools.pairwise(windows):
        if earlier.overlaps(later):
            raise ValueError(f"schedule.{day}: windows {earlier} and {later} overlap")
    return tuple(windows)


def _tenant_default(schema: dict[str, Any]) -> None:
    # The model's "en" is only for settings built without a tenant: a tenant file's binding
    # gets the tenant's language, which the schema must not contradict.
    schema.pop("default", None)


_DAY_FIRST_OR_MONTH_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR_FIRST = re.compile(r"(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})")


def _iso_day(value: Any) -> Any:
    """A day written as people write one (`25/12/2027`, `2027/1/6`) is refused saying how to
    write it, as that day where it can only be one: pydantic's words were `invalid character in
    year`, and which of 6 January and 1 June `06/01/2027` is, is not the calendar's to guess."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    meant: list[str | None] = []
    if _ISO_DAY.fullmatch(text):
        return value  # as it should be (pydantic says if it is no day: 2027-02-30)
    if found := _YEAR_FIRST.fullmatch(text):
        meant = [_written(found[1], found[2], found[3])]
    elif found := _DAY_FIRST_OR_MONTH_FIRST.fullmatch(text):
        first, second, year = found[1], found[2], found[3]
        meant = [_written(year, second, first), _written(year, first, second)]
    else:
        return value
    days = list(dict.fromkeys(day for day in meant if day))
    example = " or ".join(days) if days else "2027-01-06"
    raise ValueError(f"write the day as YYYY-MM-DD ({example}), not {text!r}")


def _written(year: str, month: str, day: str) -> str | None:
    """The day as YYYY-MM-DD, or None when it is no day."""
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


#: A day of a calendar setting, written YYYY-MM-DD.
IsoDay = Annotated[date, BeforeValidator(_iso_day)]


class CalendarSettings(BaseModel):
    """Settings every calendar back end shares: time zone, weekly schedule and slot rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    timezone: str = Field(description="IANA time zone; defaults to the tenant's")
    slot_duration_min: PositiveInt = Field(30, description="step between slot starts")
    lookahead_days_client: PositiveInt = Field(14, description="days offered to contacts")
    lookahead_days_manual: PositiveInt = Field(
        60, description="furthest day (from today) on which anything can be booked"
    )
    min_notice_min: NonNegativeInt = Field(0, description="slots closer than this are not offered")
    schedule: dict[Weekday, list[WindowText]] = Field(
        default_factory=dict,
        description='weekly opening windows, e.g. {"mon": ["10:00-14:00", "17:00-21:00"]}',
    )
    closed_dates: list[IsoDay] = Field(default_factory=list, description="extra closed days")
    capacity: int = Field(
        1,
        ge=1,
        description="places per slot: how many bookings one slot takes (a class, a group "
        "lesson); 1, the default, is one booking per slot",
        examples=[12],
    )
    default_service_duration_min: PositiveInt | None = None
    language: str = Field(
        "en",
        description="language of the titles and messages contacts see (one of "
        f"{', '.join(LANGUAGES)}; a tag such as es-ES counts as es); defaults to the tenant's "
        "when it is one of these, else English",
        examples=["es"],
        json_schema_extra=_tenant_default,
    )

    @model_validator(mode="wrap")
    @classmethod
    def _name_unknown_settings(cls, value: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        # Only the message changes: an unknown key says which settings the type has.
        try:
            return handler(value)
        except ValidationError as exc:
            errors = exc.errors()
            if not any(_is_unknown_setting(e) for e in errors):
                raise
            kind = value.get("type") if isinstance(value, Mapping) else None
            details = [_unknown_setting(cls, e, kind) if _is_unknown_setting(e) else _same(e)
                       for e in errors]  # fmt: skip
            try:
                renamed = ValidationError.from_exception_data(exc.title, details)
            except KeyError:  # an error type pydantic cannot raise again: leave it as it was
                raise exc from None
            raise renamed from None

    @field_validator("capacity", mode="before")
    @classmethod
    def _places(cls, value: Any) -> Any:
        # One plain message for every wrong value: pydantic's would read `true` as 1 and say
        # "greater than or equal to 1" for 0 without saying what the number counts.
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        # As the tenant file spells it (`true`, not Python's `True`).
        shown = ("true" if value else "false") if isinstance(value, bool) else repr(value)
        raise ValueError(
            "capacity is how many bookings one slot takes: a whole number, 1 or more "
            f"(1, the default: one booking per slot), got {shown}"
        )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return check_zone_name(value)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        return checked_calendar_language(value)

    @field_validator("schedule")
    @classmethod
    def _valid_windows(cls, value: dict[Weekday, list[str]]) -> dict[Weekday, list[str]]:
        for day, texts in value.items():
            parse_day_windows(day, texts)
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def weekly_windows(self) -> tuple[tuple[TimeWindow, ...], ...]:
        """Parsed windows per weekday, indexed like `date.weekday()`."""
        return tuple(parse_day_windows(day, self.schedule.get(day, [])) for day in WEEKDAYS)

    @cached_property
    def closed_days(self) -> frozenset[date]:
        """`closed_dates` as a set: the slot rules ask about every day they look at."""
        return frozenset(self.closed_dates)

    @cached_property
    def weekly_minutes(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """`weekly_windows` as ``(start_min, end_min)`` pairs: what the slot rules' memo keys
        hold (a pair of ints hashes in C, a `TimeWindow` in Python)."""
        return tuple(tuple((w.start_min, w.end_min) for w in day) for day in self.weekly_windows)

    @cached_property
    def unknown_directives_logged(self) -> set[str]:
        """The unknown ``[CFG]`` directives already logged for this binding
        (`slots.note_unknown_directives`). State, not a setting: it lives here because the slot
        rules are handed the settings and each connector instance parses its own, so a
        directive is logged once per instance (again after a restart or a reload)."""
        return set()

    @property
    def horizon_days(self) -> int:
        """How many days ahead (counting today) anything can be booked."""
        return max(self.lookahead_days_client, self.lookahead_days_manual)

    @property
    def fallback_duration_min(self) -> int:
        """Service length used when the flow passes none."""
        return self.default_service_duration_min or self.slot_duration_min


#: Keys of a binding beside its settings (the data plane's resilience policy).
BINDING_KEYS = ("resilience",)


def known_settings(model: type[CalendarSettings]) -> list[str]:
    """The keys a calendar binding of `model`'s type takes, as written in a tenant file."""
    names: list[str] = []
    for name, field in model.model_fields.items():
        if name == "type":
            continue
        aliases = field.validation_alias
        choices = aliases.choices if isinstance(aliases, AliasChoices) else []
        names += [name, *(str(c) for c in choices if c != name)]
    return [*names, *BINDING_KEYS]


def _is_unknown_setting(error: ErrorDetails) -> bool:
    return error["type"] == "extra_forbidden" and len(error["loc"]) == 1


def _unknown_setting(
    model: type[CalendarSettings], error: ErrorDetails, kind: Any
) -> InitErrorDetails:
    name = str(error["loc"][0])
    known = known_settings(model)
    meant = closest(name, known)
    hint = f" (did you mean {meant!r}?)" if meant else ""
    shown = kind if isinstance(kind, str) else model.model_fields["type"].default
    message = f"unknown setting for type {shown!r}{hint}; known settings: {', '.join(known)}"
    return InitErrorDetails(
        type=PydanticCustomError("unknown_setting", message.replace("{", "{{").replace("}", "}}")),
        loc=error["loc"],
        input=error["input"],
    )


def _same(error: ErrorDetails) -> InitErrorDetails:
    """An error raised again as it was (its type, place and context)."""
    details = InitErrorDetails(type=error["type"], loc=error["loc"], input=error["input"])
    if "ctx" in error:
        details["ctx"] = error["ctx"]
    return details


class SeedEvent(BaseModel):
    """An event preloaded into the in-memory calendar (demos and tests).

    Either timed (`start` and `end`; naive values are read in the calendar's time zone) or
    all-day (`day`, and `end_day` exclusive, default the day after), e.g.
    ``{day: 2024-01-08, title: "[CFG] CERRADO"}``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = "busy"
    start: datetime | None = None
    end: datetime | None = None
    day: IsoDay | None = None
    end_day: IsoDay | None = None

    @model_validator(mode="after")
    def _one_form(self) -> SeedEvent:
        timed = self.start is not None or self.end is not None
        all_day = self.day is not None or self.end_day is not None
        if timed == all_day:
            raise ValueError("give either start and end (timed) or day (all-day), not both")
        if timed and (self.start is None or self.end is None):
            raise ValueError("a timed event needs both start and end")
        if all_day and self.day is None:
            raise ValueError("an all-day event needs day (end_day is optional)")
        return self


class MockCalendarSettings(CalendarSettings):
    """`mock_calendar`: the in-memory calendar. `busy` (alias `events`) seeds events."""

    type: Literal["mock_calendar", "mock"] = "mock_calendar"
    busy: list[SeedEvent] = Field(
        default_factory=list, validation_alias=AliasChoices("busy", "events")
    )


GOOGLE_CALENDAR_API = "https://www.googleapis.com/calendar/v3/"


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        # Only the scheme is named: a URL may carry a password (https://user:secret@host/).
        scheme = value.split("://", 1)[0] if "://" in value else ""
        got = f"it starts with {scheme + '://'!r}" if 0 < len(scheme) <= 16 else "no scheme"
        raise ValueError(f"not an http(s) URL ({got}); write https://...")
    return value


class GoogleCalendarSettings(CalendarSettings):
    """`google_calendar`: a Google Calendar reached with a service account.

    Credentials: `credentials_path` (a service-account JSON key file) or `service_account_info`
    (the same JSON, merged in from the tenant's credentials). Share the calendar with the
    service account's e-mail ("Make changes to events"). `api_base_url` points the client at
    another root (a local fake in tests and demos); off Google, credentials are optional.
    """

    type: Literal["google_calendar"] = "google_calendar"
    calendar_id: str = "primary"
    credentials_path: str | None = None
    # The service-account JSON, merged in from the tenant's credentials (never logged).
    service_account_info: dict[str, Any] | SecretStr | None = Field(None, repr=False)
    api_base_url: str = Field(GOOGLE_CALENDAR_API, description="root of the Calendar API v3")
    request_timeout_s: PositiveFloat = Field(10.0, description="HTTP timeout of one request")

    _url = field_validator("api_base_url")(_http_url)

    @field_validator("service_account_info", mode="before")
    @classmethod
    def _key_shape(cls, value: Any) -> Any:
        # Checked first, so a wrong shape gets one plain message instead of one per union
        # member (and never the value: it is a private key).
        if value is None or isinstance(value, dict | str | SecretStr):
            return value
        raise ValueError(
            "must be the service-account key file's JSON object (or that JSON as a string), "
            f"not a {type(value).__name__}"
        )

    @model_validator(mode="after")
    def _credentials(self) -> GoogleCalendarSettings:
        if self.credentials_path and self.service_account_info is not None:
            raise ValueError("give credentials_path or service_account_info, not both")
        if self.uses_google and not (self.credentials_path or self.service_account_info):
            raise ValueError(
                "missing credentials: set credentials_path (a service-account key file) or "
                "store service_account_info in the tenant's credentials"
            )
        return self

    @property
    def uses_google(self) -> bool:
        return ".googleapis.com" in self.api_base_url.split("/")[2]


def _owner_email(value: str) -> str:
    address = value.strip()
    if address[:7].lower() == "mailto:":
        address = address[7:].strip()
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or any(char.isspace() for char in address):
        raise ValueError(f"not an e-mail address: {value!r} (write it as salon@example.com)")
    return address.lower()


OwnerEmail = Annotated[str, AfterValidator(_owner_email), Field(examples=["salon@example.com"])]


#: The key of the validation context that names the binding being validated (`calendar`,
#: `calendar.chair_2`), for messages that name its credential scope.
BINDING_CONTEXT = "binding"


class CalDavSettings(CalendarSettings):
    """`caldav`: any CalDAV server (Nextcloud, Radicale, iCloud...)."""

    type: Literal["caldav"] = "caldav"
    url: str
    username: str | None = None
    password: SecretStr | None = None
    calendar_id: str | None = Field(None, description="calendar URL; default: the first")
    calendar_name: str | None = Field(None, description="calendar display name")
    # Sent up front: negotiating costs a refused request each time (Radicale even delays those).
    auth_type: Literal["basic", "digest"] = Field("basic", description="HTTP authentication")
    request_timeout_s: PositiveFloat = Field(10.0, description="HTTP timeout of one request")
    owner_emails: list[OwnerEmail] = Field(
        default_factory=list,
        description="the calendar's own e-mail addresses, besides those the server reports: "
        "an invitation declined under one of them holds no time",
    )

    _url = field_validator("url")(_http_url)

    @model_validator(mode="after")
    def _login(self, info: ValidationInfo) -> CalDavSettings:
        # The HTTP client would fail on every request with a TypeError, read as the server
        # being unavailable (retried, counted by the breaker) instead of a setting missing.
        if self.username and self.password is None:
            # The binding's own credential scope: a named binding (`calendar.chair_2`) has its
            # own, given as `binding` in the validation context (`caldav.build`).
            context = info.context if isinstance(info.context, Mapping) else {}
            binding = str(context.get(BINDING_CONTEXT) or "calendar")
            raise ValueError(
                "username is set but no password: store the calendar's password in the "
                f"tenant's credentials (scope connector:{binding}, name 'password')"
            )
        return self


AnyCalendarSettings = Annotated[
    MockCalendarSettings | GoogleCalendarSettings | CalDavSettings, Field(discriminator="type")
]
_ANY_ADAPTER: TypeAdapter[MockCalendarSettings | GoogleCalendarSettings | CalDavSettings] = (
    TypeAdapter(AnyCalendarSettings)
)


def with_tenant_timezone(settings: Mapping[str, Any], timezone: str) -> dict[str, Any]:
    """The raw settings with `timezone` filled in from the tenant when absent or empty."""
    raw = dict(settings)
    if not raw.get("timezone"):
        raw["timezone"] = timezone
    return raw


def with_tenant_language(settings: Mapping[str, Any], language: str) -> dict[str, Any]:
    """The raw settings with `language` filled in from the tenant's when absent or empty: the
    tenant's if the calendar writes it, else English (as the platform's own texts fall back),
    so a tenant in another language still boots. A `language` the binding gives is checked."""
    raw = dict(settings)
    if not raw.get("language"):
        raw["language"] = calendar_language(language) or "en"
    return raw


def parse_calendar_settings(
    settings: Mapping[str, Any], *, timezone: str
) -> MockCalendarSettings | GoogleCalendarSettings | CalDavSettings:
    """Validate raw settings of any calendar type (pydantic `ValidationError` on problems)."""
    return _ANY_ADAPTER.validate_python(with_tenant_timezone(settings, timezone))


def calendar_settings_json_schema() -> dict[str, Any]:
    """JSON Schema of `connectors.calendar`, all types (for editors and the control plane)."""
    return _ANY_ADAPTER.json_schema()
