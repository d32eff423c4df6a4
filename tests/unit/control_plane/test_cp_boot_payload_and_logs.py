"""BootPayload's content hash and repr, and the control plane's log redaction."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import ValidationError

from botfleet.control_plane import logs
from botfleet.control_plane.logs import REDACTED, get_logger, redact_secrets
from botfleet.domain.tenants import BootPayload


def _payload(**changes: object) -> BootPayload:
    data: dict[str, object] = {
        "tenant": {"id": "acme", "name": "Acme", "timezone": "Europe/Madrid", "language": "es"},
        "flow": {"version": 1, "flow_id": "f", "yaml": "id: f\n", "sha256": "0" * 64},
        "channel": {"type": "whatsapp", "access_token": "EAA-secret"},
        "connectors": {"calendar": {"type": "mock_calendar"}},
        "llm": {"enabled": False},
        "secret_paths": ["channel.access_token"],
        **changes,
    }
    return BootPayload.model_validate(data)


def test_etag_is_a_stable_content_hash() -> None:
    assert _payload().etag() == _payload().etag()
    assert len(_payload().etag()) == 64
    assert _payload(llm={"enabled": True}).etag() != _payload().etag()
    reparsed = BootPayload.model_validate_json(_payload().canonical_json())
    assert reparsed.etag() == _payload().etag()


def test_repr_never_shows_secrets() -> None:
    assert "EAA-secret" not in repr(_payload())
    assert "EAA-secret" not in str(_payload())


def test_bindings_need_a_type() -> None:
    with pytest.raises(ValidationError, match=r"connectors\.llm binding needs a string 'type'"):
        _payload(connectors={"llm": {"model": "x"}})


def test_redaction_replaces_secret_keys_at_any_depth() -> None:
    event = {
        "event": "x",
        "api_key": "sk-1",
        "headers": {"Authorization": "Bearer abc", "accept": "json"},
        "items": [{"password": "p", "name": "n"}],
        "quota_monthly_tokens": 5,
    }
    redacted = redact_secrets(None, "info", event)
    assert redacted["api_key"] == REDACTED
    assert redacted["headers"] == {"Authorization": REDACTED, "accept": "json"}
    assert redacted["items"] == [{"password": REDACTED, "name": "n"}]
    assert redacted["quota_monthly_tokens"] == 5


def test_logger_writes_json_lines_without_secrets(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # JSON is the default; a control plane started earlier in the run may have turned it off.
    monkeypatch.setattr(logs, "_render_json", True)
    caplog.set_level(logging.INFO, logger="botfleet.control_plane")
    get_logger("test").info("saved", tenant_id="acme", boot_token="bfb_secret")
    [record] = [r for r in caplog.records if r.name == "botfleet.control_plane.test"]
    line = json.loads(record.getMessage())
    assert line["event"] == "saved"
    assert line["tenant_id"] == "acme"
    assert line["boot_token"] == REDACTED
    assert "bfb_secret" not in caplog.text
