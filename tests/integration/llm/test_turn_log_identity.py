"""Connector and LLM lines written during a contact's turn name the tenant and the hashed
contact, as the runtime's own lines do, and never the raw contact id."""

from __future__ import annotations

import asyncio

from llm_runtime_kit import running_bot
from structlog.testing import capture_logs

from botfleet.contact_hash import hash_contact
from botfleet.data_plane.observability import turn_fields, turn_identity
from botfleet.data_plane.runtime.contact_log import ContactLog


async def test_connector_and_llm_lines_carry_tenant_and_hashed_contact() -> None:
    async with running_bot() as bot:
        tenant = bot.runtime.ctx.tenant.id
        with capture_logs() as logs:
            await bot.press("menu_book")
            await bot.say("Is there parking nearby?")
    expected = hash_contact(tenant, bot.contact)
    calls = [e for e in logs if e["event"] == "connector_call_finished"]
    questions = [e for e in logs if e["event"] == "llm_question"]
    assert {e["connector"] for e in calls} == {"calendar", "llm"}
    assert questions, logs
    for entry in [*calls, *questions]:
        assert (entry.get("tenant"), entry.get("contact")) == (tenant, expected), entry
    assert bot.contact not in repr(logs)


async def test_a_copied_context_in_another_task_is_no_turn() -> None:
    contact = ContactLog(None, "acme", "+34600123456")
    with turn_identity("acme", contact):
        assert turn_fields() == {"tenant": "acme", "contact": contact.contact_hash}
        # A task started during the turn (a scheduler's timer) inherits a copy of the context.
        elsewhere = await asyncio.create_task(_fields())
    assert elsewhere == {}
    assert turn_fields() == {}


async def _fields() -> dict[str, str]:
    return turn_fields()
