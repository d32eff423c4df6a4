"""Control-plane persistence: tables, repositories, unit of work, engine and migrations."""

from __future__ import annotations
