"""`llm_unanswered`: a question the knowledge document did not answer moves the contact to the
state the flow names (after `llm_unanswered_after` of them in a row); the engine asks the shell
for the question's outcome (`AskLLM.report`) and decides on `LLMReplied`."""

from __future__ import annotations

import pytest

from botfleet.flows.effects import AskLLM, CallConnector
from botfleet.flows.events import ConnectorReplied, LLMReplied
from botfleet.testing.engine import Conversation, Exchange, flow_from_yaml

FLOW = flow_from_yaml(
    """
    id: school
    initial_state: MENU
    settings:
      llm_fallback_text: "I don't know that one."
    states:
      MENU:
        on_enter:
          - action: send_interactive_buttons
            body: "Courses, or ask me anything"
            buttons: [{id: courses, title: Courses}, {id: faq, title: Questions}]
        transitions:
          - {on_payload: courses, target: COURSES}
          - {on_payload: faq, target: FAQ}
        fallback: MENU
      FAQ:
        llm_fallback: true
        llm_unanswered: HANDOFF_ASK
        on_enter: [{action: send_text, text: "Ask away"}]
        transitions:
          - {on_payload: menu, target: MENU}
        fallback: FAQ
      TWICE:
        llm_fallback: true
        llm_unanswered: HANDOFF_ASK
        llm_unanswered_after: 2
        on_enter: [{action: send_text, text: "Ask twice"}]
        transitions:
          - {on_payload: again, target: TWICE}
          - {on_payload: menu, target: MENU}
        fallback: TWICE
      PLAIN:
        llm_fallback: true
        fallback: PLAIN
      HANDOFF_ASK:
        on_enter:
          - action: send_interactive_buttons
            body: "You asked: {{ message.text }}. Shall I pass you to a person?"
            buttons: [{id: human_yes, title: "Yes please"}, {id: human_no, title: "No thanks"}]
        transitions:
          - {on_payload: human_yes, target: HANDOFF}
          - {on_payload: human_no, target: FAQ}
        fallback: HANDOFF_ASK
      HANDOFF:
        on_enter:
          - action: invoke_connector
            connector: notification
            operation: send
            params: {text: "{{ contact.id }} wants a person"}
          - action: send_text
            text: "A person will write to you soon."
      COURSES:
        on_enter: [{action: send_text, text: "Spanish, French"}]
        next: MENU
    """
)

#: Every outcome but `answered` and the two of no question: the document did not answer it.
UNANSWERED = [
    "out_of_scope",
    "malformed_reply",
    "rules_leaked",
    "prompt_tags_in_answer",
    "structured_reply_in_answer",
    "empty_answer",
    "over_quota",
    "over_daily_quota",
    "over_contact_quota",
    "no_knowledge",
    "unavailable",
    "timeout",
    "rate_limited",
    "rejected",
    "circuit_open",
    "error",
    "crash",
    "disabled",
]


def chat_in(node: str) -> Conversation:
    return Conversation(FLOW, llm_available=True).at(node)


def ask(chat: Conversation, question: str, outcome: str) -> tuple[Exchange, Exchange]:
    """The contact asks; the shell reports `outcome` as the runtime does."""
    asked = chat.send(question)
    [effect] = asked.effects
    assert isinstance(effect, AskLLM)
    assert effect.report and effect.message is not None
    return asked, chat.resume(LLMReplied(effect.state, outcome, effect.message))


def test_a_state_with_llm_unanswered_asks_for_the_outcome_with_its_message() -> None:
    chat = chat_in("FAQ")
    exchange = chat.send("Do you teach Japanese?")
    [effect] = exchange.effects
    assert isinstance(effect, AskLLM)
    assert (effect.question, effect.state, effect.fallback_text) == (
        "Do you teach Japanese?",
        "FAQ",
        "I don't know that one.",
    )
    assert effect.report is True
    assert effect.message is not None and effect.message.text == "Do you teach Japanese?"
    assert exchange.fired == ("states.FAQ.llm_fallback",)


def test_a_state_without_it_asks_as_before() -> None:
    exchange = chat_in("PLAIN").send("Do you teach Japanese?")
    assert exchange.effects == (
        AskLLM("Do you teach Japanese?", "PLAIN", "I don't know that one."),
    )


