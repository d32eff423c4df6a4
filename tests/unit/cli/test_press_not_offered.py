"""A conversation test's `press:` of an id the bot did not offer fails at that step, naming the
options that were shown, instead of at some later check."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from botfleet.testing.conversation import ConversationResult, run_conversation_test

Run = Callable[[str], ConversationResult]

FLOW = """\
id: menu_v1
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "What would you like?"
        buttons: [{id: menu_book, title: Book}, {id: menu_cancel, title: Cancel}]
    transitions:
      - on_payload: menu_book
        target: BOOK
      - on_payload: menu_cancel
        target: MENU
    fallback: MENU
  BOOK:
    on_enter:
      - action: send_interactive_list
        body: "Which day?"
        button_label: Days
        sections:
          - title: Days
            rows: [{id: day_mon, title: Monday}, {id: day_tue, title: Tuesday}]
    transitions:
      - on_payload_prefix: day_
        extract_suffix_as: day
        target: DONE
    fallback: BOOK
  DONE:
    on_enter:
      - action: send_text
        text: "Booked {{ data.day }}"
    next: MENU
"""


@pytest.fixture
def run(tmp_path: Path) -> Run:
    (tmp_path / "flow.yaml").write_text(FLOW, encoding="utf-8")

    def run_steps(steps: str) -> ConversationResult:
        test = tmp_path / "t.yaml"
        test.write_text("flow: flow.yaml\nsteps:\n" + dedent(steps), encoding="utf-8")
        return asyncio.run(run_conversation_test(test))

    return run_steps


def test_a_press_not_offered_fails_at_that_step_listing_the_options(run: Run) -> None:
    result = run(
        """\
        - say: hi
        - press: menu_bok
        - press: day_mon
          state: DONE
        """
    )
    assert result.status == "failed"
    assert result.steps == 2
    assert "step 2 (press: menu_bok)" in result.message
    assert "press: 'menu_bok' was not offered (did you mean 'menu_book'?)" in result.message
    assert "menu_book  (Book)" in result.message
    assert "menu_cancel  (Cancel)" in result.message


def test_a_press_not_offered_with_failing_checks_says_so_first(run: Run) -> None:
    result = run(
        """\
        - say: hi
        - press: day_mon          # the days are not shown yet
          state: DONE
        """
    )
    assert result.status == "failed"
    assert result.steps == 2
    first, second = result.message.splitlines()[1:3]
    assert "press: 'day_mon' was not offered" in first
    assert second.strip() == "menu_book  (Book)"
    assert "state: expected DONE, got MENU" in result.message


def test_a_press_not_offered_on_purpose_passes_when_the_step_checks_it(run: Run) -> None:
    result = run(
        """\
        - say: hi
        - press: menu_book
        - press: menu_cancel      # a button of the older menu: the list's fallback shows again
          expect: [{text: "Which day?"}]
          state: BOOK
        - press: day_tue
          state: MENU
        """
    )
    assert result.passed, result.message


def test_any_id_may_be_pressed_before_a_menu_was_shown(run: Run) -> None:
    result = run(
        """\
        - press: menu_book        # a payload as the first message
        - press: day_tue
          data: {day: tue}
        """
    )
    assert result.passed, result.message


def test_options_of_every_menu_of_the_last_turn_count(tmp_path: Path) -> None:
    flow = FLOW.replace(
        """      - action: send_text
        text: "Booked {{ data.day }}"
""",
        """      - action: send_text
        text: "Booked {{ data.day }}"
      - action: send_interactive_buttons
        body: "Rate us"
        buttons: [{id: rate_good, title: Good}]
""",
    )
    (tmp_path / "flow.yaml").write_text(flow, encoding="utf-8")
    test = tmp_path / "t.yaml"
    test.write_text(
        dedent(
            """\
            flow: flow.yaml
            steps:
              - say: hi
              - press: menu_book
              - press: day_mon       # Booked, Rate us, then the menu: two menus in one turn
              - press: rate_good     # a button of the first of them
            """
        ),
        encoding="utf-8",
    )
    result = asyncio.run(run_conversation_test(test))
    assert result.passed, result.message
