"""The webhook's `url` as a credential (it is often a secret itself: Slack and Zapier hooks, a
Teams/Power Automate URL signed with `?sig=`): the control plane takes it in
`connector:notification` instead of the binding (never both), the binding then needs none, the
data plane builds the connector from the merged settings, and the URL is never shown (errors,
repr, httpx's request log line)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from webhook_kit import KEY, Answer, FixedClock, Receiver

from botfleet.adapters.connectors.notification.settings import WebhookSettings
from botfleet.adapters.connectors.notification.webhook import (
    HideHookUrls,
    build,
    hide_in_httpx_logs,
)
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.adapters.registry import build_connectors
from botfleet.control_plane.binding_schemas import (
    binding_json_schemas,
    check_credential_names,
    check_required_credentials,
    credential_settings,
    credential_target,
    stale_credential_names,
    validate_connectors,
)
from botfleet.control_plane.errors import InvalidInput
from botfleet.domain.errors import ConfigError, ConnectorRejected
from botfleet.domain.tenant_config import tenant_config_from_mapping

SIG = "sig-S3cr3t-Zx81"
#: A Power Automate (Teams) trigger URL: its key is the query's `sig`.
TEAMS_URL = (
    "https://prod-12.westeurope.logic.azure.com:443/workflows/4f1c/triggers/manual/paths/invoke"
    f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
)
SCOPE = "connector:notification"


def _target(binding: dict[str, Any]) -> Any:
    target = credential_target(SCOPE, None, {"notification": binding})
    assert target is not None
    return target


# ---------------------------------------------------------------- the control plane's rules


def test_the_url_is_the_one_webhook_setting_the_credentials_may_hold() -> None:
    assert credential_settings(WebhookSettings) == frozenset({"url"})
    public = binding_json_schemas()["connector"]["webhook"]
    assert "url" in public["properties"]  # a binding may still hold it
    assert "url" not in public["required"]


def test_a_binding_without_url_is_valid_and_one_with_a_bad_url_is_not() -> None:
    binding = {"type": "webhook", "format": "json", "headers": {"X-Shop": "downtown"}}
    assert validate_connectors({"notification": binding}) == {"notification": binding}

    with pytest.raises(InvalidInput) as refused:
        validate_connectors({"notification": {"type": "webhook", "url": "ftp://x.example/h"}})
    assert refused.value.field == "connectors.notification.url"
    assert "not an http(s) URL" in refused.value.detail


def test_a_binding_url_with_a_query_points_to_the_credentials_without_repeating_it() -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_connectors({"notification": {"type": "webhook", "url": TEAMS_URL}})

    assert refused.value.field == "connectors.notification.url"
    assert refused.value.detail.startswith("give the URL without a query (?...) or fragment")
    assert "store it as 'url' in connector:notification instead of in the binding" in (
        refused.value.detail
    )
    assert SIG not in str(refused.value) and "logic.azure.com" not in str(refused.value)
    # Credentials in a URL (user:password@) are refused anywhere: no pointer to the credentials.
    with pytest.raises(InvalidInput) as userinfo:
        validate_connectors({"notification": {"type": "webhook", "url": f"https://u:{SIG}@h.io/"}})
    assert userinfo.value.detail.startswith("a URL must not carry credentials")
    assert "connector:notification" not in userinfo.value.detail


def test_without_url_in_the_binding_the_credentials_must_hold_it() -> None:
    target = _target({"type": "webhook"})

    assert dict(target.fields) == {"secret": "secret", "token": "token", "url": "url"}
    assert target.required == frozenset({"url"})
    check_credential_names(target, ["url", "secret"])
    check_required_credentials(target, ["url"])
    with pytest.raises(InvalidInput) as refused:
        check_required_credentials(target, ["secret", "token"])
    assert refused.value.field == "body"
    assert refused.value.detail.startswith("missing required secret(s) url; ")
    assert "the binding has no url, so the credentials must hold it" in refused.value.detail
    unknown = _names_refused(target, ["password"])
    assert "takes the secrets secret, token, url" in unknown.detail


def _names_refused(target: Any, names: list[str]) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        check_credential_names(target, names)
    return refused.value


def test_with_url_in_the_binding_the_credentials_may_not_hold_another() -> None:
    target = _target({"type": "webhook", "url": "https://hooks.example.com/x"})

    assert target.required == frozenset()
    check_required_credentials(target, [])  # secret and token stay optional
    refused = _names_refused(target, ["secret", "url"])
    assert refused.field == "body.url"
    assert refused.detail.startswith(
        "set in the binding already: keep it in one place (to store it as a credential "
        "instead, PATCH the binding without it first)"
    )
    # Stored credentials holding a url no longer fit a binding that gains one (a PATCH: 409).
    assert stale_credential_names(target, ["secret", "url"]) == ["url"]
    assert stale_credential_names(_target({"type": "webhook"}), ["secret", "url"]) == []


def test_other_bindings_take_no_url_as_a_credential() -> None:
    caldav = credential_target(
        "connector:calendar", None, {"calendar": {"type": "caldav", "url": "https://d.example"}}
    )
    assert caldav is not None and "url" not in caldav.fields
    assert _names_refused(caldav, ["url"]).detail.startswith("a setting, not a secret")


# ---------------------------------------------------------------- the data plane


def _booted(url: str) -> Any:
    """The connector the data plane builds from a boot payload's binding with `url` merged in."""
    config = tenant_config_from_mapping(
        {
            "tenant_id": "salon",
            "flow_path": "x.yaml",
            "connectors": {"notification": {"type": "webhook", "format": "json", "url": url}},
        },
        source="boot payload",
    )
    return build_connectors(config, clock=FixedClock())["notification"]


