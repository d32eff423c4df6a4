"""The tenant's `llm.fallback_text`: one text as before, or one per language, the turn's picked
(else the tenant's, else the first listed); a wrong map is an error naming the file and key."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.adapters.llm import llm_options
from botfleet.adapters.llm.options import DEFAULT_FALLBACK_TEXT
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping

FLOW = {"id": "f", "initial_state": "A", "states": {"A": {}}}
TEXTS = {"es": "Llámenos.", "en": "Call us."}


def config(**raw: Any) -> TenantConfig:
    return tenant_config_from_mapping({"tenant_id": "t", "flow": FLOW, **raw}, source="t.yaml")


def test_a_map_gives_the_text_of_the_turns_language_else_the_tenants_else_the_first() -> None:
    options = llm_options(config(llm={"fallback_text": TEXTS}))
    assert options.safe_text("Flow's.", "en", "es") == "Call us."
    assert options.safe_text("Flow's.", "es-MX", "en") == "Llámenos."
    assert options.safe_text("Flow's.", "de", "en") == "Call us."  # the tenant's
    assert options.safe_text("Flow's.", "", "fr") == "Llámenos."  # the first listed


def test_one_text_still_wins_in_every_language_and_none_leaves_the_flows() -> None:
    options = llm_options(config(llm={"fallback_text": "Call us."}))
    assert options.safe_text("Flow's.", "es", "es") == "Call us."
    assert llm_options(config(llm={"fallback_text": ""})).safe_text("Flow's.", "es") == "Flow's."
    assert llm_options(config()).safe_text("", "es", "es") == DEFAULT_FALLBACK_TEXT


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ({"spanish": "Llámenos."}, "'spanish' is not a language tag"),
        ({"es": "Llámenos.", "en": ""}, "the text in 'en' is empty"),
        ({"es": "Llámenos.", "ES": "Llámenos."}, "'es' and 'ES' are the same language"),
        ({}, "no language given"),
        (["Llámenos."], "expected a text, or one text per language"),
    ],
)
def test_a_wrong_map_is_an_error_naming_the_file_and_key(text: Any, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        llm_options(config(llm={"fallback_text": text}))
    message = str(caught.value)
    assert message.startswith("t.yaml: llm.fallback_text: fallback_text: ")
    assert problem in message
    assert "Value error" not in message
