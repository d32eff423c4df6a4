"""What the calendar connector writes for a contact to read, in each language it knows.

Day titles (`"Mon 10 Mar"`, `"Lun 10 mar"`, `"Mo., 10. März"`), the day part of appointment
titles, and the `message` of its answers (refusals, "Booked: ..."); and, for staff, what a
booking's event says of itself in their calendar app (`events.py`). Ids, `reason`s and machine
fields (`date`, `time`, `slot`) are the same in every language.

The languages are the platform's (`domain.built_in_texts`): en, es, pt, fr, de, it, ca.

Register: these messages land in conversations that businesses write, some in the familiar
"you" (tú, tu, du) and some in the formal one (usted, vostè, vous, Sie, Lei, o senhor), so they
take no side: no second person at all, neither pronoun nor imperative, but impersonal phrasing
("Hay que elegir otra.", "Merci de choisir...", "Bitte ... wählen."). English "you" has no
register and stays. `tests/unit/domain/test_platform_texts_register.py` guards it.

Hand-written tables, not Babel: Babel costs about 7 MB of RSS to import and 1.5 MB per locale
loaded (measured), which a Spanish tenant's data plane (56 MB idle, 60 MB budget) cannot
afford, for 19 abbreviations per language. The abbreviations are CLDR's (what Babel would
give), except where a list row needs it shorter: pt drops CLDR's periods ("Seg 10 mar", not
"seg. 10 mar."). Titles start with a capital, as an option's title does. Each language writes
the date its own way: German "Mo., 10. März", Catalan "Dl. 10 de març".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from types import MappingProxyType

from botfleet.domain.built_in_texts import primary_language


class Refusal(Enum):
    """Why a write was refused (each has a sentence per language and a `reason` for flows)."""

    SLOT_TAKEN = "slot_taken"
    SLOT_UNAVAILABLE = "slot_unavailable"
    NOT_FOUND = "not_found"
    CHANGED = "changed"
    ALREADY_BOOKED = "already_booked"


#: A refusal's `reason`, for flows to branch on. `not_found` and `changed` are told apart
#: because a flow acts differently on them: a `not_found` appointment is gone (its reminder
#: goes too), a `changed` one is still in the calendar, as staff left it (its reminder stays).
REASONS: Mapping[Refusal, str] = MappingProxyType(
    {
        Refusal.SLOT_TAKEN: "slot_taken",
        Refusal.SLOT_UNAVAILABLE: "unavailable",
        Refusal.NOT_FOUND: "not_found",
        Refusal.CHANGED: "changed",
        Refusal.ALREADY_BOOKED: "already_booked",
    }
)


# eq=False: one instance per language, hashed by identity (a key of the formatting caches).
@dataclass(frozen=True, slots=True, eq=False)
class CalendarTexts:
    """The calendar's words in one language."""

    language: str
    #: Monday to Sunday, as a day title starts.
    weekdays: tuple[str, ...]
    #: January to December, as a day title writes them after the day of the month.
    months: tuple[str, ...]
    #: A day title, from `weekday`, `day` (of the month) and `month`.
    day_pattern: str
    refusals: Mapping[Refusal, str]
    #: A successful booking's, move's and cancellation's `message`, around the appointment's
    #: title.
    booked: str
    moved: str
    cancelled: str
    #: A cancel of an appointment the contact had already cancelled (a repeated turn whose
    #: first answer was lost): still a success, around the appointment's title.
    already_cancelled: str
    #: For staff, in the calendar's events: the title of a booking with no service name or
    #: key, before the contact's name ("Appointment · Ana"), and the line its description
    #: starts with (the `[botfleet]` lines after it are the same in every language).
    event_title: str
    event_note: str
    #: A slot's places left on a calendar of places (`capacity` above 1), one and more:
    #: the slot item's `description`.
    places_left: tuple[str, str]

    def places(self, left: int) -> str:
        """``"3 places left"`` (``"1 place left"``), in this language."""
        one, more = self.places_left
        return one if left == 1 else more.format(n=left)

    def day_title(self, day: date) -> str:
        """``date(2025, 3, 10)`` -> ``"Mon 10 Mar"`` (in English)."""
        return self.day_pattern.format(
            weekday=self.weekdays[day.weekday()], day=day.day, month=self.months[day.month - 1]
        )

    def refusal(self, kind: Refusal) -> str:
        return self.refusals[kind]


