"""Reading calendar operation params: strings or numbers in, typed values out.

Every problem raises `ConnectorRejected` with a message naming the operation and the param,
because params come from a flow's templates and the flow author has to find the culprit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from botfleet.adapters.connectors.calendar import formatting
from botfleet.adapters.connectors.calendar.service_names import (
    NO_SERVICES,
    ServiceNames,
    ServiceTable,
    language_field,
)
from botfleet.adapters.connectors.calendar.texts import CalendarTexts, texts_of
from botfleet.domain.calendar import TimeWindow
from botfleet.domain.calendar_period import parse_period_param
from botfleet.domain.errors import ConnectorRejected


class Params:
    """The params of one operation call, with typed, validated accessors."""

    def __init__(self, operation: str, raw: Mapping[str, Any]) -> None:
        self.operation = operation
        self.raw = raw

    def _reject(self, name: str, detail: str) -> ConnectorRejected:
        # The call (`calendar.get_slots_for_day`) is named by whoever reports the error.
        return ConnectorRejected(f"param {name!r} {detail}")

    def _present(self, name: str) -> Any:
        value = self.raw.get(name)
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    def text(self, name: str, default: str | None = None) -> str:
        """A string param; missing or empty -> `default`, or an error when no default."""
        value = self._present(name)
        if value is None:
            if default is None:
                raise self._reject(name, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self._reject(name, f"must be a string, got {type(value).__name__}")
        return str(value).strip()

    def texts(self, default: CalendarTexts, name: str = "language") -> CalendarTexts:
        """The texts of the call's `language` ("es", "pt-BR"); missing, blank or a language the
        calendar does not write -> `default` (the binding's).

        A language the calendar does not write is not refused: the value usually comes from the
        contact (`data.lang`, `contact.language`), and a refusal would fail their booking, where
        the binding's language still serves them. A value that is not text is a flow's mistake.
        """
        value = self.raw.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._reject(
                name, f"must be a language code such as 'es', got {type(value).__name__}"
            )
        return texts_of(value) or default

    def minutes(self, name: str, default: int) -> int:
        """A positive whole number of minutes, as a number or a numeric string ("30")."""
        return self.positive_int(name, default, upper=7 * 24 * 60)

    def positive_int(self, name: str, default: int, *, upper: int) -> int:
        value = self._present(name)
        if value is None:
            return default
        # The usual shapes, an int or a string of ASCII digits, in range: the number itself
        # (what the general path below gives them); anything else goes that path.
        kind = type(value)
        if kind is int and 1 <= value <= upper:
            return int(value)
        if kind is str and len(value) < 19 and value.isascii() and value.isdigit():
            whole = int(value)
            if 1 <= whole <= upper:
                return whole
        not_whole = self._reject(name, f"must be a whole number, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise not_whole
        try:
            number = float(value)
        except ValueError:
            raise not_whole from None
        if not math.isfinite(number) or not number.is_integer():
            raise not_whole
        if not 1 <= number <= upper:
            raise self._reject(name, f"must be between 1 and {upper}, got {value!r}")
        return int(number)

    def day(self, name: str, default: date | None = None) -> date:
        """An ISO date ``YYYY-MM-DD`` (``day_`` prefix tolerated)."""
        value = self._present(name)
        if value is None:
            if default is None:
                raise self._reject(name, "is required (a date YYYY-MM-DD)")
            return default
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return formatting.parse_day(str(value))
        except ValueError as exc:
            raise self._reject(name, str(exc)) from None

    def slot(self, name: str = "slot") -> datetime:
        """A slot ``YYYY-MM-DD_HHMM`` (``hour_`` prefix tolerated) as naive local wall time."""
        value = self.text(name)
        try:
            return formatting.parse_slot(value)
        except ValueError as exc:
            raise self._reject(name, str(exc)) from None

    def event_id(self, name: str = "event_id") -> str:
        try:
            return formatting.parse_event_id(self.text(name))
        except ValueError as exc:
            raise self._reject(name, str(exc)) from None

    def period(self, name: str = "period") -> TimeWindow | None:
        """The local slot starts to keep: ``morning``, ``afternoon``, a range ``"HH:MM-HH:MM"``
        (`calendar_period.parse_period_param`: ``mañana``/``tarde`` too) or ``""`` (None: all
        day)."""
        value = self.text(name, default="")
        try:
            return parse_period_param(value)
        except ValueError as exc:
            raise self._reject(name, str(exc)) from None

    def services(self, name: str = "services") -> ServiceTable:
        """The flow's `services` table (``{key: {name: ..., name_en: ..., ...}}``) or
        ``{key: "name"}``: each service's `name` and its names per language (``name_<tag>``;
        one left blank counts as none); missing -> no services."""
        value = self._present(name)
        if value is None:
            return NO_SERVICES
        if not isinstance(value, Mapping):
            raise self._reject(
                name, f"must be a mapping of service keys, got {type(value).__name__}"
            )
        table: dict[str, ServiceNames] = {}
        for key, entry in value.items():
            label = entry.get("name") if isinstance(entry, Mapping) else entry
            if not isinstance(label, str) or not label.strip():
                raise self._reject(name, f"[{key!r}] needs a name (a string or {{name: ...}})")
            spoken: dict[str, str] = {}
            for field, text in entry.items() if isinstance(entry, Mapping) else ():
                language = language_field(str(field))
                if language is None or text is None:
                    continue
                if not isinstance(text, str):
                    raise self._reject(
                        name, f"[{key!r}] {field} must be a string, got {type(text).__name__}"
                    )
                if text.strip():
                    spoken[language] = text.strip()
            table[str(key)] = ServiceNames.of(label.strip(), spoken)
        return ServiceTable(table)
