"""Option types shared by several commands (kept free of heavy imports: `botfleet --help`)."""

from __future__ import annotations

from enum import StrEnum


class LogLevel(StrEnum):
    """`--log-level`: the runtime's log lines at this level and up go to stderr."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


class Channel(StrEnum):
    """`--channel` (`chat`, `test`): the channel whose limits the bot's outputs are fitted to
    (kept here, not taken from `testing.sandbox`: `botfleet --help` imports no channel
    adapter)."""

    whatsapp = "whatsapp"
    telegram = "telegram"
    webchat = "webchat"
