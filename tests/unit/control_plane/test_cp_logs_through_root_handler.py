"""A control-plane server's process writes every line through one root handler
(`configure_logging(..., libraries=True)`): its own lines as it rendered them (once, not
wrapped in another JSON object), uvicorn's, the libraries' and Python's warnings as JSON."""

from __future__ import annotations

import json
import logging
import logging.config
import warnings
from collections.abc import Iterator

import pytest

from botfleet.control_plane.logs import LOGGER_NAME, configure_logging, get_logger
from botfleet.observability import LibraryLogHandler

DATABASE_PASSWORD = "db-pass-not-to-be-logged"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    names = ("", LOGGER_NAME, "httpx", "httpcore", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        name: (
            logging.getLogger(name).level,
            list(logging.getLogger(name).handlers),
            logging.getLogger(name).propagate,
        )
        for name in names
    }
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if isinstance(h, LibraryLogHandler)]:
            root.removeHandler(handler)
        for name, (level, handlers, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate = propagate
        logging.captureWarnings(False)
        configure_logging("INFO", json=True)


def written(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    out, err = capsys.readouterr()
    assert err == ""
    return [json.loads(line) for line in out.splitlines() if line]


def test_every_line_is_one_json_object_and_the_control_planes_are_not_wrapped(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # uvicorn's default configuration (an earlier server) leaves plain-text handlers behind.
    from uvicorn.config import LOGGING_CONFIG

    logging.config.dictConfig(LOGGING_CONFIG)
    configure_logging("INFO", json=True, libraries=True)
    get_logger("test").info("tenant created", tenant_id="acme", api_key="bfk_secret")
    logging.getLogger("uvicorn.error").info("Uvicorn running on %s", "http://127.0.0.1:8001")
    logging.getLogger("sqlalchemy.pool").warning(
        "connect to postgresql://botfleet:%s@db:5432/botfleet failed", DATABASE_PASSWORD
    )
    logging.getLogger("httpx").info("HTTP Request: GET http://dp:8002/health")  # quieted
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # pytest makes warnings errors
        warnings.warn("something is deprecated", UserWarning, stacklevel=1)
    lines = written(capsys)
    assert [line["event"] for line in lines] == [
        "tenant created",
        "Uvicorn running on http://127.0.0.1:8001",
        "connect to postgresql://botfleet:[redacted]@db:5432/botfleet failed",
        lines[3]["event"],
    ]
    assert lines[0]["component"] == "test"
    assert lines[0]["api_key"] == "[redacted]"
    assert lines[1]["logger"] == "uvicorn.error"
    assert lines[3]["logger"] == "py.warnings"
    assert "something is deprecated" in str(lines[3]["event"])


def test_configuring_again_keeps_one_line_per_record(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", json=True, libraries=True)
    configure_logging("INFO", json=True)  # create_app does it again
    configure_logging("INFO", json=True, libraries=True)
    get_logger("test").info("once")
    logging.getLogger("alembic.runtime.migration").info("Running upgrade 0001 -> 0002")
    assert [line["event"] for line in written(capsys)] == ["once", "Running upgrade 0001 -> 0002"]


def test_tests_capturing_records_still_read_the_rendered_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    get_logger("test").info("boot served", tenant_id="acme")
    [record] = [r for r in caplog.records if r.name == f"{LOGGER_NAME}.test"]
    assert json.loads(record.getMessage())["event"] == "boot served"
