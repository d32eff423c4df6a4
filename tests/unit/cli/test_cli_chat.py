"""`botfleet chat`: a terminal conversation driven here by piped input (CliRunner)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cli_helpers import DEMO_TENANT, Invoke

MONDAY = ("--at", "2024-05-06T09:00")
MENU = "bot> [buttons] Hi! Welcome to Bella Hair Studio. What would you like to do?"


def test_a_conversation_with_numbered_choices(invoke: Invoke) -> None:
    result = invoke("chat", DEMO_TENANT, *MONDAY, input="hola\n1\n1\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Chatting with Bella Hair Studio (flow hairdresser_demo_v1) as terminal" in out
    assert "clock frozen at 2024-05-06T09:00:00+02:00" in out
    assert (
        "you> hola\n"
        f"{MENU}\n"
        "     1. Book appointment  (menu_book)\n"
        "     2. My appointments  (menu_view)\n"
        "     3. Cancel appointment  (menu_cancel)\n"
        "you> 1\n"
        "bot> [list] Which service would you like?\n"
        "     1. Haircut - 30 min · 18 €  (service_haircut)\n"
    ) in out
    assert "you> 1\nbot> [list] Which day works for you for a haircut?\n" in out
    assert "     1. Mon 6 May  (day_2024-05-06)\n" in out
    assert out.endswith("you> \n")  # the end of the input ends the chat


def test_commands_show_state_and_data_reset_and_quit(invoke: Invoke) -> None:
    script = "hi\n:press menu_book\n:state\n:press service_beard\n:data\n:reset\n:state\n:quit\nx\n"
    result = invoke("chat", DEMO_TENANT, *MONDAY, input=script)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "you> :state\nstate: BOOK_SERVICE\n" in out
    assert "selected_service: beard\nservice_duration_min: 30\nservice_name: Beard trim\n" in out
    assert "you> :reset\n(conversation forgotten: your next message starts over)\n" in out
    assert "you> :state\nstate: MENU\n" in out
    assert "you> x" not in out  # nothing is read after :quit


def test_starting_in_a_state_with_data(invoke: Invoke) -> None:
    result = invoke(
        "chat",
        DEMO_TENANT,
        *MONDAY,
        "--state",
        "BOOK_CONFIRM",
        "--data",
        "selected_slot=2024-05-07_1100",
        "--data",
        "selected_date=2024-05-07",
        "--data",
        "service_name=Colour",
        "--data",
        "service_price=45",
        "--data",
        "service_duration_min=90",
        "--data",
        "service_presence_min=120",
        "--name",
        "Ana",
        input=":data\n2\n",
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "bot> [buttons] Colour on 2024-05-07 at 11:00 (45 €). Shall I book it?\n" in out
    assert "selected_date: '2024-05-07'\n" in out  # kept as text, not a date
    assert "service_price: 45\n" in out  # read as a number
    assert "you> 2\nbot> [list] What time on 2024-05-07?" in out  # "No, go back": the times


def test_free_text_goes_to_the_tenants_mock_llm_and_time_moves_on_request(
    invoke: Invoke,
) -> None:
    script = (
        "hi\nwhen are you open?\n1\n1\n:press day_2024-05-07\n:press hour_2024-05-07_1000\n"
        "1\n:wait 1h\n"
    )
    result = invoke("chat", DEMO_TENANT, *MONDAY, input=script)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "you> when are you open?\nbot> Opening hours: Monday to Friday" in out
    assert "bot> ✅ Booked: Haircut on Tue 7 May at 10:00. See you then!" in out
    assert (
        "you> :wait 1h\n(now 2024-05-06T10:00:00+02:00)\n"
        "bot> Reminder: your Haircut appointment is tomorrow at 10:00." in out
    )


def test_a_flow_file_runs_as_a_local_tenant(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    flow = write(
        "echo.yaml",
        """\
        id: echo_v1
        initial_state: ECHO
        states:
          ECHO:
            on_enter: [{action: send_text, text: "You said: {{ message.text }}"}]
            fallback: ECHO
        """,
    )
    result = invoke("chat", flow, input="hello\n:help\n:bogus\n")
    assert result.exit_code == 0, result.output
    assert "you> hello\nbot> You said: hello\n" in result.stdout
    assert ":wait DURATION" in result.stdout
    assert "unknown command ':bogus'" in result.stdout


def test_bad_arguments_are_reported(invoke: Invoke, tmp_path: Path) -> None:
    unknown = invoke("chat", DEMO_TENANT, "--state", "BOOK_CONFIRMED", input="")
    assert unknown.exit_code == 1
    assert "the flow has no state 'BOOK_CONFIRMED' (did you mean 'BOOK_CONFIRM'?)" in (
        unknown.stderr
    )
    data = invoke("chat", DEMO_TENANT, "--data", "novalue", input="")
    assert data.exit_code == 1
    assert "--data 'novalue': expected KEY=VALUE" in data.stderr
    when = invoke("chat", DEMO_TENANT, "--at", "monday", input="")
    assert when.exit_code == 1
    assert "--at 'monday': expected a date and time such as 2024-05-06T09:00" in when.stderr
    # An instant given with another offset is shown on the tenant's clocks (Madrid), as `now`.
    utc = invoke("chat", DEMO_TENANT, "--at", "2024-05-06T07:00+00:00", input="")
    assert "clock frozen at 2024-05-06T09:00:00+02:00" in utc.stdout
    # Madrid's clocks go from 02:00 to 03:00 on 2024-03-31: 02:30 is shown as the clocks
    # read that instant, not as a time they never show (02:30+01:00).
    gap = invoke("chat", DEMO_TENANT, "--at", "2024-03-31T02:30", input="")
    assert "clock frozen at 2024-03-31T03:30:00+02:00" in gap.stdout
    missing = invoke("chat", tmp_path / "nope.yaml", input="")
    assert missing.exit_code == 1
    assert "nope.yaml: cannot read" in missing.stderr


def test_a_connector_without_a_mock_fails_its_calls(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    flow = write(
        "crm.yaml",
        """\
        id: crm_v1
        initial_state: LOOKUP
        states:
          LOOKUP:
            on_enter:
              - action: invoke_connector
                connector: mock
                operation: find
                on_error: {text: "The directory is down."}
            fallback: LOOKUP
        """,
    )
    result = invoke("chat", flow, input="hi\n")
    assert result.exit_code == 0, result.output
    assert "note: connector 'mock' has no mock here: its calls fail" in result.stdout
    # The failed call is said in the transcript, before what it made the bot say.
    assert "you> hi\n! mock.find: unknown_operation connector 'mock' has no operation 'find'" in (
        result.stdout
    )
    assert " in states.LOOKUP.on_enter[0]\nbot> The directory is down.\n" in result.stdout


def test_a_tenant_that_cannot_run_is_reported_as_validate_reports_it(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    flow = write("flow.yaml", "id: x\ninitial_state: A\nstates:\n  A: {fallback: B}\n")
    broken = write("broken.yaml", "tenant_id: t1\nflow_path: flow.yaml\n")
    result = invoke("chat", broken, input="hi\n")
    assert (result.exit_code, result.stdout) == (1, "")
    assert isinstance(result.exception, SystemExit)  # an exit, not a traceback
    assert result.stderr == f"{flow}:4 states.A.fallback: unknown state 'B'\n"
    assert invoke("validate", broken).stderr.startswith(result.stderr)

    missing = write(
        "missing.yaml", "tenant_id: t1\nflow_path: shopp.yaml\nknowledge_path: faq.md\n"
    )
    result = invoke("chat", missing, input="hi\n")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr == (
        f"{missing}:2 flow_path: file not found: {missing.parent / 'shopp.yaml'}\n"
        f"{missing}:3 knowledge_path: file not found: {missing.parent / 'faq.md'}\n"
    )


TYPO_FLOW = """\
id: typo_v1
initial_state: DONE
states:
  DONE:
    on_enter: [{action: send_text, text: "Booked at {{ data.selected_tme }}."}]
    fallback: DONE