def test_an_out_of_scope_question_enters_the_state_named() -> None:
    chat = chat_in("FAQ")
    _, replied = ask(chat, "Do you teach Japanese?", "out_of_scope")
    assert replied.fired == ("states.FAQ.llm_unanswered",)
    assert replied.entered == ("HANDOFF_ASK",)
    assert replied.texts == ["You asked: Do you teach Japanese?. Shall I pass you to a person?"]
    assert replied.option_ids == ["human_yes", "human_no"]
    assert chat.state.node == "HANDOFF_ASK"
    # The question was recorded once, by the step that asked; the offer after it.
    assert [(t.role, t.text) for t in chat.state.history][-2:] == [
        ("user", "Do you teach Japanese?"),
        ("bot", "You asked: Do you teach Japanese?. Shall I pass you to a person?"),
    ]
    # The offer's buttons answer by number too.
    assert chat.send("2").entered == ("FAQ",)


@pytest.mark.parametrize("outcome", UNANSWERED)
def test_every_unanswered_outcome_counts(outcome: str) -> None:
    chat = chat_in("FAQ")
    _, replied = ask(chat, "Do you teach Japanese?", outcome)
    assert replied.entered == ("HANDOFF_ASK",)


@pytest.mark.parametrize("outcome", ["answered", "question_too_long", "empty_question"])
def test_an_answer_or_no_question_at_all_moves_nothing(outcome: str) -> None:
    chat = chat_in("FAQ")
    asked, replied = ask(chat, "When do classes start?", outcome)
    assert (replied.entered, replied.fired, replied.outputs) == ((), (), ())
    assert chat.state.node == "FAQ"
    assert chat.state.data == asked.state.data


def test_a_connector_call_of_the_state_entered_runs_as_on_any_entry() -> None:
    chat = chat_in("FAQ")
    ask(chat, "Do you teach Japanese?", "timeout")
    pressed = chat.press("human_yes")
    [call] = [e for e in pressed.effects if isinstance(e, CallConnector)]
    assert call.operation == "send"
    done = chat.resume(ConnectorReplied(call.request_id, {"sent": True}))
    assert done.texts == ["A person will write to you soon."]


def test_after_two_the_first_miss_is_counted_and_the_second_enters() -> None:
    chat = chat_in("TWICE")
    _, first = ask(chat, "Do you teach Japanese?", "out_of_scope")
    assert (first.entered, first.outputs) == ((), ())
    assert chat.state.node == "TWICE"
    assert chat.state.data["llm_unanswered_count"] == 1
    _, second = ask(chat, "And Korean?", "out_of_scope")
    assert second.entered == ("HANDOFF_ASK",)
    assert second.fired == ("states.TWICE.llm_unanswered",)
    assert "llm_unanswered_count" not in chat.state.data  # entering a state starts it again


def test_an_answered_question_starts_the_count_again() -> None:
    chat = chat_in("TWICE")
    ask(chat, "Do you teach Japanese?", "out_of_scope")
    ask(chat, "When do classes start?", "answered")
    assert "llm_unanswered_count" not in chat.state.data
    _, again = ask(chat, "And Korean?", "out_of_scope")
    assert again.entered == ()
    assert chat.state.data["llm_unanswered_count"] == 1


def test_a_question_too_long_neither_counts_nor_starts_the_count_again() -> None:
    chat = chat_in("TWICE")
    ask(chat, "Do you teach Japanese?", "out_of_scope")
    ask(chat, "x " * 300, "question_too_long")
    assert chat.state.data["llm_unanswered_count"] == 1
    _, second = ask(chat, "And Korean?", "rate_limited")
    assert second.entered == ("HANDOFF_ASK",)


def test_entering_the_state_again_starts_the_count_again() -> None:
    chat = chat_in("TWICE")
    ask(chat, "Do you teach Japanese?", "out_of_scope")
    assert chat.press("again").entered == ("TWICE",)
    assert "llm_unanswered_count" not in chat.state.data
    _, first = ask(chat, "And Korean?", "out_of_scope")
    assert first.entered == ()
    assert chat.state.data["llm_unanswered_count"] == 1
    chat.press("menu")  # leaving it too
    assert "llm_unanswered_count" not in chat.state.data


def test_a_count_a_flow_overwrote_with_something_else_counts_from_zero() -> None:
    chat = chat_in("TWICE").with_data(llm_unanswered_count="lots")
    _, first = ask(chat, "Do you teach Japanese?", "out_of_scope")
    assert first.entered == ()
    assert chat.state.data["llm_unanswered_count"] == 1


def test_a_report_for_another_state_changes_nothing() -> None:
    chat = chat_in("FAQ")
    asked = chat.send("Do you teach Japanese?")
    [effect] = asked.effects
    assert isinstance(effect, AskLLM) and effect.message is not None
    replied = chat.resume(LLMReplied("TWICE", "out_of_scope", effect.message))
    assert (replied.entered, replied.outputs) == ((), ())
    assert chat.state.node == "FAQ"
