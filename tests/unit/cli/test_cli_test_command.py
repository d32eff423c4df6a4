"""`botfleet test`: results, exit codes, JUnit XML and the coverage report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import Invoke

Write = Callable[[str, str], Path]

FLOW = """\
id: yesno_v1
initial_state: ASK
states:
  ASK:
    on_enter:
      - action: send_interactive_buttons
        body: "Yes or no?"
        buttons: [{id: "yes", title: "Yes"}, {id: "no", title: "No"}]
    transitions:
      - on_payload: "yes"
        target: AGREED
      - on_payload: "no"
        target: DECLINED
    fallback: ASK
  AGREED:
    on_enter: [{action: send_text, text: "Great!"}]
    next: ASK
  DECLINED:
    on_enter: [{action: send_text, text: "Oh well."}]
    next: ASK
"""

PASSING = """\
name: saying yes
flow: flow.yaml
steps:
  - say: hi
    expect: [{buttons: ["yes", "no"]}]
  - press: "yes"
    expect: ["Great!", "Yes or no?"]
    state: ASK
"""

FAILING = """\
name: saying no
flow: flow.yaml
steps:
  - say: hi
  - press: "no"
    expect: ["Too bad."]
"""


@pytest.fixture
def suite(write: Write) -> Path:
    write("suite/flow.yaml", FLOW)
    return write("suite/yes.yaml", PASSING).parent


def test_passing_tests_exit_0(invoke: Invoke, suite: Path) -> None:
    result = invoke("test", suite)
    assert result.exit_code == 0, result.output
    assert f"PASS  saying yes  ({suite / 'yes.yaml'}, 2 steps)" in result.stdout
    assert "1 passed, 0 failed, 0 error(s)" in result.stdout


def test_a_failure_shows_where_and_what_and_exits_1(
    invoke: Invoke, suite: Path, write: Write
) -> None:
    write("suite/no.yaml", FAILING)
    result = invoke("test", suite)
    assert result.exit_code == 1
    assert f"FAIL  saying no  ({suite / 'no.yaml'}, 2 steps)" in result.stdout
    assert f"      {suite / 'no.yaml'}:5: step 2 (press: no)\n" in result.stdout
    assert "        output 1 text:\n          expected 'Too bad.'\n" in result.stdout
    assert "          got      'Oh well.'\n" in result.stdout
    assert "        expected 1 output(s), the bot sent 2\n" in result.stdout
    assert "1 passed, 1 failed, 0 error(s)" in result.stdout


def test_junit_xml_lists_each_test_with_its_failure(
    invoke: Invoke, suite: Path, write: Write, tmp_path: Path
) -> None:
    write("suite/no.yaml", FAILING)
    write("suite/broken.yaml", "flow: flow.yaml\nsteps:\n  - shout: hi\n")
    report = tmp_path / "reports" / "junit.xml"
    result = invoke("test", suite, "--junit", report)
    assert result.exit_code == 1
    root = ET.parse(report).getroot()
    [testsuite] = root.findall("testsuite")
    assert testsuite.attrib["tests"] == "3"
    assert (testsuite.attrib["failures"], testsuite.attrib["errors"]) == ("1", "1")
    cases = {c.attrib["name"]: c for c in testsuite.findall("testcase")}
    assert set(cases) == {"saying yes", "saying no", "broken"}
    assert list(cases["saying yes"]) == []
    failure = cases["saying no"].find("failure")
    assert failure is not None
    assert failure.attrib["message"] == f"{suite / 'no.yaml'}:5: step 2 (press: no)"
    assert "expected 'Too bad.'" in (failure.text or "")
    error = cases["broken"].find("error")
    assert error is not None and "unknown key 'shout'" in error.attrib["message"]


def test_coverage_report_names_what_no_test_reached(invoke: Invoke, suite: Path) -> None:
    result = invoke("test", suite, "--coverage")
    assert result.exit_code == 0, result.output
    flow = suite / "flow.yaml"
    assert f"coverage of yesno_v1 ({flow})" in result.stdout
    assert "  states         2/3    66.7%" in result.stdout
    assert "  transitions    3/5    60.0%" in result.stdout
    assert (
        "  not exercised:\n"
        f"    states.DECLINED  ({flow}:18)\n"
        f"    states.ASK.transitions[1]  ({flow}:12)\n"
        f"    states.DECLINED.next  ({flow}:20)\n"
    ) in result.stdout


def test_min_coverage_fails_under_the_threshold(invoke: Invoke, suite: Path) -> None:
    low = invoke("test", suite, "--min-coverage", "90")
    assert low.exit_code == 1
    assert "coverage of yesno_v1 is 60.0%, under --min-coverage 90%" in low.stderr
    assert invoke("test", suite, "--min-coverage", "60").exit_code == 0


def test_junit_says_a_coverage_shortfall_and_the_channel_asked(
    invoke: Invoke, suite: Path, tmp_path: Path
) -> None:
    """A run failed for its coverage read as all green in the CI's report, and the reports of
    two `--channel` runs of one suite had the same names."""
    report = tmp_path / "junit.xml"
    low = invoke("test", suite, "--min-coverage", "90", "--channel", "telegram", "--junit", report)
    assert low.exit_code == 1
    [testsuite] = ET.parse(report).getroot().findall("testsuite")
    assert testsuite.attrib["name"] == "botfleet.telegram"
    assert (testsuite.attrib["tests"], testsuite.attrib["failures"]) == ("2", "1")
    by_class = {c.attrib["classname"]: c for c in testsuite.findall("testcase")}
    assert set(by_class) == {"telegram.yes", "coverage"}
    shortfall = by_class["coverage"].find("failure")
    assert shortfall is not None
    assert shortfall.attrib["message"] == "coverage of yesno_v1 is 60.0%, under --min-coverage 90%"


def test_no_tests_found_is_an_error(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("test", tmp_path)
    assert result.exit_code == 1
    assert f"no conversation tests found in {tmp_path}" in result.stderr


def test_runtime_logs_are_off_unless_asked(invoke: Invoke, suite: Path) -> None:
    quiet = invoke("test", suite)
    assert "connector" not in quiet.stderr and "step" not in quiet.stderr
    loud = invoke("test", suite, "--log-level", "debug")
    assert loud.exit_code == 0


def test_a_broken_test_in_a_folder_is_an_error_and_skipped_files_are_named(
    invoke: Invoke, suite: Path, write: Write
) -> None:
    write("suite/typo.yaml", "flow: flow.yaml\nstep:\n  - say: hi\n")
    write("suite/test_empty.yaml", "")
    write("suite/tenant.yaml", "tenant_id: t1\nflow_path: flow.yaml\n")
    write("suite/notes.yaml", "owner: ana\n")
    result = invoke("test", suite)
    assert result.exit_code == 1
    assert f"ERROR typo  ({suite / 'typo.yaml'}, 0 steps)" in result.stdout
    assert f"{suite / 'typo.yaml'}:2 step: unknown key 'step' (did you mean 'steps'?)" in (
        result.stdout
    )
    assert f"ERROR test_empty  ({suite / 'test_empty.yaml'}, 0 steps)" in result.stdout
    assert "1 passed, 0 failed, 2 error(s)" in result.stdout
    assert result.stderr == (
        f"skipped {suite / 'flow.yaml'}: a flow, not a conversation test\n"
        f"skipped {suite / 'notes.yaml'}: no 'steps', 'tenant' or 'flow' key, not a "
        "conversation test\n"
        f"skipped {suite / 'tenant.yaml'}: a tenant file, not a conversation test\n"
    )


def test_a_test_file_that_is_not_utf8_is_an_error_not_a_traceback(
    invoke: Invoke, suite: Path
) -> None:
    """A Latin-1 file among the tests used to stop the whole run with a UnicodeDecodeError."""
    (suite / "test_latin1.yaml").write_bytes("name: caf\xe9\nflow: flow.yaml\n".encode("latin-1"))
    result = invoke("test", suite)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    latin1 = suite / "test_latin1.yaml"
    assert f"ERROR test_latin1  ({latin1}, 0 steps)" in result.stdout
    assert f"{latin1}:1: not UTF-8 text: byte 0xe9 at line 1, column 10" in result.stdout
    assert "1 passed, 0 failed, 1 error(s)" in result.stdout


def test_junit_to_a_folder_is_refused_before_running(invoke: Invoke, suite: Path) -> None:
    result = invoke("test", suite, "--junit", suite)
    assert result.exit_code == 2
    assert result.stdout == ""  # no test ran
    # Without blanks: the error box breaks a long path anywhere (pytest-xdist's are longer).
    said = "".join(result.stderr.replace("│", " ").split())
    assert "".join(f"cannot write {suite}: Is a directory".split()) in said


@pytest.mark.parametrize("command", ["test", "chat"])
def test_an_unknown_log_level_is_a_usage_error(invoke: Invoke, suite: Path, command: str) -> None:
    """`--log-level verbose` used to be taken as info, silently."""
    target = suite if command == "test" else suite / "flow.yaml"
    result = invoke(command, target, "--log-level", "verbose", input="")
    assert result.exit_code == 2
    assert "'verbose' is not one of" in result.stderr
    assert invoke(command, target, "--log-level", "WARNING", input="").exit_code == 0
