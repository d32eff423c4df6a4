"""The limits a tenant's channel declares, for the validator's warnings (`flows.channel_limits`):
one lookup for `botfleet validate` and the control plane's flow uploads, which must word a
flow's warnings alike. Adapters are imported only for the type asked (their constants)."""

from __future__ import annotations

from botfleet.flows.channel_limits import ChannelLimits, channel_limits

__all__ = ["declared_channel_limits"]


def declared_channel_limits(kind: str | None) -> ChannelLimits | None:
    """The limits of channel type `kind` as its adapter declares them; None for a type without
    an adapter (its flow is then checked against WhatsApp's, the strictest)."""
    if kind in ("webchat", "http_dev"):
        from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES

        return channel_limits(kind, WEBCHAT_CAPABILITIES)
    if kind == "whatsapp":
        from botfleet.adapters.channels.whatsapp.payloads import (
            MAX_BUTTON_ID,
            MAX_ROW_ID,
            WHATSAPP_CAPABILITIES,
        )

        return channel_limits(
            kind, WHATSAPP_CAPABILITIES, max_button_id=MAX_BUTTON_ID, max_row_id=MAX_ROW_ID
        )
    if kind == "telegram":
        from botfleet.adapters.channels.telegram.payloads import (
            MAX_CALLBACK_DATA_BYTES,
            TELEGRAM_CAPABILITIES,
        )

        return channel_limits(
            kind, TELEGRAM_CAPABILITIES, max_option_id_bytes=MAX_CALLBACK_DATA_BYTES
        )
    return None
