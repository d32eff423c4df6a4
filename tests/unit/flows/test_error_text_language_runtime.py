"""The runtime's own apology (a template error under `strict_templates`, in `step_loop`) follows
the contact's language, else the tenant's; the flow's `settings.error_text` wins."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from botfleet.domain.built_in_texts import BUILT_IN_TEXTS
from botfleet.domain.outputs import Text
from botfleet.testing.runtime import bootstrap_test_runtime, make_tenant_config, text_message


def flow(settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every message renders a value that is not there: with `strict_templates`, an error."""
    return {
        "id": "strict_v1",
        "initial_state": "ASK",
        "settings": {"strict_templates": True, **(settings or {})},
        "states": {
            "ASK": {
                "on_enter": [{"action": "send_text", "text": "Hi {{ data.missing }}"}],
                "fallback": "ASK",
            }
        },
    }


async def replies(spec: dict[str, Any], tenant_language: str, contact_language: str = "") -> list:
    config = make_tenant_config(spec, language=tenant_language)
    async with bootstrap_test_runtime(config) as runtime:
        message = replace(text_message("c1", "hola"), language=contact_language)
        return list((await runtime.handle(message)).outputs)


async def test_a_template_error_gets_the_apology_of_the_tenants_language() -> None:
    assert await replies(flow(), "es") == [Text(BUILT_IN_TEXTS["es"].error)]


async def test_the_contacts_language_wins_over_the_tenants() -> None:
    assert await replies(flow(), "es", "fr-FR") == [Text(BUILT_IN_TEXTS["fr"].error)]


async def test_the_flows_error_text_wins() -> None:
    own = flow({"error_text": "Algo ha ido mal."})
    assert await replies(own, "de", "it") == [Text("Algo ha ido mal.")]