async def test_the_connector_posts_to_the_credential_url_query_included() -> None:
    assert _booted(TEAMS_URL).settings.url == TEAMS_URL  # the data plane accepts the query
    receiver = Receiver()
    client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    connector = build({"url": TEAMS_URL}, clock=FixedClock(), http=HttpxProvider(client))

    answer = await connector.call("send", {"event": "handoff_requested"}, idempotency_key=KEY)

    assert answer["delivered"] is True
    (request,) = receiver.requests
    assert request.url.host == "prod-12.westeurope.logic.azure.com"
    assert request.url.params["sig"] == SIG
    assert request.url.params["api-version"] == "2016-06-01"
    assert SIG not in repr(connector) and "logic.azure.com" in repr(connector)
    assert SIG not in repr(connector.settings)


async def test_errors_never_show_the_url() -> None:
    receiver = Receiver()
    receiver.script = [Answer(status=404)]
    client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    connector = build({"url": TEAMS_URL}, clock=FixedClock(), http=HttpxProvider(client))
    with pytest.raises(ConnectorRejected) as refused:
        await connector.call("send", {"event": "e"}, idempotency_key=KEY)
    assert "HTTP 404" in str(refused.value)
    assert SIG not in str(refused.value) and "workflows" not in str(refused.value)
    with pytest.raises(ConfigError) as bad:
        _booted(f"ftp://user:{SIG}@logic.example/x?sig={SIG}")
    assert bad.value.key == "connectors.notification.url"
    assert SIG not in str(bad.value)


def test_httpx_request_log_lines_show_a_hooks_host_only(caplog: pytest.LogCaptureFixture) -> None:
    hide_in_httpx_logs(TEAMS_URL)
    hide_in_httpx_logs(TEAMS_URL)  # once per connector; one filter per process
    logger = logging.getLogger("httpx")
    assert sum(isinstance(f, HideHookUrls) for f in logger.filters) == 1
    caplog.set_level(logging.INFO, logger="httpx")

    # As httpx logs a request (`httpx._client`), with its URL object.
    logger.info(
        'HTTP Request: %s %s "%s %d %s"', "POST", httpx.URL(TEAMS_URL), "HTTP/1.1", 202, "Accepted"
    )
    logger.info(
        'HTTP Request: %s %s "%s %d %s"', "POST", httpx.URL("https://api.example.com/v1/x?a=1"),
        "HTTP/1.1", 200, "OK",
    )  # fmt: skip

    first, other = (record.getMessage() for record in caplog.records)
    assert first == (
        "HTTP Request: POST https://prod-12.westeurope.logic.azure.com/<hidden> "
        '"HTTP/1.1 202 Accepted"'
    )
    assert SIG not in caplog.text and "workflows" not in caplog.text
    assert other == 'HTTP Request: POST https://api.example.com/v1/x?a=1 "HTTP/1.1 200 OK"'
