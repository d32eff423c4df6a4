"""`botfleet cp` and `botfleet demo --provision-only` with a control plane that answers wrongly,
a malformed API key or bad local input: one error line, a non-zero exit, no traceback, no key."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner, Result

from botfleet.cli.main import app

URL = "http://cp.test"
SECRET = "sk-cli-secret-value-13579"


def cp(*args: str, key: str = SECRET, url: str = URL) -> Result:
    env = {"BOTFLEET_CP_URL": url, "BOTFLEET_API_KEY": key}
    return CliRunner().invoke(app, ["cp", *args], env=env)


def one_line(text: str) -> str:
    return " ".join(text.replace("│", " ").split())  # typer's error box wraps long lines


def assert_clean_failure(result: Result, code: int) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and "╭─ Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    assert SECRET not in result.output


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A local port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (httpx.Response(200, text="<html>It works!</html>"), "not JSON"),
        (httpx.Response(200, json={"foo": 1}), "e.g. the body: Input should be a valid list"),
    ],
)
def test_an_answer_that_is_not_the_control_planes_api_is_one_error_line(
    answer: httpx.Response, said: str
) -> None:
    """A wrong --url (a web server, another API) used to end in a JSONDecodeError or a
    pydantic ValidationError traceback."""
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{URL}/v1/tenants").mock(return_value=answer)
        mock.get(f"{URL}/health").mock(return_value=answer)
        for args in (["tenants", "list"], ["health"]):
            result = cp(*args)
            assert_clean_failure(result, 2)
            [line] = result.stderr.splitlines()
            assert line.startswith(f"error: {URL} answered, but not as the control plane")
            assert "is --url right?" in line
            if args == ["tenants", "list"]:
                assert said in line


@pytest.mark.parametrize("key", [f"{SECRET}\nmore", f"{SECRET}\r\nX-Other: 1", f" {SECRET}é"])
def test_a_malformed_api_key_is_refused_without_being_shown(key: str, listening_port: int) -> None:
    """A key with a newline in it was shown in full in the error (`LocalProtocolError: Illegal
    header value b'Bearer sk-...'`); a non-ASCII one ended in a UnicodeEncodeError traceback."""
    url = f"http://127.0.0.1:{listening_port}"
    result = cp("--timeout", "2", "tenants", "list", key=key, url=url)
    assert result.exit_code == 2, result.output
    assert SECRET not in result.output
    assert "Traceback" not in result.output
    assert "API key" in one_line(result.stderr)


def test_surrounding_whitespace_of_a_key_is_dropped() -> None:
    with respx.mock() as mock:
        route = mock.get(f"{URL}/v1/tenants").mock(return_value=httpx.Response(200, json=[]))
        result = cp("tenants", "list", key=f"  {SECRET}\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {SECRET}"


def test_errors_never_show_the_key_nor_a_password_in_the_url() -> None:
    with respx.mock() as mock:
        mock.get("http://cp.test/v1/tenants").mock(
            return_value=httpx.Response(401, json={"detail": f"bad key {SECRET}"})
        )
        result = cp("tenants", "list")
        # A password in the URL is refused before any request (test_cli_cp_wrong_url.py).
        in_url = cp("tenants", "list", url="http://admin:hunter2@cp.test")
    assert result.exit_code == 1
    assert SECRET not in result.output
    assert "HTTP 401" in result.stderr
    assert in_url.exit_code == 2
    assert SECRET not in in_url.output and "hunter2" not in in_url.output


def test_a_timeout_is_an_error_line_with_exit_2(listening_port: int) -> None:
    result = cp("--timeout", "0.2", "tenants", "list", url=f"http://127.0.0.1:{listening_port}")
    assert_clean_failure(result, 2)
    assert "cannot reach the control plane" in result.stderr
    assert "Timeout" in result.stderr


@pytest.mark.parametrize("timeout", ["0", "-1"])
def test_a_timeout_that_is_not_positive_is_a_usage_error(timeout: str) -> None:
    result = cp("--timeout", timeout, "tenants", "list")
    assert result.exit_code == 2, result.output
    assert "--timeout" in one_line(result.stderr)


def test_invalid_tenant_fields_are_usage_errors_before_any_call() -> None:
    """`--timezone Mars/Olympus` used to end in a pydantic ValidationError traceback."""
    with respx.mock() as mock:  # no route: a request would fail the test
        created = cp("tenants", "create", "acme", "--timezone", "Mars/Olympus")
        updated = cp("tenants", "update", "acme", "--timezone", "Mars/Olympus")
    for result in (created, updated):
        assert_clean_failure(result, 2)
        assert "timezone: unknown time zone 'Mars/Olympus'" in one_line(result.stderr)
    assert not mock.calls


def test_export_to_a_folder_or_a_missing_folder_is_an_error_naming_the_file(
    tmp_path: Path,
) -> None:
    with respx.mock() as mock:
        mock.get(f"{URL}/v1/tenants/acme/export").mock(
            return_value=httpx.Response(200, json={"tenant": {"id": "acme"}})
        )
        into_folder = cp("tenants", "export", "acme", "-o", str(tmp_path))
        nested = tmp_path / "backups" / "acme.json"
        created = cp("tenants", "export", "acme", "-o", str(nested))
    assert_clean_failure(into_folder, 2)
    assert f"cannot write {tmp_path}: Is a directory" in one_line(into_folder.stderr)
    assert created.exit_code == 0, created.output
    assert json.loads(nested.read_text())["tenant"]["id"] == "acme"


def test_provision_only_with_the_control_plane_down_is_one_error_line(
    closed_port: int, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["demo", "--provision-only", "--token-file", str(tmp_path / "token"),
         "--cp-url", f"http://127.0.0.1:{closed_port}"],
        env={"BOTFLEET_API_KEY": SECRET},
    )  # fmt: skip
    assert_clean_failure(result, 2)
    assert f"cannot reach the control plane at http://127.0.0.1:{closed_port}" in result.stderr
    assert not (tmp_path / "token").exists()


def test_a_tenant_file_that_cannot_be_read_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tenants apply` used to say `x.yaml: -: cannot read file: ...`, give a codec error that
    named no file, or dump PyYAML's multi-line error."""
    monkeypatch.chdir(tmp_path)  # short relative names, which the error box does not break
    Path("binary.yaml").write_bytes(b"tenant_id: t1\n\xff\xfe\n")
    Path("broken.yaml").write_text("tenant_id: t1\nflow_path: f.yaml\nname: [unclosed\n")
    Path("list.yaml").write_text("- tenant_id: t1\n")
    Path("folder").mkdir()
    Path("to_folder.yaml").write_text("tenant_id: t1\nflow_path: folder\n")
    Path("to_missing.yaml").write_text("tenant_id: t1\n\nflow_path: shopp.yaml\n")
    Path("f.yaml").write_text("id: x\n")
    Path("faq.md").write_bytes(b"\xff")
    Path("bad_faq.yaml").write_text("tenant_id: t1\nflow_path: f.yaml\nknowledge_path: faq.md\n")
    expected = {
        "missing.yaml": "missing.yaml: file not found",
        "folder": "folder: is a directory, not a file",
        "binary.yaml": "binary.yaml: not UTF-8 text (invalid start byte at byte 14)",
        "broken.yaml": "broken.yaml:3 name: invalid YAML: the `[` opened on this line is not "
        "closed",
        "list.yaml": "list.yaml:1: a tenant file must be a mapping",
        "to_folder.yaml": "to_folder.yaml:2 flow_path: is a directory, not a file: folder",
        "to_missing.yaml": "to_missing.yaml:3 flow_path: file not found: shopp.yaml",
        "bad_faq.yaml": "bad_faq.yaml:3 knowledge_path: not UTF-8 text (invalid start byte "
        "at byte 0): faq.md",
    }
    with respx.mock() as mock:  # no route: a request would fail the test
        for name, said in expected.items():
            result = cp("tenants", "apply", name)
            assert_clean_failure(result, 2)
            error = one_line(result.stderr)
            assert f"Invalid value for TENANT_YAML: {said}" in error, error
            assert " -: " not in error and "codec" not in error and 'in "<unicode' not in error
    assert not mock.calls


def test_rotate_keys_that_skipped_rows_prints_the_answer_names_them_and_exits_1() -> None:
    with respx.mock() as mock:
        route = mock.post(f"{URL}/v1/admin/rotate-keys")
        route.mock(return_value=httpx.Response(200, json={"rotated": 3, "skipped": []}))
        clean = cp("rotate-keys")
        answer = {"rotated": 2, "skipped": ["acme/llm", "shop/data_plane"]}
        route.mock(return_value=httpx.Response(200, json=answer))
        skipped = cp("rotate-keys")
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout) == {"rotated": 3, "skipped": []} and clean.stderr == ""
    assert skipped.exit_code == 1, skipped.output
    assert json.loads(skipped.stdout) == answer
    [line] = skipped.stderr.splitlines()
    assert line.startswith("error: 2 credential row(s) no configured key can decrypt")
    assert "acme/llm, shop/data_plane" in line
    assert SECRET not in skipped.output
