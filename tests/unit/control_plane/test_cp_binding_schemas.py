"""Binding schemas: known types pass normalised; unknown types, fields and secrets name the key."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.control_plane.binding_schemas import (
    binding_json_schemas,
    validate_channel,
    validate_connectors,
    validate_llm,
)
from botfleet.control_plane.errors import InvalidInput


def test_known_bindings_are_accepted_as_given() -> None:
    assert validate_channel({"type": "http_dev"}) == {"type": "http_dev"}
    assert validate_channel({"type": "whatsapp", "phone_number_id": "1"}) == {
        "type": "whatsapp", "phone_number_id": "1",
    }  # fmt: skip
    connectors = validate_connectors(
        {
            "calendar": {"type": "google_calendar", "calendar_id": "x@group",
                         "slot_duration_min": 30,
                         "schedule": {"mon": ["10:00-14:00", "17:00-21:00"]}},
            "llm": {"type": "openai_compatible", "base_url": "http://llm:8000/v1", "model": "m"},
        }
    )  # fmt: skip
    assert connectors["calendar"]["schedule"]["mon"] == ["10:00-14:00", "17:00-21:00"]
    assert "lookahead_days_client" not in connectors["calendar"], "defaults are not written"
    assert validate_llm({"enabled": True, "quota_monthly_tokens": 10}) == {
        "enabled": True, "quota_monthly_tokens": 10,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("call", "value", "field", "detail"),
    [
        (validate_channel, {"type": "sms"}, "channel.type", "unknown type 'sms' (known:"),
        (validate_channel, {"type": "whatsap"}, "channel.type",
         "unknown type 'whatsap' (did you mean 'whatsapp'?)"),
        (validate_connectors, {"calendar": {"type": "google_calender"}}, "connectors.calendar.type",
         "(did you mean 'google_calendar'?)"),
        (validate_channel, "whatsapp", "channel", "must be an object"),
        (validate_channel, {"type": "telegram", "bot_token": "1:x"}, "channel.bot_token",
         "secrets"),
        (validate_channel, {"type": "webchat", "colour": "red"}, "channel.colour", "unknown field"),
        (validate_channel, {"type": "webchat", "allowed_origins": ["https://a.example/chat"]},
         "channel.allowed_origins[0]", "is not an origin"),
        (validate_connectors, {"calendar": {"type": "caldav"}}, "connectors.calendar.url",
         "Field required"),
        (validate_connectors, {"calendar": {"type": "mock_calendar", "timezone": "Nowhere/City"}},
         "connectors.calendar.timezone", "unknown time zone"),
        (validate_connectors, {"llm": {"type": "anthropic", "api_key": "sk"}},
         "connectors.llm.api_key", "secrets"),
        (validate_connectors, {"1x": {"type": "mock"}}, "connectors.1x", "lower_snake_case"),
        (validate_llm, {"quota_monthly_tokens": -1}, "llm.quota_monthly_tokens", "greater than"),
        (validate_llm, {"password": "x"}, "llm.password", "secrets"),
    ],
)  # fmt: skip
def test_invalid_bindings_name_the_key(
    call: object, value: object, field: str, detail: str
) -> None:
    assert callable(call)
    with pytest.raises(InvalidInput) as caught:
        call(value)
    assert caught.value.field == field
    assert detail in caught.value.detail


def test_json_schemas_cover_every_type() -> None:
    schemas = binding_json_schemas()
    assert set(schemas["channel"]) == {"http_dev", "webchat", "whatsapp", "telegram"}
    assert set(schemas["connector"]) == {
        "mock", "mock_calendar", "google_calendar", "caldav", "calendar_pool", "webhook",
        "mock_llm", "anthropic", "openai_compatible",
    }  # fmt: skip
    assert "access_token" not in schemas["channel"]["whatsapp"]["properties"]


def test_a_binding_that_lacks_only_its_secrets_is_valid() -> None:
    assert validate_channel({"type": "telegram"}) == {"type": "telegram"}
    google = {"type": "google_calendar", "calendar_id": "shop@group.calendar.google.com"}
    assert validate_connectors({"calendar": google}) == {"calendar": google}
    assert validate_connectors({"llm": {"type": "anthropic", "model": "claude-haiku-4-5"}})


def test_the_data_plane_settings_are_accepted() -> None:
    """The adapters' own models are the schema: their options pass, seed names too."""
    validate_channel({"type": "whatsapp", "phone_number_id": "42", "mark_as_read": False})
    validate_connectors(
        {"calendar": {"type": "mock", "resilience": {"max_attempts": 2, "timeout_s": 3}}}
    )
    validate_llm({"enabled": True, "provider": "anthropic", "knowledge_version": "v3"})


