"""Alembic revisions of the control-plane database (run by `run_migrations`)."""

from __future__ import annotations
