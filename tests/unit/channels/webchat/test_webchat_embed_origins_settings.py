"""`embed_origins` in a web chat binding: kept as the browser compares them (lower case, no
default port, an international name in its `xn--` form), a `*.` subdomain wildcard allowed,
and a value that is not an origin refused naming its place and what to write instead."""

from __future__ import annotations

import pytest

from botfleet.adapters.channels.webchat.settings import webchat_settings
from botfleet.control_plane.binding_schemas import validate_channel
from botfleet.control_plane.errors import InvalidInput
from botfleet.domain.errors import ConfigError

SITE = "https://www.salon-example.com"


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        (SITE, SITE),
        ("HTTPS://WWW.Salon-Example.com:443", SITE),
        ("http://localhost:3000", "http://localhost:3000"),
        ("https://*.salon-example.com", "https://*.salon-example.com"),
        ("https://*.Salon-Example.com:443", "https://*.salon-example.com"),
        ("https://*.salon-example.com:8443", "https://*.salon-example.com:8443"),
        ("https://*.peluquería.example", "https://*.xn--peluquera-n5a.example"),
    ],
)
def test_origins_are_kept_as_browsers_compare_them(written: str, kept: str) -> None:
    assert webchat_settings({"embed_origins": [written]}).embed_origins == [kept]


def test_unset_means_any_site_and_repeats_are_kept_once() -> None:
    assert webchat_settings({}).embed_origins == []
    twice = webchat_settings({"embed_origins": [SITE, "https://WWW.salon-example.com:443"]})
    assert twice.embed_origins == [SITE]


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("salon-example.com", "it has no scheme (write 'https://salon-example.com'"),
        ("www.salon-example.com:8080", "write 'https://www.salon-example.com:8080'"),
        (f"{SITE}/", f"no path, not even a final '/' (drop '/': write '{SITE}')"),
        (f"{SITE}/chat", f"(drop '/chat': write '{SITE}')"),
        (f"{SITE}?from=ads", f"(drop '?from=ads': write '{SITE}')"),
        (f"{SITE}\n", "spaces or a line break around it"),
        (f"{SITE}:70000", "a port is 1 to 65535"),
        ("ftp://files.salon-example.com", "scheme and host, optional port, no path"),
        ("*", "'*' (any site) is what leaving embed_origins out means"),
        ("https://*", "the only wildcard is a whole first label"),
        ("https://www.*.salon-example.com", "the only wildcard is a whole first label"),
        ("https://*.com", "the subdomains of one domain name"),
        ("*.salon-example.com", "write 'https://*.salon-example.com'"),
        ("https://*.salon-example.com/", "write 'https://*.salon-example.com'"),
    ],
)
def test_what_is_not_an_origin_is_refused_naming_the_place_and_the_fix(
    written: str, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        webchat_settings({"embed_origins": [SITE, written]}, source="tenants/bella.yaml")
    message = str(caught.value)
    assert "tenants/bella.yaml" in message
    assert "channel.embed_origins[1]" in message
    assert says in message


def test_the_control_plane_names_the_place_too() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_channel({"type": "webchat", "embed_origins": ["salon-example.com"]})
    assert caught.value.field == "channel.embed_origins[0]"
    assert "write 'https://salon-example.com'" in caught.value.detail


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("salon-example.com", "it has no scheme (write 'https://salon-example.com'"),
        (f"{SITE}/", f"(drop '/': write '{SITE}')"),
        ("https://*.salon-example.com", "wildcards are not accepted"),
    ],
)
def test_allowed_origins_are_refused_in_the_same_words(written: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        webchat_settings({"allowed_origins": [written]}, source="tenants/bella.yaml")
    assert "channel.allowed_origins[0]" in str(caught.value)
    assert says in str(caught.value)
