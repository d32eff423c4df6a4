"""Knowledge hot swap through the running data plane: next message, no restart."""

from __future__ import annotations

import os
from pathlib import Path

from llm_runtime_kit import SAFE, running_bot, tenant, texts
from structlog.testing import capture_logs

from botfleet.adapters.llm.mock import MockLLM

OLD = "- Opening hours: Monday to Friday 10:00-14:00.\n"
NEW = "- Opening hours: Monday to Saturday 09:00-13:00.\n- Parking: Calle Mayor 20.\n"


def edit(path: Path, text: str) -> None:
    """Write and move the mtime on by a second (file systems with coarse clocks)."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


async def test_editing_the_local_knowledge_file_applies_to_the_next_message(
    tmp_path: Path,
) -> None:
    path = tmp_path / "knowledge.md"
    path.write_text(OLD, encoding="utf-8")
    config = tenant(knowledge=None, knowledge_path=str(path))
    async with running_bot(config) as bot:
        assert texts(await bot.say("When do you open?")) == [
            "Opening hours: Monday to Friday 10:00-14:00."
        ]
        assert texts(await bot.say("Where can I park?")) == [SAFE]
        first_version = bot.runtime.live.knowledge_version
        edit(path, NEW)
        assert texts(await bot.say("When do you open?")) == [
            "Opening hours: Monday to Saturday 09:00-13:00."
        ]
        assert texts(await bot.say("Where can I park?")) == ["Parking: Calle Mayor 20."]
        assert bot.runtime.live.knowledge_version != first_version
        assert bot.runtime.live.knowledge == NEW


async def test_a_published_version_swapped_in_applies_to_the_next_message() -> None:
    llm = MockLLM()
    async with running_bot(tenant({"knowledge_version": "v3"}), llm_connector=llm) as bot:
        assert bot.runtime.live.knowledge_version == "v3"
        await bot.say("When do you open?")
        bot.runtime.live.swap_knowledge(NEW, "v4")  # what the control plane's push does
        assert texts(await bot.say("Where can I park?")) == ["Parking: Calle Mayor 20."]
        assert llm.calls[-1].knowledge == NEW


async def test_a_document_too_large_for_the_model_is_warned_about_at_boot() -> None:
    huge = "- Fact: " + "lorem ipsum " * 20_000
    with capture_logs() as logs:
        async with running_bot(tenant({"context_tokens": 8000}, knowledge=huge)):
            pass
    [warning] = [e for e in logs if e["event"] == "llm_knowledge_too_large"]
    assert warning["log_level"] == "warning"
    assert warning["estimated_tokens"] > warning["limit_tokens"]