ENGLISH = CalendarTexts(
    language="en",
    weekdays=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    months=("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    day_pattern="{weekday} {day} {month}",
    refusals={
        Refusal.SLOT_TAKEN: "Sorry, that slot was just taken. Please choose another time.",
        Refusal.SLOT_UNAVAILABLE: "Sorry, that time is not available for booking.",
        Refusal.NOT_FOUND: "No such appointment was found for you.",
        Refusal.CHANGED: "That appointment was just changed or cancelled in our calendar, so "
        "nothing was done. Please check your appointments.",
        Refusal.ALREADY_BOOKED: "You already have a place booked at that time.",
    },
    booked="Booked: {title}.",
    moved="Moved to: {title}.",
    cancelled="Cancelled: {title}.",
    already_cancelled="That appointment was already cancelled: {title}.",
    event_title="Appointment",
    event_note="Booked through the booking assistant.",
    places_left=("1 place left", "{n} places left"),
)

_SPANISH = CalendarTexts(
    language="es",
    weekdays=("Lun", "Mar", "Mié", "Jue", "Vie", "Sáb", "Dom"),
    months=("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"),
    day_pattern="{weekday} {day} {month}",
    refusals={
        Refusal.SLOT_TAKEN: "Lo sentimos, esa hora se acaba de ocupar. Hay que elegir otra.",
        Refusal.SLOT_UNAVAILABLE: "Lo sentimos, esa hora no está disponible para reservar.",
        Refusal.NOT_FOUND: "No hemos encontrado esa cita.",
        Refusal.CHANGED: "Esa cita se acaba de cambiar o cancelar en nuestra agenda, así que no "
        "hemos hecho nada. Conviene revisar las citas.",
        Refusal.ALREADY_BOOKED: "Ya hay una plaza reservada a este nombre a esa hora.",
    },
    booked="Reservada: {title}.",
    moved="Nueva hora: {title}.",
    cancelled="Cancelada: {title}.",
    already_cancelled="Esa cita ya estaba cancelada: {title}.",
    event_title="Cita",
    event_note="Reservada a través del asistente de reservas.",
    places_left=("Queda 1 plaza", "Quedan {n} plazas"),
)

_PORTUGUESE = CalendarTexts(
    language="pt",
    weekdays=("Seg", "Ter", "Qua", "Qui", "Sex", "Sáb", "Dom"),
    months=("jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez"),
    day_pattern="{weekday} {day} {month}",
    refusals={
        Refusal.SLOT_TAKEN: "Lamentamos, mas esse horário acabou de ser ocupado. É preciso "
        "escolher outro.",
        Refusal.SLOT_UNAVAILABLE: "Lamentamos, mas esse horário não está disponível para marcação.",
        Refusal.NOT_FOUND: "Não encontramos essa marcação.",
        Refusal.CHANGED: "Essa marcação acabou de ser alterada ou cancelada na nossa agenda, por "
        "isso nada foi feito. Convém verificar as marcações.",
        Refusal.ALREADY_BOOKED: "Já existe um lugar marcado neste nome para esse horário.",
    },
    booked="Marcado: {title}.",
    moved="Novo horário: {title}.",
    cancelled="Cancelado: {title}.",
    already_cancelled="Essa marcação já estava cancelada: {title}.",
    event_title="Marcação",
    event_note="Marcado pelo assistente de marcações.",
    places_left=("Resta 1 lugar", "Restam {n} lugares"),
)

_FRENCH = CalendarTexts(
    language="fr",
    weekdays=("Lun.", "Mar.", "Mer.", "Jeu.", "Ven.", "Sam.", "Dim."),
    months=(
        "janv.",
        "févr.",
        "mars",
        "avr.",
        "mai",
        "juin",
        "juil.",
        "août",
        "sept.",
        "oct.",
        "nov.",
        "déc.",
    ),
    day_pattern="{weekday} {day} {month}",
    refusals={
        Refusal.SLOT_TAKEN: "Désolé, ce créneau vient d'être pris. Merci de choisir un autre "
        "horaire.",
        Refusal.SLOT_UNAVAILABLE: "Désolé, cet horaire n'est pas disponible à la réservation.",
        Refusal.NOT_FOUND: "Nous n'avons pas trouvé ce rendez-vous.",
        Refusal.CHANGED: "Ce rendez-vous vient d'être modifié ou annulé dans notre agenda, nous "
        "n'avons donc rien fait. Merci de vérifier à nouveau les rendez-vous.",
        Refusal.ALREADY_BOOKED: "Une place est déjà réservée à ce nom pour cet horaire.",
    },
    # French puts a (no-break) space before a colon.
    booked="Réservé\u00a0: {title}.",
    moved="Nouvel horaire\u00a0: {title}.",
    cancelled="Annulé\u00a0: {title}.",
    already_cancelled="Ce rendez-vous était déjà annulé\u00a0: {title}.",
    event_title="Rendez-vous",
    event_note="Réservé via l'assistant de réservation.",
    places_left=("1 place restante", "{n} places restantes"),
)

_GERMAN = CalendarTexts(
    language="de",
    weekdays=("Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."),
    months=(
        "Jan.",
        "Feb.",
        "März",
        "Apr.",
        "Mai",
        "Juni",
        "Juli",
        "Aug.",
        "Sept.",
        "Okt.",
        "Nov.",
        "Dez.",
    ),
    day_pattern="{weekday}, {day}. {month}",
    refusals={
        Refusal.SLOT_TAKEN: "Leider wurde dieser Termin gerade vergeben. Bitte eine andere "
        "Uhrzeit wählen.",
        Refusal.SLOT_UNAVAILABLE: "Leider ist diese Uhrzeit nicht buchbar.",
        Refusal.NOT_FOUND: "Wir haben diesen Termin nicht gefunden.",
        Refusal.CHANGED: "Dieser Termin wurde gerade in unserem Kalender geändert oder abgesagt, "
        "daher haben wir nichts unternommen. Bitte die Termine noch einmal prüfen.",
        Refusal.ALREADY_BOOKED: "Für diese Uhrzeit ist unter diesem Namen bereits ein Platz "
        "gebucht.",
    },
    booked="Gebucht: {title}.",
    moved="Verschoben auf: {title}.",
    cancelled="Abgesagt: {title}.",
    already_cancelled="Dieser Termin war bereits abgesagt: {title}.",
    event_title="Termin",
    event_note="Über den Buchungsassistenten gebucht.",
    places_left=("1 Platz frei", "{n} Plätze frei"),
)

_ITALIAN = CalendarTexts(
    language="it",
    weekdays=("Lun", "Mar", "Mer", "Gio", "Ven", "Sab", "Dom"),
    months=("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"),
    day_pattern="{weekday} {day} {month}",
    refusals={
        Refusal.SLOT_TAKEN: "Ci dispiace, quell'orario è appena stato preso. Bisogna "
        "sceglierne un altro.",
        Refusal.SLOT_UNAVAILABLE: "Ci dispiace, quell'orario non è prenotabile.",
        Refusal.NOT_FOUND: "Non abbiamo trovato questo appuntamento.",
        Refusal.CHANGED: "Questo appuntamento è appena stato modificato o annullato nella nostra "
        "agenda, quindi non abbiamo fatto nulla. Conviene controllare di nuovo gli appuntamenti.",
        Refusal.ALREADY_BOOKED: "C'è già un posto prenotato a questo nome per quell'orario.",
    },
    booked="Prenotato: {title}.",
    moved="Nuovo orario: {title}.",
    cancelled="Annullato: {title}.",
    already_cancelled="Questo appuntamento era già stato annullato: {title}.",
    event_title="Appuntamento",
    event_note="Prenotato tramite l'assistente di prenotazione.",
    places_left=("1 posto libero", "{n} posti liberi"),
)

_CATALAN = CalendarTexts(
    language="ca",
    weekdays=("Dl.", "Dt.", "Dc.", "Dj.", "Dv.", "Ds.", "Dg."),
    # CLDR's months, with the "de"/"d'" a Catalan date writes before them ("10 de març"); a
    # plain apostrophe, as a contact would type it.
    months=(
        "de gen.",
        "de febr.",
        "de març",
        "d'abr.",
        "de maig",
        "de juny",
        "de jul.",
        "d'ag.",
        "de set.",
        "d'oct.",
        "de nov.",
        "de des.",
    ),
    day_pattern="{weekday} {day} {month}",
    refusals={
        Refusal.SLOT_TAKEN: "Ho sentim, aquesta hora s'acaba d'ocupar. Cal triar-ne una altra.",
        Refusal.SLOT_UNAVAILABLE: "Ho sentim, aquesta hora no està disponible per reservar.",
        Refusal.NOT_FOUND: "No hem trobat aquesta cita.",
        Refusal.CHANGED: "Aquesta cita s'acaba de canviar o cancel·lar a la nostra agenda, així "
        "que no hem fet res. Convé revisar les cites.",
        Refusal.ALREADY_BOOKED: "Ja hi ha una plaça reservada a aquest nom a aquesta hora.",
    },
    booked="Reservada: {title}.",
    moved="Nova hora: {title}.",
    cancelled="Cancel·lada: {title}.",
    already_cancelled="Aquesta cita ja estava cancel·lada: {title}.",
    event_title="Cita",
    event_note="Reservada a través de l'assistent de reserves.",
    places_left=("Queda 1 plaça", "Queden {n} places"),
)

#: By language (ISO 639-1 code).
CALENDAR_TEXTS: Mapping[str, CalendarTexts] = MappingProxyType(
    {t.language: t for t in (ENGLISH, _SPANISH, _PORTUGUESE, _FRENCH, _GERMAN, _ITALIAN, _CATALAN)}
)
LANGUAGES: tuple[str, ...] = tuple(sorted(CALENDAR_TEXTS))


def calendar_language(tag: str) -> str | None:
    """The language of `tag` ("es", "pt-BR", "ca_ES", any case) the calendar writes, else None."""
    language = primary_language(tag)
    return language if language in CALENDAR_TEXTS else None


def checked_calendar_language(tag: str) -> str:
    """`calendar_language` for a setting's validator: a language the calendar does not write
    raises the `ValueError` that names those it does."""
    language = calendar_language(tag)
    if language is None:
        raise ValueError(f"the calendar has no texts in {tag!r}; languages: {', '.join(LANGUAGES)}")
    return language


def calendar_texts(language: str) -> CalendarTexts:
    """The texts of a language `calendar_language` accepted (KeyError otherwise)."""
    return CALENDAR_TEXTS[language]


def texts_of(tag: str) -> CalendarTexts | None:
    """The texts of `tag`'s language ("es", "pt-BR", any case), else None (blank, or a language
    the calendar does not write)."""
    texts = CALENDAR_TEXTS.get(tag)  # the usual "es" or "en", looked up as given
    if texts is None:
        language = calendar_language(tag)
        texts = None if language is None else CALENDAR_TEXTS[language]
    return texts
