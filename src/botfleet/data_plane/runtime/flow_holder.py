"""The tenant's current flow and knowledge, swappable while the bot runs (hot reload)."""

from __future__ import annotations

from dataclasses import dataclass

from botfleet.flows.schema import FlowSpec


@dataclass(slots=True)
class LiveConfig:
    """Read once at the start of each turn: a newly published flow applies from the next
    message or task, and never to a turn under way (one turn, one version: docs/flow-dsl.md,
    "Publishing a new version while conversations are running")."""

    flow: FlowSpec
    flow_version: str = "local"
    knowledge: str = ""
    knowledge_version: str = ""

    def swap_flow(self, flow: FlowSpec, version: str) -> None:
        self.flow, self.flow_version = flow, version

    def swap_knowledge(self, text: str, version: str) -> None:
        self.knowledge, self.knowledge_version = text, version
