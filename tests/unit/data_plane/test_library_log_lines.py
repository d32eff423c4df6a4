"""Every line a data plane writes is JSON (`DP_LOG_JSON`), libraries' stdlib lines included,
and no library line carries a secret."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest
import structlog

from botfleet.observability import LibraryLogHandler, configure_logging

BOT_TOKEN = "123456:AAH-secret_TOKEN"
BOOT_TOKEN = "bt_s3cr3t-boot"


@pytest.fixture
def stdout() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    names = ("", "httpx", "httpcore", "httpx2", "httpcore2")
    levels = {name: logging.getLogger(name).level for name in names}
    previous = structlog.get_config()
    stream = io.StringIO()
    try:
        yield stream
    finally:
        for handler in [h for h in root.handlers if isinstance(h, LibraryLogHandler)]:
            root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        logging.captureWarnings(False)
        structlog.configure(**previous)


def lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line]


def test_library_lines_are_json_with_level_logger_and_time(stdout: io.StringIO) -> None:
    configure_logging("info", json=True, stream=stdout)
    logging.getLogger("apscheduler.scheduler").info("Scheduler started")
    logging.getLogger("uvicorn.error").warning("something %s", "odd")
    structlog.get_logger("botfleet.runtime").info("own_line", tenant="acme")
    parsed = [json.loads(line) for line in lines(stdout)]
    assert [(p["event"], p["level"]) for p in parsed] == [
        ("Scheduler started", "info"),
        ("something odd", "warning"),
        ("own_line", "info"),
    ]
    assert parsed[0]["logger"] == "apscheduler.scheduler"
    assert all("timestamp" in p for p in parsed)


def test_a_config_poll_writes_no_http_line(stdout: io.StringIO) -> None:
    configure_logging("debug", json=True, stream=stdout)
    logging.getLogger("httpx").info(
        'HTTP Request: GET http://cp:8001/v1/boot/acme "HTTP/1.1 304 Not Modified"'
    )
    logging.getLogger("httpcore.http11").debug("send_request_headers.started")
    assert lines(stdout) == []
    logging.getLogger("httpx").warning("a warning still shows")
    assert json.loads(lines(stdout)[0])["event"] == "a warning still shows"


def test_an_llm_call_writes_no_http_line(stdout: io.StringIO) -> None:
    """The LLM SDKs' HTTP client is a fork with its own logger names."""
    configure_logging("info", json=True, stream=stdout)
    logging.getLogger("httpx2").info(
        'HTTP Request: POST http://llm:9104/v1/chat/completions "HTTP/1.1 200 OK"'
    )
    logging.getLogger("httpcore2.http11").info("receive_response_headers.complete")
    assert lines(stdout) == []


def test_secrets_in_library_lines_are_redacted(stdout: io.StringIO) -> None:
    configure_logging("info", json=True, stream=stdout)
    noisy = logging.getLogger("some.library")
    noisy.warning("POST https://api.telegram.org/bot%s/sendMessage failed", BOT_TOKEN)
    noisy.warning("GET https://hooks.test/meta?hub.verify_token=%s&x=1", BOOT_TOKEN)
    noisy.warning("connect postgresql://cp:%s@db:5432/cp", BOOT_TOKEN)
    noisy.warning("headers {'authorization': 'Bearer %s', 'x-boot-token': '%s'}", *[BOOT_TOKEN] * 2)
    try:
        raise RuntimeError(f"Authorization: Bearer {BOOT_TOKEN}")
    except RuntimeError:
        noisy.exception("failed")
    text = stdout.getvalue()
    assert BOT_TOKEN not in text
    assert BOOT_TOKEN not in text
    parsed = [json.loads(line) for line in lines(stdout)]
    assert len(parsed) == 5
    assert "RuntimeError" in parsed[-1]["exception"]


def test_console_mode_renders_library_lines_too(stdout: io.StringIO) -> None:
    configure_logging("info", json=False, stream=stdout)
    logging.getLogger("apscheduler.scheduler").info("Scheduler started")
    (line,) = lines(stdout)
    assert "Scheduler started" in line
    assert not line.startswith("{")


def test_configuring_twice_keeps_one_handler(stdout: io.StringIO) -> None:
    configure_logging("info", stream=stdout)
    configure_logging("info", stream=stdout)
    logging.getLogger("apscheduler").info("once")
    assert len(lines(stdout)) == 1


def test_uvicorn_lines_are_json_after_uvicorn_configured_its_own(stdout: io.StringIO) -> None:
    # `uvicorn.run` with its default log config (a demo server, an earlier test) leaves plain
    # text handlers on its loggers and stops their propagation.
    from uvicorn.config import LOGGING_CONFIG

    logging.config.dictConfig(LOGGING_CONFIG)
    configure_logging("info", json=True, stream=stdout)
    logging.getLogger("uvicorn.error").warning("Started server process")
    assert [json.loads(line)["event"] for line in lines(stdout)] == ["Started server process"]
