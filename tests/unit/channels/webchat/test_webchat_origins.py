"""Web chat CORS: `allowed_origins` are compared with the browser's `Origin` header, which is
always lower case and leaves out the scheme's default port; a binding written otherwise must
still let its site in (and one with a trailing line break is not an origin)."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.adapters.channels.webchat.settings import webchat_settings
from botfleet.domain.errors import ConfigError
from botfleet.testing.runtime import make_tenant_config, running_app

#: What a browser sends from https://www.salon.example/contact.
ORIGIN = "https://www.salon.example"


@pytest.mark.parametrize(
    ("written", "origin"),
    [
        ("https://www.salon.example", ORIGIN),
        ("https://WWW.Salon.Example", ORIGIN),
        ("HTTPS://www.salon.example", ORIGIN),
        ("https://www.salon.example:443", ORIGIN),
        ("http://shop.example:80", "http://shop.example"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://localhost:08443", "https://localhost:8443"),
    ],
)
def test_origins_are_kept_as_browsers_send_them(written: str, origin: str) -> None:
    assert webchat_settings({"allowed_origins": [written]}).allowed_origins == [origin]


def test_the_same_origin_written_twice_is_kept_once() -> None:
    settings = webchat_settings({"allowed_origins": [ORIGIN, "https://WWW.salon.example:443"]})
    assert settings.allowed_origins == [ORIGIN]


@pytest.mark.parametrize(
    "written",
    [f"{ORIGIN}\n", f"{ORIGIN}/", "www.salon.example", f"{ORIGIN}:99999", "ftp://x.example"],
)
def test_what_is_not_an_origin_is_refused_naming_the_key(written: str) -> None:
    with pytest.raises(ConfigError) as caught:
        webchat_settings({"allowed_origins": [written]}, source="tenants/bella.yaml")
    assert "channel.allowed_origins" in str(caught.value)


async def test_a_site_written_in_capitals_may_call_the_api() -> None:
    config: Any = make_tenant_config(
        channel={"type": "webchat", "allowed_origins": ["https://WWW.Salon.example:443"]}
    )
    async with running_app(config) as chat:
        preflight = await chat.http.options(
            "/inbound",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        turn = await chat.http.post(
            "/inbound", json={"contact_id": "c1", "text": "hi"}, headers={"Origin": ORIGIN}
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert turn.status_code == 200
    assert turn.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize("written", ["*", "https://*.salon.example", "https://*"])
def test_a_wildcard_is_refused_in_words(written: str) -> None:
    with pytest.raises(ConfigError) as caught:
        webchat_settings({"allowed_origins": [written]}, source="tenants/bella.yaml")
    assert "wildcards are not accepted; list each site's origin" in str(caught.value)


@pytest.mark.parametrize(
    ("written", "origin"),
    [
        # what browsers send in `Origin` for these sites (as `new URL(site).origin` gives)
        ("https://peluquería.example", "https://xn--peluquera-n5a.example"),
        ("https://Straße.example:443", "https://xn--strae-oqa.example"),
        ("https://ПРИМЕР.example", "https://xn--e1afmkfd.example"),
        ("https://xn--strae-oqa.example", "https://xn--strae-oqa.example"),
    ],
)
def test_an_international_domain_is_kept_as_browsers_send_it(written: str, origin: str) -> None:
    assert webchat_settings({"allowed_origins": [written]}).allowed_origins == [origin]


@pytest.mark.parametrize("written", ["https://shop_example", "https://café..example"])
def test_a_host_that_is_no_domain_name_is_refused(written: str) -> None:
    with pytest.raises(ConfigError) as caught:
        webchat_settings({"allowed_origins": [written]}, source="tenants/bella.yaml")
    assert "is not an origin" in str(caught.value)


async def test_a_site_with_an_international_name_may_call_the_api() -> None:
    config: Any = make_tenant_config(
        channel={"type": "webchat", "allowed_origins": ["https://peluquería.example"]}
    )
    sent = "https://xn--peluquera-n5a.example"
    async with running_app(config) as chat:
        turn = await chat.http.post(
            "/inbound", json={"contact_id": "c1", "text": "hi"}, headers={"Origin": sent}
        )
    assert turn.headers["access-control-allow-origin"] == sent