@pytest.mark.parametrize(
    ("connectors", "field", "detail"),
    [
        ({"llm": {"type": "caldav", "url": "https://dav"}}, "connectors.llm.type",
         "is a calendar connector"),
        ({"calendar": {"type": "anthropic"}}, "connectors.calendar.type", "is a llm connector"),
        ({"calendar": {"type": "mock_calendar", "resilience": {"max_attempts": 0}}},
         "connectors.calendar.resilience.max_attempts", "greater than or equal to 1"),
        ({"calendar": {"type": "google_calendar", "credentials_path": "/k.json",
                       "api_base_url": "ftp://x"}},
         "connectors.calendar.api_base_url", "not an http(s) URL"),
    ],
)  # fmt: skip
def test_data_plane_rules_are_enforced(connectors: object, field: str, detail: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_connectors(connectors)
    assert caught.value.field == field
    assert detail in caught.value.detail


def test_an_accepted_binding_with_its_credentials_passes_the_adapters_own_checks() -> None:
    from botfleet.adapters.channels.whatsapp.settings import whatsapp_settings
    from botfleet.adapters.connectors.calendar.config import CalDavSettings

    channel = validate_channel({"type": "whatsapp", "phone_number_id": "42"})
    secrets = {"access_token": "EAA", "app_secret": "s", "verify_token": "v"}
    assert whatsapp_settings({**channel, **secrets}).phone_number_id == "42"
    calendar = validate_connectors({"calendar": {"type": "caldav", "url": "https://dav/x"}})
    merged = {**calendar["calendar"], "password": "p", "timezone": "Europe/Madrid"}
    assert CalDavSettings.model_validate(merged).url == "https://dav/x"


PASSWORD = "S3cretInTheUrl"


@pytest.mark.parametrize(
    ("call", "value", "field"),
    [
        (validate_connectors,
         {"calendar": {"type": "caldav", "url": f"https://bob:{PASSWORD}@dav.example/cal"}},
         "connectors.calendar.url"),
        (validate_connectors,
         {"calendar": {"type": "caldav", "url": "https://dav.example/",
                       "calendar_id": f"https://bob:{PASSWORD}@dav.example/cal/"}},
         "connectors.calendar.calendar_id"),
        (validate_connectors,
         {"calendar": {"type": "google_calendar",
                       "api_base_url": f"http://{PASSWORD}@fake-google/calendar/v3/"}},
         "connectors.calendar.api_base_url"),
        (validate_connectors,
         {"llm": {"type": "openai_compatible", "base_url": f"https://k:{PASSWORD}@llm/v1"}},
         "connectors.llm.base_url"),
        (validate_llm, {"base_url": f"https://k:{PASSWORD}@llm/v1"}, "llm.base_url"),
        (validate_channel, {"type": "telegram", "api_base_url": f"https://b:{PASSWORD}@tg/"},
         "channel.api_base_url"),
        (validate_channel, {"type": "whatsapp", "phone_number_id": "1",
                            "base_url": f"https://b:{PASSWORD}@graph/"}, "channel.base_url"),
    ],
)  # fmt: skip
def test_a_password_in_a_binding_url_is_refused_without_echoing_it(
    call: object, value: object, field: str
) -> None:
    """Bindings are stored in clear and shown to every tenant key: credentials go elsewhere."""
    assert callable(call)
    with pytest.raises(InvalidInput) as caught:
        call(value)
    assert caught.value.field == field
    assert "must not carry credentials" in caught.value.detail
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["https://dav.example/cal?token=abc", "https://dav.example/cal#frag"]
)
def test_a_query_or_fragment_in_a_binding_base_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_connectors({"calendar": {"type": "caldav", "url": url}})
    assert caught.value.field == "connectors.calendar.url"
    assert "without a query" in caught.value.detail
    assert "abc" not in str(caught.value)


