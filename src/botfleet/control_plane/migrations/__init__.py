"""Alembic environment and revisions of the control-plane database."""

from __future__ import annotations
