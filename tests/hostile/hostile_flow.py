"""A tenant whose flow is hostile (sandbox escapes, huge loops, oversized formats) and whose
every name and text is non-ASCII: shared by the hostile-input tests of the data plane."""

from __future__ import annotations

from typing import Any

INTERNAL_TOKEN = "internal-token-for-hostile-tests-0123456789"
TENANT_NAME = "Peluquería Ñandú 💇‍♀️ 東京"
BUTTON = "ñandú_🦤"

HOSTILE_TEXTS = [
    "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}boom",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__['os'].environ }}",
    "{{ '%999999999d' % 1 }}{{ '{:999999999}'.format(1) }}",
    "{{ 'x' | center(10**9) }}",
    "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
]

HOSTILE_FLOW: dict[str, Any] = {
    "id": "hostile_ñ",
    "initial_state": "MENU",
    "tasks": {
        "aviso": [{"action": "send_text", "text": "Aviso 🔔 {{ data.nota }}"}],
    },
    "states": {
        "MENU": {
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": "¡Hola {{ contact.name }}! 👋 {{ tenant.name }}",
                    "buttons": [
                        {"id": BUTTON, "title": "Ñandú 🦤"},
                        {"id": "bomb", "title": "💣 Bomba"},
                    ],
                }
            ],
            "transitions": [
                {"on_payload": BUTTON, "target": "ECHO"},
                {"on_payload": "bomb", "target": "BOMB"},
            ],
            # A new contact's first message is matched here: "hola" shows the menu.
            "fallback": "MENU",
        },
        "ECHO": {
            "on_enter": [
                {"action": "set_data", "values": {"last": "{{ message.text or message.payload }}"}},
                {"action": "send_text", "text": "eco: {{ data.last }}"},
            ],
            "transitions": [{"on_payload": "bomb", "target": "BOMB"}],
            "fallback": "ECHO",
        },
        "BOMB": {
            "on_enter": [
                *({"action": "send_text", "text": text} for text in HOSTILE_TEXTS),
                {"action": "set_data", "values": {"blob": "{{ [1, 2] * 10**8 }}"}},
                {"action": "send_text", "text": "sigo aquí ✅"},
            ],
            "fallback": "ECHO",
        },
    },
}
