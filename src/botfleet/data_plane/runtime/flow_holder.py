"""The tenant's current flow and knowledge, swappable while the bot runs (hot reload)."""

from __future__ import annotations

from dataclasses import dataclass

from botfleet.flows.schema import FlowSpec


@dataclass(slots=True)
class LiveConfig:
    """Read on every turn, so a newly published flow or knowledge applies to the next message."""

    flow: FlowSpec
    flow_version: str = "local"
    knowledge: str = ""
    knowledge_version: str = ""

    def swap_flow(self, flow: FlowSpec, version: str) -> None:
        self.flow, self.flow_version = flow, version

    def swap_knowledge(self, text: str, version: str) -> None:
        self.knowledge, self.knowledge_version = text, version
