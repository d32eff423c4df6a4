"""`botfleet chat --state NAME`: a state the flow does not have is refused before the chat.

It used to print the "Chatting with ..." banner first, then the error, as if the chat had
started and broken at once.
"""

from __future__ import annotations

from cli_helpers import DEMO_TENANT, Invoke


def test_an_unknown_state_is_refused_before_the_banner(invoke: Invoke) -> None:
    result = invoke("chat", DEMO_TENANT, "--state", "BOOK_CONFIRMED", input="hola\n")
    assert result.exit_code == 1
    assert "error: the flow has no state 'BOOK_CONFIRMED' (did you mean 'BOOK_CONFIRM'?)" in (
        result.stderr
    )
    assert "Chatting with" not in result.stdout
    assert "bot>" not in result.stdout


def test_a_known_state_still_starts_there(invoke: Invoke) -> None:
    result = invoke("chat", DEMO_TENANT, "--state", "BOOK_SERVICE", input=":state\n")
    assert result.exit_code == 0, result.output
    assert "Chatting with" in result.stdout
    assert "state: BOOK_SERVICE" in result.stdout
