"""Control-plane use cases: plain async functions over a unit of work."""

from __future__ import annotations
