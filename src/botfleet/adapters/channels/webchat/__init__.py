"""Web chat channel: a JSON API, a chat page and an embeddable widget (the seed's `http_dev`)."""

from __future__ import annotations

from botfleet.adapters.channels.webchat.api import MAX_BODY_BYTES, build_routes
from botfleet.adapters.channels.webchat.capabilities import WEBCHAT_CAPABILITIES
from botfleet.adapters.channels.webchat.fast_inbound import InboundFastPath

__all__ = ["MAX_BODY_BYTES", "WEBCHAT_CAPABILITIES", "InboundFastPath", "build_routes"]
