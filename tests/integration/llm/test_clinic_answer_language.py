"""The dental clinic example tells the LLM to answer in a language only once the contact chose
one: a greeting ("Hello", "hola") or the tenant's language is no choice (docs/llm.md, "The
answer's language"). Before its START stopped guessing `data.lang`, every question of a
contact who had not chosen ended with `Reply in: Spanish`, and an English patient's "Do you
have parking?" was answered in Spanish."""

from __future__ import annotations

from pathlib import Path

from botfleet.domain.tenant_config import load_tenant_config
from botfleet.testing.llm import ScriptedLLM, in_scope
from botfleet.testing.sandbox import Contact, open_sandbox

CLINIC = Path(__file__).parents[3] / "examples" / "dental_clinic" / "tenant.yaml"


async def test_the_clinic_sets_no_answer_language_until_the_contact_chooses() -> None:
    llm = ScriptedLLM([in_scope("Yes: Calle de Alcalá 95."), in_scope("Yes.")])
    config = load_tenant_config(CLINIC)
    async with open_sandbox(config, llm=llm, strict=True, contact=Contact(id="web-9")) as bot:
        await bot.say("Hello")
        await bot.say("Do you have parking?")
        await bot.say("English")  # the contact chooses
        await bot.say("Do you take Sanitas?")
        state = await bot.runtime.states.load("web-9")
    assert [call.question for call in llm.calls] == ["Do you have parking?", "Do you take Sanitas?"]
    # No choice: the answer follows the question's language; chosen: English.
    assert [call.context.reply_language for call in llm.calls] == ["", "en"]
    assert state is not None and state.data["lang"] == "en"


async def test_a_greeting_in_spanish_chooses_no_language_either() -> None:
    llm = ScriptedLLM([in_scope("Sí.")])
    config = load_tenant_config(CLINIC)
    async with open_sandbox(config, llm=llm, strict=True, contact=Contact(id="web-8")) as bot:
        await bot.say("hola")
        await bot.say("¿Aceptan el seguro Sanitas?")
        state = await bot.runtime.states.load("web-8")
    assert [call.context.reply_language for call in llm.calls] == [""]
    assert state is not None and "lang" not in state.data
