"""The names of a flow's services in each language (the `services` param), and the service's
part of an appointment's title as a contact reads it.

A flow passes its `services` table (``{key: {name: "Uña encarnada", name_en: "Ingrown
toenail", ...}}``, or ``{key: "Name"}``) to the calendar's calls. `name` is the service's name in
the flow's default language, each ``name_<language>`` (``name_en``, ``name_pt_BR``) its name in
that language; the service's other properties (``price``, ``duration_min``) are not read.

An event stores the name the flow booked it with (in the staff's language, usually): that stays
what the business's calendar says. What a contact is shown names the service in the call's
language when the event is tied to a service of the table:

* by the key stored with the event, when its stored name is one of that service's names (in any
  language) or it stored none: a name of the flow's own (``"Uña encarnada (las dos)"``) is what
  the flow meant to show, and stays;
* else (no key, or one the table does not know) by its stored name: the one service having that
  name in some language (compared ignoring case and spacing). Two services sharing it: neither.

Not tied to a service, the stored name is shown, as booked (else the stored key). Pure functions,
no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from botfleet.domain.built_in_texts import primary_language
from botfleet.domain.calendar import Appointment
from botfleet.domain.texts_by_language import tag_key

#: A service's property holding its name in a language: ``name_en``, ``name_pt_BR``,
#: ``name_ca-ES`` (a language tag after ``name_``); ``name_short`` is no language.
_LANGUAGE_NAME = re.compile(r"^name_([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)$")


def language_field(field: str) -> str | None:
    """The language tag of a service's property ``name_<tag>``, else None."""
    match = _LANGUAGE_NAME.match(field)
    return None if match is None else match.group(1)


def _as_compared(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class ServiceNames:
    """One service's names: `default` (its `name`) and one per language tag (compared form)."""

    default: str
    by_language: Mapping[str, str]

    @classmethod
    def of(cls, default: str, by_language: Mapping[str, str] | None = None) -> ServiceNames:
        """From the default name and ``{tag as written: name}`` (``{"pt_BR": ...}``); the first
        of two tags that compare the same wins."""
        names: dict[str, str] = {}
        for language, name in (by_language or {}).items():
            names.setdefault(tag_key(language), name)
        return cls(default, MappingProxyType(names))

    def in_language(self, languages: Iterable[str]) -> str:
        """The name in the first of `languages` it has one in (``pt-BR`` finds ``name_pt_BR``,
        else ``name_pt``), else the default name."""
        for language in languages:
            tag = tag_key(language)
            if not tag:
                continue
            found = self.by_language.get(tag) or self.by_language.get(primary_language(tag))
            if found:
                return found
        return self.default

    def has(self, name: str) -> bool:
        """Whether `name` is one of its names, in any language (ignoring case and spacing)."""
        wanted = _as_compared(name)
        return any(_as_compared(n) == wanted for n in (self.default, *self.by_language.values()))


@dataclass(frozen=True, slots=True)
class ServiceTable:
    """The `services` param of one call: names by service key."""

    services: Mapping[str, ServiceNames]

    def service_of(self, appointment: Appointment) -> ServiceNames | None:
        """The service `appointment` is tied to, else None (module docstring)."""
        key, stored = appointment.service_key, appointment.service_name
        own = self.services.get(key) if key else None
        if own is not None:  # a name of the flow's own for it stays
            return own if not stored or own.has(stored) else None
        if not stored:
            return None
        found = [names for names in self.services.values() if names.has(stored)]
        return found[0] if len(found) == 1 else None

    def shown(self, appointment: Appointment, languages: Iterable[str]) -> Appointment:
        """`appointment` named for a contact reading `languages` (the first the service has a
        name in; else its default name); as it is when tied to no service. Only for what is
        shown: the store keeps the name it was booked with."""
        names = self.service_of(appointment)
        if names is None:
            return appointment
        name = names.in_language(languages)
        return (
            appointment
            if name == appointment.service_name
            else replace(appointment, service_name=name)
        )


#: No `services` param: every appointment is shown as stored.
NO_SERVICES = ServiceTable(MappingProxyType({}))
