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


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("https://..", "an empty label: two dots in a row"),
        ("https://.", "an empty label"),
        ("https://www..salon-example.com", "an empty label"),
        ("https://www.salon-example.com.", "a dot at the start or the end"),
        ("https://-.example", "the label '-' starts or ends with '-'"),
        ("https://www-.salon-example.com", "the label 'www-' starts or ends with '-'"),
        ("https://" + "a" * 64 + ".example", "is longer than 63 characters"),
        ("https://*..", "'https://*..' is not an origin: its host is not a valid domain name"),
        ("https://*.a.", "'https://*.a.' is not an origin: its host is not a valid domain name"),
        ("https://*.-salon.example", "the label '-salon' starts or ends with '-'"),
        ("https://*.salon-example.com:0", "'https://*.salon-example.com:0' is not an origin: a"),
        ("https://*.1.2.3", "an IP address has no subdomains"),
    ],
)
def test_a_host_that_is_no_domain_name_is_refused_saying_why(written: str, says: str) -> None:
    for key in ("embed_origins", "allowed_origins"):
        if "*" in written and key == "allowed_origins":
            continue
        with pytest.raises(ConfigError) as caught:
            webchat_settings({key: [written]}, source="tenants/bella.yaml")
        assert f"channel.{key}[0]" in str(caught.value)
        assert says in str(caught.value)


@pytest.mark.parametrize(
    "suffix",
    ["github.io", "netlify.app", "vercel.app", "pages.dev", "herokuapp.com", "co.uk", "com.au",
     "com.br", "co.jp", "com.es", "org.mx", "co.nz", "web.app", "myshopify.com"],
)  # fmt: skip
def test_a_wildcard_over_a_name_anyone_may_have_a_site_under_is_refused(suffix: str) -> None:
    with pytest.raises(ConfigError) as caught:
        webchat_settings({"embed_origins": [f"https://*.{suffix}"]}, source="t.yaml")
    assert f"anyone may have a site under {suffix}" in str(caught.value)
    assert f"'https://your-site.{suffix}'" in str(caught.value)


@pytest.mark.parametrize(
    "written",
    [
        "https://*.salon.co.uk",
        "https://*.salon.github.io",
        "https://salon.github.io",
        "https://www.salon.com.au",
        "https://*.co.example",
        "https://*.xn--peluquera-n5a.es",
        "https://1.2.3.4",
        "https://a-b.c-d.example",
    ],
)
def test_a_business_s_own_names_under_those_are_kept(written: str) -> None:
    assert webchat_settings({"embed_origins": [written]}).embed_origins == [written]


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
