"""`botfleet cp` pointed at the wrong thing: a URL with ``user:password@`` (httpx sent it as
Basic auth in place of the API key: "HTTP 401: missing API key") is a usage error before any
request; an error answer that is not the control plane's (a web server's 404 page, `http.server`'s
501) is the one "not as the control plane does" line with exit 2, never the page itself."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner, Result

from botfleet.cli.main import app

URL = "http://cp.test"
SECRET = "sk-cli-secret-value-24680"
PASSWORD = "hunter2-pw"
#: A long page, as a real web server's error page is.
PAGE = (
    "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>\n"
    + "<p>The requested URL was not found on this server.</p>\n" * 200
    + "</body></html>"
)
#: What `python -m http.server` answers to a POST.
HTTP_SERVER_501 = (
    '<!DOCTYPE HTML>\n<html lang="en">\n    <head>\n        <meta charset="utf-8">\n'
    "        <title>Error response</title>\n    </head>\n    <body>\n"
    "        <h1>Error response</h1>\n        <p>Error code: 501</p>\n"
    "        <p>Message: Unsupported method ('POST').</p>\n    </body>\n</html>\n"
)


def cp(*args: str, url: str = URL, env_url: bool = True) -> Result:
    env = {"BOTFLEET_API_KEY": SECRET}
    if env_url:
        env["BOTFLEET_CP_URL"] = url
        return CliRunner().invoke(app, ["cp", *args], env=env)
    return CliRunner().invoke(app, ["cp", "--url", url, *args], env=env)


def one_line(text: str) -> str:
    return " ".join(text.replace("│", " ").split())  # typer's error box wraps long lines


@pytest.mark.parametrize(
    "userinfo", [f"admin:{PASSWORD}@", "admin@", f":{PASSWORD}@", f"admin:p@ss{PASSWORD}@"]
)
@pytest.mark.parametrize("env_url", [True, False])
def test_a_url_with_a_user_or_password_is_a_usage_error_before_any_request(
    userinfo: str, env_url: bool
) -> None:
    with respx.mock() as mock:  # no route: a request would fail the test
        result = cp("tenants", "list", url=f"http://{userinfo}cp.test:18401", env_url=env_url)
    assert not mock.calls
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    error = one_line(result.stderr)
    assert PASSWORD not in result.output and SECRET not in result.output
    assert f"Invalid value for {'BOTFLEET_CP_URL' if env_url else '--url'}:" in error
    assert "http://***@cp.test:18401" in error
    assert "the control plane takes an API key (--key or BOTFLEET_API_KEY)" in error
    assert "remove the 'user:password@' part from the URL" in error


def test_provision_only_refuses_a_cp_url_with_a_password_before_any_request(
    tmp_path: Path,
) -> None:
    token = tmp_path / "token"
    with respx.mock() as mock:
        result = CliRunner().invoke(
            app,
            ["demo", "--provision-only", "--token-file", str(token),
             "--cp-url", f"http://admin:{PASSWORD}@cp.test"],
            env={"BOTFLEET_API_KEY": SECRET},
        )  # fmt: skip
    assert not mock.calls
    assert result.exit_code == 2, result.output
    assert PASSWORD not in result.output and SECRET not in result.output
    assert "the control plane takes an API key (BOTFLEET_API_KEY)" in one_line(result.stderr)
    assert not token.exists()


FOREIGN = [
    pytest.param(httpx.Response(404, html=PAGE), "HTTP 404 Not Found with an HTML page "
                 "titled '404 Not Found'", id="404-page"),
    pytest.param(httpx.Response(404), "HTTP 404 Not Found with no body", id="404-empty"),
    pytest.param(httpx.Response(404, json={"error": "no route"}),
                 'HTTP 404 Not Found with JSON but no "detail" message', id="404-json"),
    pytest.param(httpx.Response(404, json=["Not Found"]),
                 'HTTP 404 Not Found with JSON but no "detail" message', id="404-json-list"),
    pytest.param(httpx.Response(404, text="404 page not found\n"),
                 "HTTP 404 Not Found with text '404 page not found'", id="404-text"),
    pytest.param(httpx.Response(501, html=HTTP_SERVER_501), "HTTP 501 Not Implemented with an "
                 "HTML page titled 'Error response'", id="501-http-server"),
    pytest.param(httpx.Response(405, text="Method Not Allowed"),
                 "HTTP 405 Method Not Allowed with text 'Method Not Allowed'", id="405-text"),
    pytest.param(httpx.Response(502, html=PAGE.replace("404 Not Found", "502 Bad Gateway")),
                 "HTTP 502 Bad Gateway with an HTML page titled '502 Bad Gateway'", id="502"),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "reason"), FOREIGN)
def test_an_error_answer_that_is_not_the_control_planes_is_one_line_with_exit_2(
    answer: httpx.Response, reason: str
) -> None:
    """These printed `HTTP 404: Not Found`, or `HTTP 501: ` and the whole page, with exit 1:
    as if the control plane had refused."""
    with respx.mock(assert_all_called=False) as mock:
        mock.route().mock(return_value=answer)
        for args in (["tenants", "list"], ["tenants", "create", "acme"], ["health"]):
            result = cp(*args)
            assert result.exit_code == 2, (args, result.output)
            assert result.stdout == ""
            [line] = result.stderr.splitlines()
            assert line == (
                f"error: {URL} answered, but not as the control plane does: {reason}; "
                "is --url right?"
            )
            assert "<" not in line and len(line) < 200


def test_another_servers_text_is_a_short_excerpt_without_control_characters() -> None:
    body = "\x1b]0;owned\x07oops\u202edesrever\r\nX-Forged: 1\n" + "x" * 500
    with respx.mock() as mock:
        mock.get(f"{URL}/v1/tenants").mock(return_value=httpx.Response(500, text=body))
        result = cp("tenants", "list")
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.isprintable()
    assert "with text ']0;owned oops desrever X-Forged: 1 xxx" in line
    assert "xxx...'; is --url right?" in line
    assert "x" * 100 not in line


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (httpx.Response(404, json={"detail": "tenant 'acme' not found"}),
         "error: HTTP 404: tenant 'acme' not found"),
        (httpx.Response(404, json={"detail": "Not Found"}), "error: HTTP 404: Not Found"),
        (httpx.Response(405, json={"detail": "Method Not Allowed"}),
         "error: HTTP 405: Method Not Allowed"),
        (httpx.Response(422, json={"detail": [{"loc": ["body", "id"], "msg": "bad id"}]}),
         "error: HTTP 422: body.id: bad id"),
    ],
)  # fmt: skip
def test_the_control_planes_own_errors_keep_their_message_and_exit_1(
    answer: httpx.Response, said: str
) -> None:
    with respx.mock() as mock:
        mock.get(f"{URL}/v1/tenants/acme").mock(return_value=answer)
        result = cp("tenants", "show", "acme")
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [said]


def test_apply_creates_nothing_when_another_server_answers_404(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A web server's 404 is no "no such tenant": apply must not go on to create one."""
    monkeypatch.chdir(tmp_path)
    Path("tenant.yaml").write_text("tenant_id: acme\nflow_path: flow.yaml\n")
    Path("flow.yaml").write_text(
        "id: f\ninitial_state: A\nstates:\n  A:\n    on_enter:\n      - action: send_text\n"
        "        text: hi\n    fallback: A\n"
    )
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{URL}/v1/tenants/acme").mock(return_value=httpx.Response(404, html=PAGE))
        created = mock.post(f"{URL}/v1/tenants").mock(return_value=httpx.Response(501))
        result = cp("tenants", "apply", "tenant.yaml")
    assert not created.called
    assert result.exit_code == 2, result.output
    assert "answered, but not as the control plane does: HTTP 404" in result.stderr
