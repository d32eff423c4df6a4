"""The chat page's and the widget's own words (labels, states, errors), in the platform's languages.

Chosen by the tenant's `language`, as the built-in menu words are (`degrade.BUILT_IN_MENU_TEXTS`,
`built_in_texts.BUILT_IN_TEXTS`, same languages): the page sends no visitor language, and the
bot's own messages are in the tenant's language, so its frame is too. `{title}`, `{reason}`,
`{status}` and `{seconds}` are filled in where the words are used.

Register: the page frames conversations that businesses write, some in the familiar "you" (tú,
tu, du) and some in the formal one (usted, vostè, vous, Sie, Lei, o senhor), so its words take
no side: buttons, placeholders and instructions use the infinitive ("Enviar", "Écrire un
message…", "Premere di nuovo...", "Bitte ... prüfen"), sentences are impersonal, and no
pronoun says "you". English "you" has no register and stays.
`tests/unit/domain/test_platform_texts_register.py` guards it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from types import MappingProxyType

from botfleet.domain.built_in_texts import in_language, primary_language

#: A BCP 47 language tag's shape ("es", "pt-BR", "zh-Hant-TW").
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
#: The words chat.js shows; the others are written into the HTML or the widget by the server.
SCRIPT_WORDS = (
    "not_delivered",
    "send_again",
    "send_again_hint",
    "not_accepted",
    "timed_out",
    "no_answer",
    "unreachable",
    "no_connection",
    "http_error",
    "too_many",
    "wait_and_send_again",
    "busy",
    "try_again_soon",
    "too_long",
    "write_shorter",
    "sending_again_in",
    "confirm_reset",
    "options",
)


@dataclass(frozen=True, slots=True)
class PageWords:
    """One language's words; `language` is its ISO 639-1 code, the page's `<html lang>`."""

    language: str
    # ------------------------------------------------ in the page's HTML (chat.html)
    reset: str
    typing: str
    message_label: str
    placeholder: str
    send: str
    needs_javascript: str
    # ------------------------------------------------ used by chat.js (SCRIPT_WORDS)
    not_delivered: str
    send_again: str
    send_again_hint: str
    not_accepted: str
    timed_out: str
    no_answer: str
    unreachable: str
    no_connection: str
    http_error: str
    # a refusal the page words itself (429, 503, 413): the reason under the message, and the
    # line above the message box; `sending_again_in` while the page waits to send it again
    too_many: str
    wait_and_send_again: str
    busy: str
    try_again_soon: str
    too_long: str
    write_shorter: str
    sending_again_in: str
    confirm_reset: str
    options: str
    # ------------------------------------------------ on the widget's bubble (widget.js)
    open_chat: str
    close_chat: str
    # shown by the widget in its panel when the chat page did not load (the data plane down)
    unavailable: str
    try_again: str

    def script_words(self) -> dict[str, str]:
        """The words chat.js shows, by name: the page carries them as a JSON data block."""
        words = asdict(self)
        return {name: words[name] for name in SCRIPT_WORDS}


ENGLISH_WORDS = PageWords(
    language="en",
    reset="Reset conversation",
    typing="{title} is typing…",
    message_label="Message",
    placeholder="Type a message…",
    send="Send",
    needs_javascript="This chat needs JavaScript.",
    not_delivered="Not delivered: {reason}",
    send_again="Send again",
    send_again_hint="Send this message again",
    not_accepted="The message was not accepted: {reason}",
    timed_out="The chat did not answer in time.",
    no_answer="no answer",
    unreachable="Could not reach the chat. Check your connection and try again.",
    no_connection="no connection",
    http_error="error {status}",
    too_many="too many messages at once",
    wait_and_send_again="Too many messages at once: wait {seconds} s and send it again.",
    busy="the chat is busy",
    try_again_soon="The chat is busy: try again in a moment.",
    too_long="the message is too long",
    write_shorter="The message is too long: write a shorter one.",
    sending_again_in="Not delivered yet ({reason}): sending it again in {seconds} s…",
    confirm_reset="Press again to start over (bookings stay with this chat)",
    options="Options",
    open_chat="Open chat: {title}",
    close_chat="Close chat",
    unavailable="The chat is not available right now.",
    try_again="Try again",
)

#: French puts a no-break space before a colon.
_NBSP = "\u00a0"

#: By language (ISO 639-1 code); other languages get English.
PAGE_WORDS: Mapping[str, PageWords] = MappingProxyType(
    {
        "en": ENGLISH_WORDS,
        "es": PageWords(
            language="es",
            reset="Reiniciar conversación",
            typing="{title} está escribiendo…",
            message_label="Mensaje",
            placeholder="Escribir un mensaje…",
            send="Enviar",
            needs_javascript="Este chat necesita JavaScript.",
            not_delivered="No entregado: {reason}",
            send_again="Enviar de nuevo",
            send_again_hint="Enviar este mensaje de nuevo",
            not_accepted="El mensaje no se ha aceptado: {reason}",
            timed_out="El chat no ha respondido a tiempo.",
            no_answer="sin respuesta",
            unreachable="No se ha podido conectar con el chat. Conviene comprobar la conexión "
            "y volver a intentarlo.",
            no_connection="sin conexión",
            http_error="error {status}",
            too_many="demasiados mensajes seguidos",
            wait_and_send_again="Demasiados mensajes seguidos: se podrá enviar de nuevo en "
            "{seconds} s.",
            busy="el chat está ocupado",
            try_again_soon="El chat está ocupado: se puede volver a intentar en un momento.",
            too_long="el mensaje es demasiado largo",
            write_shorter="El mensaje es demasiado largo: tiene que ser más corto.",
            sending_again_in="Aún no entregado ({reason}): se enviará de nuevo en {seconds} s…",
            confirm_reset="Pulsar otra vez para empezar de nuevo (las reservas siguen en este "
            "chat)",
            options="Opciones",
            open_chat="Abrir chat: {title}",
            close_chat="Cerrar chat",
            unavailable="El chat no está disponible en este momento.",
            try_again="Volver a intentar",
        ),
        "pt": PageWords(
            language="pt",
            reset="Reiniciar conversa",
            typing="{title} está digitando…",
            message_label="Mensagem",
            placeholder="Escrever uma mensagem…",
            send="Enviar",
            needs_javascript="Este chat precisa de JavaScript.",
            not_delivered="Não entregue: {reason}",
            send_again="Enviar de novo",
            send_again_hint="Enviar esta mensagem de novo",
            not_accepted="A mensagem não foi aceita: {reason}",
            timed_out="O chat não respondeu a tempo.",
            no_answer="sem resposta",
            unreachable="Não foi possível conectar ao chat. Convém verificar a conexão e "
            "tentar novamente.",
            no_connection="sem conexão",
            http_error="erro {status}",
            too_many="muitas mensagens seguidas",
            wait_and_send_again="Muitas mensagens seguidas: será possível enviar de novo em "
            "{seconds} s.",
            busy="o chat está ocupado",
            try_again_soon="O chat está ocupado: é possível tentar novamente em instantes.",
            too_long="a mensagem é longa demais",
            write_shorter="A mensagem é longa demais: deve ser mais curta.",
            sending_again_in="Ainda não entregue ({reason}): será enviada de novo em {seconds} s…",
            confirm_reset="Pressionar de novo para recomeçar (os agendamentos continuam neste "
            "chat)",
            options="Opções",
            open_chat="Abrir chat: {title}",
            close_chat="Fechar chat",
            unavailable="O chat não está disponível no momento.",
            try_again="Tentar novamente",
        ),
        "fr": PageWords(
            language="fr",
            reset="Réinitialiser la conversation",
            typing="{title} est en train d'écrire…",
            message_label="Message",
            placeholder="Écrire un message…",
            send="Envoyer",
            needs_javascript="Ce chat nécessite JavaScript.",
            not_delivered=f"Non envoyé{_NBSP}: {{reason}}",
            send_again="Renvoyer",
            send_again_hint="Renvoyer ce message",
            not_accepted=f"Le message n'a pas été accepté{_NBSP}: {{reason}}",
            timed_out="Le chat n'a pas répondu à temps.",
            no_answer="pas de réponse",
            unreachable="Impossible de joindre le chat. Merci de vérifier la connexion et de "
            "réessayer.",
            no_connection="pas de connexion",
            http_error="erreur {status}",
            too_many="trop de messages à la suite",
            wait_and_send_again=f"Trop de messages à la suite{_NBSP}: nouvel envoi possible "
            "dans {seconds} s.",
            busy="le chat est occupé",
            try_again_soon=f"Le chat est occupé{_NBSP}: merci de réessayer dans un instant.",
            too_long="le message est trop long",
            write_shorter=f"Le message est trop long{_NBSP}: merci de le raccourcir.",
            sending_again_in=f"Pas encore envoyé ({{reason}}){_NBSP}: nouvel envoi dans "
            "{seconds} s…",
            confirm_reset="Appuyer à nouveau pour recommencer (les réservations restent liées "
            "à ce chat)",
            options="Options",
            open_chat=f"Ouvrir le chat{_NBSP}: {{title}}",
            close_chat="Fermer le chat",
            unavailable="Le chat n'est pas disponible pour le moment.",
            try_again="Réessayer",
        ),
        "de": PageWords(
            language="de",
            reset="Unterhaltung zurücksetzen",
            typing="{title} schreibt…",
            message_label="Nachricht",
            placeholder="Nachricht eingeben…",
            send="Senden",
            needs_javascript="Dieser Chat benötigt JavaScript.",
            not_delivered="Nicht zugestellt: {reason}",
            send_again="Erneut senden",
            send_again_hint="Diese Nachricht erneut senden",
            not_accepted="Die Nachricht wurde nicht angenommen: {reason}",
            timed_out="Der Chat hat nicht rechtzeitig geantwortet.",
            no_answer="keine Antwort",
            unreachable="Der Chat ist nicht erreichbar. Bitte die Verbindung prüfen und es "
            "erneut versuchen.",
            no_connection="keine Verbindung",
            http_error="Fehler {status}",
            too_many="zu viele Nachrichten auf einmal",
            wait_and_send_again="Zu viele Nachrichten auf einmal: Bitte {seconds} s warten "
            "und erneut senden.",
            busy="der Chat ist ausgelastet",
            try_again_soon="Der Chat ist ausgelastet: Bitte gleich noch einmal versuchen.",
            too_long="die Nachricht ist zu lang",
            write_shorter="Die Nachricht ist zu lang: Bitte eine kürzere schreiben.",
            sending_again_in="Noch nicht zugestellt ({reason}): wird in {seconds} s erneut "
            "gesendet…",
            confirm_reset="Zum Neustart erneut drücken (Buchungen bleiben bei diesem Chat)",
            options="Optionen",
            open_chat="Chat öffnen: {title}",
            close_chat="Chat schließen",
            unavailable="Der Chat ist gerade nicht verfügbar.",
            try_again="Erneut versuchen",
        ),
        "it": PageWords(
            language="it",
            reset="Ricominciare la conversazione",
            typing="{title} sta scrivendo…",
            message_label="Messaggio",
            placeholder="Scrivere un messaggio…",
            send="Inviare",
            needs_javascript="Questa chat richiede JavaScript.",
            not_delivered="Non consegnato: {reason}",
            send_again="Inviare di nuovo",
            send_again_hint="Inviare di nuovo questo messaggio",
            not_accepted="Il messaggio non è stato accettato: {reason}",
            timed_out="La chat non ha risposto in tempo.",
            no_answer="nessuna risposta",
            unreachable="Impossibile raggiungere la chat. Conviene controllare la connessione "
            "e riprovare.",
            no_connection="nessuna connessione",
            http_error="errore {status}",
            too_many="troppi messaggi di seguito",
            wait_and_send_again="Troppi messaggi di seguito: sarà possibile inviarlo di nuovo "
            "tra {seconds} s.",
            busy="la chat è occupata",
            try_again_soon="La chat è occupata: è possibile riprovare tra un momento.",
            too_long="il messaggio è troppo lungo",
            write_shorter="Il messaggio è troppo lungo: deve essere più breve.",
            sending_again_in="Non ancora consegnato ({reason}): verrà inviato di nuovo tra "
            "{seconds} s…",
            confirm_reset="Premere di nuovo per ricominciare (le prenotazioni restano in questa "
            "chat)",
            options="Opzioni",
            open_chat="Aprire la chat: {title}",
            close_chat="Chiudere la chat",
            unavailable="La chat non è disponibile al momento.",
            try_again="Riprovare",
        ),
        "ca": PageWords(
            language="ca",
            reset="Reiniciar la conversa",
            typing="{title} està escrivint…",
            message_label="Missatge",
            placeholder="Escriure un missatge…",
            send="Enviar",
            needs_javascript="Aquest xat necessita JavaScript.",
            not_delivered="No lliurat: {reason}",
            send_again="Tornar a enviar",
            send_again_hint="Tornar a enviar aquest missatge",
            not_accepted="El missatge no s'ha acceptat: {reason}",
            timed_out="El xat no ha respost a temps.",
            no_answer="sense resposta",
            unreachable="No s'ha pogut connectar amb el xat. Convé comprovar la connexió i "
            "tornar-ho a provar.",
            no_connection="sense connexió",
            http_error="error {status}",
            too_many="massa missatges seguits",
            wait_and_send_again="Massa missatges seguits: es podrà tornar a enviar d'aquí a "
            "{seconds} s.",
            busy="el xat està ocupat",
            try_again_soon="El xat està ocupat: es pot tornar a provar d'aquí a un moment.",
            too_long="el missatge és massa llarg",
            write_shorter="El missatge és massa llarg: ha de ser més curt.",
            sending_again_in="Encara no lliurat ({reason}): es tornarà a enviar d'aquí a "
            "{seconds} s…",
            confirm_reset="Prémer un altre cop per tornar a començar (les reserves es queden en "
            "aquest xat)",
            options="Opcions",
            open_chat="Obrir el xat: {title}",
            close_chat="Tancar el xat",
            unavailable="El xat no està disponible en aquest moment.",
            try_again="Tornar-ho a provar",
        ),
    }
)


#: Portugal's Portuguese, where it differs from Brazil's (`PAGE_WORDS["pt"]`: "pt" alone is
#: Brazil's, as in CLDR). A shop in Lisbon reads "está digitando", "aceita" or "conexão" as
#: foreign; "marcações" is what the calendar's Portuguese calls bookings.
_EUROPEAN_PORTUGUESE = replace(
    PAGE_WORDS["pt"],
    typing="{title} está a escrever…",
    not_accepted="A mensagem não foi aceite: {reason}",
    unreachable="Não foi possível ligar ao chat. Convém verificar a ligação e tentar novamente.",
    no_connection="sem ligação",
    wait_and_send_again="Muitas mensagens seguidas: será possível enviar de novo daqui a "
    "{seconds} s.",
    try_again_soon="O chat está ocupado: é possível tentar novamente daqui a pouco.",
    too_long="a mensagem é demasiado longa",
    write_shorter="A mensagem é demasiado longa: deve ser mais curta.",
    sending_again_in="Ainda não entregue ({reason}): será enviada de novo daqui a {seconds} s…",
    confirm_reset="Premir novamente para recomeçar (as marcações continuam neste chat)",
    unavailable="O chat não está disponível de momento.",
)


def page_words(language: str) -> PageWords:
    """The words for a tenant whose `language` is e.g. "es", "pt-BR" or "ca_ES"; English for
    a language not built in. Portuguese with a region other than Brazil's ("pt-PT", "pt-AO")
    gets Portugal's words, as CLDR's pt_AO, pt_MZ... follow pt_PT."""
    words = in_language(PAGE_WORDS, language, "")
    if words.language == "pt" and _region(language) not in ("", "BR"):
        return _EUROPEAN_PORTUGUESE
    return words


def _is_region(subtag: str) -> bool:
    """A region subtag: two letters ("BR") or three digits ("419")."""
    return (len(subtag) == 2 and subtag.isalpha()) or (len(subtag) == 3 and subtag.isdigit())


def _region(tag: str) -> str:
    """The region subtag of `tag` in upper case ("pt_pt" -> "PT", "es-419" -> "419"), else ""."""
    for subtag in tag.strip().replace("_", "-").split("-")[1:]:
        if _is_region(subtag):
            return subtag.upper()
    return ""


def _canonical_case(tag: str) -> str:
    """A tag in the case BCP 47 recommends: "PT-br" -> "pt-BR", "zh-hant-tw" -> "zh-Hant-TW"
    (tags compare case-insensitively, but the page shows the canonical form, as browsers do)."""
    first, *rest = tag.split("-")
    subtags = [first.lower()]
    for subtag in rest:
        if _is_region(subtag):
            subtags.append(subtag.upper())
        elif len(subtag) == 4 and subtag.isalpha():
            subtags.append(subtag.title())
        else:
            subtags.append(subtag.lower())
    return "-".join(subtags)


#: The words chat.html shows that chat.js writes again when a flow talks in another language
#: (`typing` with `{title}`); the `<noscript>` one never shows where the script runs.
SWAPPED_HTML_WORDS = ("reset", "message_label", "placeholder", "send", "typing")


def every_language() -> dict[str, dict[str, str]]:
    """The words chat.js may show or write into the page, for every language it can switch to,
    keyed as the script looks them up: the ISO 639-1 code, and "pt-PT" for Portugal's
    Portuguese (chat.js's `wordsFor`, the rule `page_words` follows)."""
    sets = {**PAGE_WORDS, "pt-PT": _EUROPEAN_PORTUGUESE}
    names = (*SCRIPT_WORDS, *SWAPPED_HTML_WORDS)
    return {key: {name: getattr(words, name) for name in names} for key, words in sets.items()}


@lru_cache(maxsize=256)
def answer_language(language: str) -> str | None:
    """An answer's `language` (`InboundReply.language`): the page's `<html lang>` for the
    flow's choice, `TurnResult.language` ("es", "pt-PT"), when the page has words for it; None
    for "" (no choice: the tenant's words stay) and for a language without words. Cached: a
    turn's answer asks it, and flows choose among a few tags."""
    if primary_language(language) not in PAGE_WORDS:
        return None
    return page_language(language)


def page_language(language: str) -> str:
    """The page's `<html lang>`: the tenant's own tag when the words are in its language
    ("pt-BR" keeps its region for screen readers and hyphenation), else the words' language.
    The tag is the tenant file's free text: only a well-formed one is written into the page."""
    words = page_words(language)
    tag = language.strip().replace("_", "-")
    if primary_language(tag) == words.language and _LANGUAGE_TAG.fullmatch(tag):
        return _canonical_case(tag)
    return words.language