def test_plain_binding_urls_are_still_accepted() -> None:
    caldav = {"type": "caldav", "url": "https://dav.example/cal/", "username": "bob"}
    assert validate_connectors({"calendar": caldav}) == {"calendar": caldav}
    assert validate_llm({"base_url": "http://llm:8000/v1"}) == {"base_url": "http://llm:8000/v1"}
    # An e-mail address is not a URL with credentials.
    google = {"type": "google_calendar", "calendar_id": "shop@group.calendar.google.com"}
    assert validate_connectors({"calendar": google}) == {"calendar": google}


def test_credentials_fill_exactly_the_secret_fields_the_schemas_leave_out() -> None:
    """Each binding type's credential names are fields of its settings model that
    `GET /v1/binding-schemas` hides as secrets, or settings it shows that the credentials may
    hold instead (`credential_settings`: the webhook's `url`)."""
    from botfleet.control_plane.binding_schemas import (
        channel_types,
        connector_types,
        credential_fields,
        credential_settings,
        secret_fields,
    )

    schemas = binding_json_schemas()
    for group, types in (("channel", channel_types()), ("connector", connector_types())):
        for name, kind in types.items():
            fields = credential_fields(kind.model)
            movable = credential_settings(kind.model)
            shown = set(schemas[group][name]["properties"])
            assert set(fields) - movable <= secret_fields(kind.model), name
            assert set(fields.values()) <= set(kind.model.model_fields), name
            assert not (set(fields) - movable) & shown, name
            assert movable <= shown, name
    assert credential_fields(channel_types()["whatsapp"].model) == {
        "access_token": "access_token", "app_secret": "app_secret", "verify_token": "verify_token",
    }  # fmt: skip
    assert credential_fields(channel_types()["telegram"].model)["secret_token"] == "webhook_secret"
    assert credential_fields(channel_types()["http_dev"].model) == {}


def test_credential_targets_follow_the_scope_binding() -> None:
    from botfleet.control_plane.binding_schemas import check_credential_names, credential_target

    channel = {"type": "whatsapp", "phone_number_id": "1"}
    connectors = {"calendar": {"type": "caldav", "url": "https://dav.example/c"}}
    target = credential_target("channel", channel, connectors)
    assert target is not None
    check_credential_names(target, ["access_token", "app_secret"])
    with pytest.raises(InvalidInput) as caught:
        check_credential_names(target, ["acess_token"])
    assert caught.value.field == "body.acess_token"
    assert "did you mean 'access_token'" in caught.value.detail
    assert "access_token, app_secret, verify_token" in caught.value.detail
    calendar = credential_target("connector:calendar", channel, connectors)
    assert calendar is not None and set(calendar.fields) == {"password"}
    assert credential_target("connector:crm", channel, connectors) is None
    llm = credential_target("llm", channel, connectors)
    assert llm is not None and set(llm.fields) == {"api_key"}


def test_credential_targets_know_their_required_secrets() -> None:
    """The secrets a settings model cannot do without: a put must hold them all, since it
    replaces the scope's secrets and the data plane would not boot without one."""
    from botfleet.control_plane.binding_schemas import (
        check_required_credentials,
        credential_target,
        stale_credential_names,
    )

    def target(scope: str, channel: object, connectors: object = None) -> Any:
        found = credential_target(scope, channel, connectors or {})
        assert found is not None
        return found

    whatsapp = target("channel", {"type": "whatsapp"})
    assert whatsapp.required == {"access_token", "app_secret", "verify_token"}
    telegram = target("channel", {"type": "telegram"})
    assert telegram.required == {"bot_token", "webhook_secret"}
    check_required_credentials(telegram, ["bot_token", "secret_token"])  # an alias counts
    with pytest.raises(InvalidInput) as caught:
        check_required_credentials(telegram, ["secret_token"])
    assert caught.value.field == "body"
    assert caught.value.detail.startswith("missing required secret(s) bot_token;")
    caldav = {"calendar": {"type": "caldav", "url": "https://dav.example/c"}}
    assert target("connector:calendar", None, caldav).required == frozenset()  # optional
    assert target("llm", None).required == frozenset()
    assert stale_credential_names(telegram, ["access_token", "bot_token"]) == ["access_token"]
