"""botfleet: multi-tenant conversational bot platform."""

from __future__ import annotations

__version__ = "0.1.0"
