"""`setting_changes`: the lines `botfleet cp tenants apply` warns with, one per stored section
it changed, showing a value only when it is short, plain and no secret."""

from __future__ import annotations

from botfleet.control_plane.provision import setting_changes

OLD_LLM = {
    "enabled": True,
    "base_url": "http://127.0.0.1:18403/v1",
    "model": "qwen2.5:7b",
    "quota_monthly_tokens": 100_000,
    "quota_daily_questions_per_contact": 5,
}


def test_the_bike_shops_llm_section() -> None:
    new = {"enabled": True, "base_url": "http://127.0.0.1:18403/v1", "model": "llama3.1:8b"}
    assert setting_changes({"llm": OLD_LLM}, {"llm": new, "name": "Bicis"}) == [
        "llm: model 'qwen2.5:7b' -> 'llama3.1:8b'; removed quota_monthly_tokens, "
        "quota_daily_questions_per_contact"
    ]


def test_unchanged_fields_say_nothing() -> None:
    same = {"llm": OLD_LLM, "name": "Bicis"}
    assert setting_changes(same, dict(same)) == []
    assert setting_changes({}, {"llm": {"model": "x"}}) == []


def test_plain_fields_numbers_and_added_keys() -> None:
    before = {"timezone": "UTC", "llm": {"quota_monthly_tokens": 100, "enabled": True}}
    after = {"timezone": "Europe/Madrid", "llm": {"quota_monthly_tokens": 200, "enabled": False,
                                                  "model": "m"}}  # fmt: skip
    assert setting_changes(before, after) == [
        "timezone 'UTC' -> 'Europe/Madrid'",
        "llm: quota_monthly_tokens 100 -> 200, enabled true -> false; added model",
    ]


def test_connectors_are_compared_binding_by_binding() -> None:
    before = {"connectors": {"calendar": {"type": "mock", "slot_duration_min": 30},
                             "notification": {"type": "mock"}}}  # fmt: skip
    after = {"connectors": {"calendar": {"type": "mock", "slot_duration_min": 45,
                                         "lookahead_days_client": 14}}}  # fmt: skip
    assert setting_changes(before, after) == [
        "connectors: calendar.slot_duration_min 30 -> 45; removed notification; "
        "added calendar.lookahead_days_client"
    ]


def test_secrets_and_urls_with_credentials_are_named_only() -> None:
    before = {
        "llm": {"api_key": "sk-old-0123", "base_url": "https://bob:hunter2@llm.shop.com/v1"},
        "channel": {"type": "webhook", "webhook_secret": "s1", "auth-token": "t1",
                    "url": "https://hooks.shop.com/in?sig=abc123"},
    }  # fmt: skip
    after = {
        "llm": {"api_key": "sk-new-4567", "base_url": "https://llm.shop.com/v1"},
        "channel": {"type": "webhook", "webhook_secret": "s2", "auth-token": "t2",
                    "url": "https://hooks.shop.com/in?sig=def456"},
    }  # fmt: skip
    lines = setting_changes(before, after)
    assert lines == [
        "channel: webhook_secret, auth-token, url",
        "llm: api_key, base_url",
    ]
    for secret in ("sk-", "hunter2", "s1", "t2", "abc123", "def456"):
        assert secret not in " ".join(lines).replace("webhook_secret", "")


def test_long_values_lists_and_objects_are_named_only() -> None:
    long = "You are the assistant of a bike shop in Sevilla; answer briefly."
    before = {"llm": {"system_prompt": long, "stop": ["a"], "extra": {"x": 1}, "model": "m"}}
    after = {"llm": {"system_prompt": long + "!", "stop": ["b"], "extra": 1, "model": "n"}}
    assert setting_changes(before, after) == ["llm: system_prompt, stop, extra, model 'm' -> 'n'"]


def test_secret_names_in_camel_case_and_short_forms_are_named_only() -> None:
    names = ["accessToken", "X-Pass", "pwd", "APIKey", "sessionId", "X-Hub-Signature",
             "authCookie", "SESSION_ID", "dbPasswd", "userCredentials", "sig"]  # fmt: skip
    before = {"connectors": {"crm": {name: f"old-{i}-S3cr3t" for i, name in enumerate(names)}}}
    after = {"connectors": {"crm": {name: f"new-{i}-S3cr3t" for i, name in enumerate(names)}}}
    lines = setting_changes(before, after)
    assert lines == [f"connectors: {', '.join(f'crm.{name}' for name in names)}"]
    assert "S3cr3t" not in lines[0]


def test_header_values_are_never_shown() -> None:
    before = {"connectors": {"notification": {"headers": {"accessToken": "t1", "X-Shop": "a"}}}}
    after = {"connectors": {"notification": {"headers": {"accessToken": "t2", "X-Shop": "b"}}}}
    assert setting_changes(before, after) == [
        "connectors: notification.headers.accessToken, notification.headers.X-Shop"
    ]


def test_token_counts_are_shown_token_values_are_not() -> None:
    before = {"llm": {"max_tokens": 256, "access_tokens": "tk-1"}}
    after = {"llm": {"max_tokens": 512, "access_tokens": "tk-2"}}
    assert setting_changes(before, after) == ["llm: max_tokens 256 -> 512, access_tokens"]


def test_a_url_is_shown_as_its_origin_never_its_path_or_query() -> None:
    before = {
        "llm": {"base_url": "http://127.0.0.1:18403/v1/k-0123"},
        "connectors": {"calendar": {"url": "https://dav.shop.com/cal/u/9f8e7d"}},
        "data_plane_url": "http://10.0.0.5:8001/",
    }
    after = {
        "llm": {"base_url": "https://llm.shop.com/v1/k-4567"},
        "connectors": {"calendar": {"url": "https://dav.shop.com/cal/u/1a2b3c"}},
        "data_plane_url": "http://[fd00::5]:8001/x",
    }
    lines = setting_changes(before, after)
    assert lines == [
        "connectors: calendar.url",
        "llm: base_url 'http://127.0.0.1:18403' -> 'https://llm.shop.com'",
        "data_plane_url 'http://10.0.0.5:8001' -> 'http://[fd00::5]:8001'",
    ]
    for hidden in ("k-0123", "k-4567", "9f8e7d", "1a2b3c", "/v1", "/x"):
        assert hidden not in " ".join(lines)


def test_a_text_quoting_a_url_is_named_only() -> None:
    before = {"llm": {"system_prompt": "See https://x.io/p?k=1"}}
    after = {"llm": {"system_prompt": "See https://x.io/p?k=2"}}
    assert setting_changes(before, after) == ["llm: system_prompt"]