"""


def test_the_flows_warnings_are_shown_in_the_transcript(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    flow = write("typo.yaml", TYPO_FLOW)
    result = invoke("chat", flow, input="hi\n")
    assert result.exit_code == 0, result.output
    assert (
        "you> hi\n! missing value 'selected_tme' in states.DONE.on_enter[0].text\n"
        "bot> Booked at .\n"
    ) in result.stdout
    # With --log-level the rest of the log is on stderr, without the line already shown.
    logged = invoke("chat", flow, "--log-level", "debug", input="hi\n")
    assert "! missing value 'selected_tme'" in logged.stdout
    assert "template_missing_value" not in logged.stderr
    booking = invoke("chat", DEMO_TENANT, *MONDAY, "--log-level", "info", input="hi\n1\n1\n")
    assert "connector_call_finished" in booking.stderr


def test_flow_notices_are_the_flows_own_events() -> None:
    from botfleet.cli.chat_session import flow_notice

    # A skip's detail says what was not scheduled and why (`rules.passed_detail`).
    detail = "schedule_task 'reminder' (key 'r:1'): its time ... had passed: not scheduled"
    skipped = {"event": "schedule_task_skipped", "task": "reminder", "detail": detail}
    assert flow_notice(skipped) == f"! {detail}"
    rejected = {"event": "schedule_task_rejected", "task": "reminder", "detail": "bad key"}
    assert flow_notice(rejected) == "! task 'reminder' not scheduled: bad key"
    assert flow_notice({"event": "connector_call_finished", "outcome": "ok"}) is None


def test_a_command_without_its_argument_shows_its_usage(invoke: Invoke) -> None:
    result = invoke("chat", DEMO_TENANT, *MONDAY, input=":press\n:wait \n")
    assert result.exit_code == 0, result.output
    assert "you> :press\nusage: :press ID  (e.g. :press menu_book)\n" in result.stdout
    assert "you> :wait \nusage: :wait DURATION  (e.g. :wait 2h)\n" in result.stdout
    assert "unknown command" not in result.stdout


def test_a_command_that_takes_no_argument_says_so_and_does_nothing(invoke: Invoke) -> None:
    # `:data lang=nl` once showed the data as if it had set `lang`; `:reset all` reset.
    script = "hi\n:press menu_book\n:data lang=nl\n:reset all\n:state now\n:data\n"
    result = invoke("chat", DEMO_TENANT, *MONDAY, input=script)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert (
        "you> :data lang=nl\n"
        "error: :data takes no argument: it shows the conversation's data (to start with "
        "values in it: botfleet chat --data KEY=VALUE); nothing was done\n"
        "you> :reset all\n"
        "error: :reset takes no argument: it forgets this conversation; nothing was done\n"
        "you> :state now\n"
        "error: :state takes no argument: it shows the state the conversation is in; nothing "
        "was done\n"
        "you> :data\n"
    ) in out
    assert "lang:" not in out
    assert "(conversation forgotten" not in out
