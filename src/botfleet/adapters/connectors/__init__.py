"""Connectors: back ends the flows call by category (calendar, llm, mock...)."""

from __future__ import annotations
