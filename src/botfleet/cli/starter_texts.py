"""The words of the starter `botfleet new` writes, in each language the platform has built-in
texts for (`domain.built_in_texts.BUILT_IN_TEXTS`), so a tenant's first chat is in one language.

Register: unlike the built-in texts, these are the business's own words, which the owner edits:
each language takes the form its businesses write in chats (tú in Spanish and Catalan, tu in
Italian, vous in French, Sie in German, "a sua" in Portuguese, which reads right in Portugal and
in Brazil). Where the greeting names the business, it puts the name where no article has to
agree with it ("Bienvenue chez ...", "... ti dà il benvenuto"), as any name may be typed there.

Every typed word a conversation test uses must mean what the test says in that language:
`tests/unit/cli/test_new_starter_languages.py` runs each generated project's tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["STARTER_TEXTS", "StarterTexts"]


@dataclass(frozen=True, slots=True)
class StarterTexts:
    """The starter's words in one language: the flow's, the tenant's and the tests'."""

    #: The tenant's `name` until the owner writes theirs.
    business_name: str
    #: The menu's body, a Jinja template, one YAML line per line; it is folded into one.
    greeting: str
    #: The question closing the greeting: the tests find the menu by it.
    help_question: str
    #: The greeting as Ana reads it (the menu test's contact), and its opening words.
    greeting_to_ana: str
    hello_ana: str
    hours_button: str
    message_button: str
    hours: str
    #: A part of `hours` the tests look for.
    hours_words: str
    ask_message: str
    #: The thanks, a Jinja template with `{{ data.message }}`.
    thanks: str
    #: Typed anywhere (lower-cased), they go back to the menu; the first is the one shown.
    menu_words: tuple[str, ...]
    menu_test_name: str
    message_test_name: str
    #: What the tests type: a greeting, a second one, a message no option answers, the message
    #: left for the business.
    say_hello: str
    say_hi: str
    say_nothing: str
    say_message: str
    #: The menu word the message test types (one of `menu_words`).
    say_menu: str


ENGLISH_STARTER = StarterTexts(
    business_name="My Business",
    greeting=(
        "Hi{{ ' ' ~ contact.name if contact.name }}! Welcome to {{ tenant.name | trim('.') }}.\n"
        "How can I help?"
    ),
    help_question="How can I help?",
    greeting_to_ana="Hi Ana! Welcome to My Business. How can I help?",
    hello_ana="Hi Ana!",
    hours_button="Opening hours",
    message_button="Leave a message",
    hours="We are open Monday to Friday, 9:00 to 18:00.",
    hours_words="Monday to Friday",
    ask_message="Type your message and we will get back to you.",
    thanks="Thanks! We got your message: {{ data.message }}",
    menu_words=("menu", "start"),
    menu_test_name="the menu and the opening hours",
    message_test_name="leaving a message",
    say_hello="hello",
    say_hi="hi",
    say_nothing="what's up?",
    say_message="Please call me back tomorrow",
    say_menu="menu",
)

#: By language (ISO 639-1 code): the languages of `BUILT_IN_TEXTS`, each of them.
STARTER_TEXTS: Mapping[str, StarterTexts] = MappingProxyType(
    {
        "en": ENGLISH_STARTER,
        "es": StarterTexts(
            business_name="Mi Negocio",
            greeting=(
                "¡Hola{{ ', ' ~ contact.name if contact.name }}!\n"
                "Te damos la bienvenida a {{ tenant.name | trim('.') }}. "
                "¿En qué te podemos ayudar?"
            ),
            help_question="¿En qué te podemos ayudar?",
            greeting_to_ana=(
                "¡Hola, Ana! Te damos la bienvenida a Mi Negocio. ¿En qué te podemos ayudar?"
            ),
            hello_ana="¡Hola, Ana!",
            hours_button="Horario",
            message_button="Dejar un mensaje",
            hours="Abrimos de lunes a viernes, de 9:00 a 18:00.",
            hours_words="de lunes a viernes",
            ask_message="Escribe tu mensaje y te responderemos lo antes posible.",
            thanks="¡Gracias! Hemos recibido tu mensaje: {{ data.message }}",
            menu_words=("menú", "menu", "inicio"),
            menu_test_name="el menú y el horario",
            message_test_name="dejar un mensaje",
            say_hello="hola",
            say_hi="buenas",
            say_nothing="¿qué tal?",
            say_message="Necesito que me llamen mañana",
            say_menu="menú",
        ),
        "pt": StarterTexts(
            business_name="A Minha Empresa",
            greeting=(
                "Olá{{ ', ' ~ contact.name if contact.name }}! "
                "{{ tenant.name }} está à sua disposição.\n"
                "Em que podemos ajudar?"
            ),
            help_question="Em que podemos ajudar?",
            greeting_to_ana=(
                "Olá, Ana! A Minha Empresa está à sua disposição. Em que podemos ajudar?"
            ),
            hello_ana="Olá, Ana!",
            hours_button="Horário",
            message_button="Deixar mensagem",
            hours="Estamos abertos de segunda a sexta-feira, das 9:00 às 18:00.",
            hours_words="de segunda a sexta-feira",
            ask_message="Escreva a sua mensagem e responderemos o mais breve possível.",
            thanks="Obrigado! Recebemos a sua mensagem: {{ data.message }}",
            menu_words=("menu", "início", "inicio"),
            menu_test_name="o menu e o horário",
            message_test_name="deixar uma mensagem",
            say_hello="olá",
            say_hi="bom dia",
            say_nothing="tudo bem?",
            say_message="Preciso que me liguem amanhã",
            say_menu="início",
        ),
        "fr": StarterTexts(
            business_name="Mon Entreprise",
            greeting=(
                "Bonjour{{ ' ' ~ contact.name if contact.name }} !\n"
                "Bienvenue chez {{ tenant.name | trim('.') }}. Comment pouvons-nous vous aider ?"
            ),
            help_question="Comment pouvons-nous vous aider ?",
            greeting_to_ana=(
                "Bonjour Ana ! Bienvenue chez Mon Entreprise. Comment pouvons-nous vous aider ?"
            ),
            hello_ana="Bonjour Ana !",
            hours_button="Horaires",
            message_button="Laisser un message",
            hours="Nous sommes ouverts du lundi au vendredi, de 9 h à 18 h.",
            hours_words="du lundi au vendredi",
            ask_message="Écrivez votre message et nous vous répondrons dès que possible.",
            thanks="Merci ! Nous avons bien reçu votre message : {{ data.message }}",
            menu_words=("menu", "accueil"),
            menu_test_name="le menu et les horaires",
            message_test_name="laisser un message",
            say_hello="bonjour",
            say_hi="salut",
            say_nothing="ça va ?",
            say_message="Merci de me rappeler demain",
            say_menu="menu",
        ),
        "de": StarterTexts(
            business_name="Musterfirma",
            greeting=(
                "Hallo{{ ' ' ~ contact.name if contact.name }}! "
                "Willkommen bei {{ tenant.name | trim('.') }}.\n"
                "Wie können wir helfen?"
            ),
            help_question="Wie können wir helfen?",
            greeting_to_ana="Hallo Ana! Willkommen bei Musterfirma. Wie können wir helfen?",
            hello_ana="Hallo Ana!",
            hours_button="Öffnungszeiten",
            message_button="Nachricht schreiben",
            hours="Wir haben Montag bis Freitag von 9 bis 18 Uhr geöffnet.",
            hours_words="Montag bis Freitag",
            ask_message="Schreiben Sie uns Ihre Nachricht, wir melden uns so bald wie möglich.",
            thanks="Danke! Wir haben Ihre Nachricht erhalten: {{ data.message }}",
            menu_words=("menü", "menu", "start"),
            menu_test_name="das Menü und die Öffnungszeiten",
            message_test_name="eine Nachricht hinterlassen",
            say_hello="hallo",
            say_hi="guten Tag",
            say_nothing="wie geht's?",
            say_message="Bitte rufen Sie mich morgen zurück",
            say_menu="menü",
        ),
        "it": StarterTexts(
            business_name="La Mia Attività",
            greeting=(
                "Ciao{{ ' ' ~ contact.name if contact.name }}! "
                "{{ tenant.name }} ti dà il benvenuto.\n"
                "Come possiamo aiutarti?"
            ),
            help_question="Come possiamo aiutarti?",
            greeting_to_ana="Ciao Ana! La Mia Attività ti dà il benvenuto. Come possiamo aiutarti?",
            hello_ana="Ciao Ana!",
            hours_button="Orari",
            message_button="Lascia un messaggio",
            hours="Siamo aperti dal lunedì al venerdì, dalle 9:00 alle 18:00.",
            hours_words="dal lunedì al venerdì",
            ask_message="Scrivi il tuo messaggio e ti risponderemo al più presto.",
            thanks="Grazie! Abbiamo ricevuto il tuo messaggio: {{ data.message }}",
            menu_words=("menu", "inizio"),
            menu_test_name="il menu e gli orari",
            message_test_name="lasciare un messaggio",
            say_hello="ciao",
            say_hi="buongiorno",
            say_nothing="come va?",
            say_message="Potete richiamarmi domani?",
            say_menu="menu",
        ),
        "ca": StarterTexts(
            business_name="La Meva Empresa",
            greeting=(
                "Hola{{ ', ' ~ contact.name if contact.name }}!\n"
                "Et donem la benvinguda a {{ tenant.name | trim('.') }}. Com et podem ajudar?"
            ),
            help_question="Com et podem ajudar?",
            greeting_to_ana=(
                "Hola, Ana! Et donem la benvinguda a La Meva Empresa. Com et podem ajudar?"
            ),
            hello_ana="Hola, Ana!",
            hours_button="Horari",
            message_button="Deixar un missatge",
            hours="Obrim de dilluns a divendres, de 9.00 a 18.00 h.",
            hours_words="de dilluns a divendres",
            ask_message="Escriu el teu missatge i et respondrem al més aviat possible.",
            thanks="Gràcies! Hem rebut el teu missatge: {{ data.message }}",
            menu_words=("menú", "menu", "inici"),
            menu_test_name="el menú i l'horari",
            message_test_name="deixar un missatge",
            say_hello="hola",
            say_hi="bon dia",
            say_nothing="què tal?",
            say_message="Em podeu trucar demà?",
            say_menu="menú",
        ),
    }
)
