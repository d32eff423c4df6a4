"""A data plane process serves one tenant: `configure_logging(tenant=...)` (what `botfleet
serve data-plane` calls) names it in every line, botfleet's own lines outside a turn (a
channel's webhook) and the libraries' included, unless a line names its tenant itself. Nothing
else sets it: building apps (tests run several tenants in one process) never does, and
configuring logging again without a tenant forgets it."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import structlog

from botfleet.data_plane.app import create_app
from botfleet.observability import (
    configure_logging,
    log_tenant,
    set_log_tenant,
)
from botfleet.testing.runtime import make_settings, make_tenant_config


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def write_lines(name: str) -> None:
    structlog.get_logger(f"botfleet.test.{name}").warning("whatsapp_signature_invalid")
    structlog.get_logger(f"botfleet.test.{name}").info("turn_line", tenant="other")
    logging.getLogger("apscheduler.scheduler").info("Scheduler started")


def test_every_line_names_the_process_tenant(stdout: io.StringIO) -> None:
    configure_logging("info", json=True, stream=stdout, tenant="salon")
    write_lines("named")

    assert [(line["event"], line.get("tenant")) for line in parsed(stdout)] == [
        ("whatsapp_signature_invalid", "salon"),
        ("turn_line", "other"),  # a line that names its tenant keeps it
        ("Scheduler started", "salon"),
    ]


def test_the_tenant_can_be_named_once_the_config_is_read(stdout: io.StringIO) -> None:
    configure_logging("info", json=True, stream=stdout)  # a local YAML: not known yet
    write_lines("before")
    set_log_tenant("salon")
    write_lines("after")

    tenants = [line.get("tenant") for line in parsed(stdout)]
    assert tenants == [None, "other", None, "salon", "other", "salon"]


def test_configuring_again_without_a_tenant_forgets_it(stdout: io.StringIO) -> None:
    configure_logging("info", json=True, stream=stdout, tenant="salon")
    configure_logging("info", json=True, stream=stdout)
    write_lines("forgotten")

    assert log_tenant() is None
    assert [line.get("tenant") for line in parsed(stdout)] == [None, "other", None]


def test_building_apps_names_no_tenant_for_the_process(stdout: io.StringIO) -> None:
    configure_logging("info", json=True, stream=stdout)
    apps = [
        create_app(make_settings(), config=make_tenant_config(tenant_id=tenant))
        for tenant in ("acme", "salon")
    ]

    assert [app.state.tenant_id for app in apps] == ["acme", "salon"]
    assert log_tenant() is None
    write_lines("apps")
    assert "acme" not in stdout.getvalue() and "salon" not in stdout.getvalue()
