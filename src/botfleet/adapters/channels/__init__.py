"""Channel adapters and the capability-based degradation they share."""

from __future__ import annotations

from botfleet.adapters.channels.degrade import degrade, numbered_text, shorten, split_text

__all__ = ["degrade", "numbered_text", "shorten", "split_text"]
