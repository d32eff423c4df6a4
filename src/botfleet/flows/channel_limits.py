"""The channel a flow's menu and length warnings speak of, and its limits. Pure.

Flows never import adapters, so whoever knows the tenant's channel (the CLI's `validate`, the
control plane's upload) passes its adapter's `Capabilities` in, through `channel_limits`.
Without a tenant the checks use `WHATSAPP`, the strictest channel: a flow that fits WhatsApp
fits them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from botfleet.domain.errors import FlowIssue
from botfleet.domain.outputs import Capabilities

__all__ = [
    "WHATSAPP",
    "WHATSAPP_MAX_BUTTON_ID",
    "WHATSAPP_MAX_ROW_ID",
    "ChannelLimits",
    "channel_limits",
    "other_channel_warnings",
]

#: WhatsApp's longest reply button id and list row id, in characters (the adapter's
#: `MAX_BUTTON_ID` and `MAX_ROW_ID`; a test pins them alike).
WHATSAPP_MAX_BUTTON_ID = 256
WHATSAPP_MAX_ROW_ID = 200


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    """A channel's limits (its adapter's `Capabilities`) and the words the warnings use for it.

    A list's `button_label` and section titles are cut as degradation cuts them
    (`botfleet.domain.degrade`): to `max_button_title` and `max_row_title`.
    """

    #: How warnings name the channel: "WhatsApp shows at most 3".
    name: str
    capabilities: Capabilities
    #: What a list looks like there, for "so it gets them as <list_form>".
    list_form: str = "a list (one button that opens the choices)"
    #: Whether a list has a button of its own showing `button_label`.
    list_button: bool = True
    #: Whether the channel refuses a whole message that has two buttons with one title.
    refuses_same_titles: bool = False
    #: Longest option id, in UTF-8 bytes, a press carries as it is; a longer one is sent by
    #: position (`#opt<n>.<fingerprint>`). None: every id a flow may write fits.
    max_option_id_bytes: int | None = None
    #: Longest id, in characters, a reply button and a list row carry as they are (WhatsApp's
    #: 256 and 200); a longer one is sent by position as above. None: no such limit.
    max_button_id: int | None = None
    max_row_id: int | None = None


#: The limits checked when no tenant says which channel the flow runs on. The domain's default
#: `Capabilities` are WhatsApp's (a test pins them to the adapter's own).
WHATSAPP = ChannelLimits(
    "WhatsApp",
    Capabilities(templates=True),
    refuses_same_titles=True,
    max_button_id=WHATSAPP_MAX_BUTTON_ID,
    max_row_id=WHATSAPP_MAX_ROW_ID,
)


def channel_limits(
    kind: str,
    capabilities: Capabilities,
    *,
    max_option_id_bytes: int | None = None,
    max_button_id: int | None = None,
    max_row_id: int | None = None,
) -> ChannelLimits:
    """The limits of a tenant's channel, `channel.type` `kind`, with its adapter's
    `capabilities` (and its id limits, when it has some the flow's ids may exceed)."""
    if kind == "whatsapp":
        return ChannelLimits(
            "WhatsApp",
            capabilities,
            refuses_same_titles=True,
            max_option_id_bytes=max_option_id_bytes,
            max_button_id=max_button_id,
            max_row_id=max_row_id,
        )
    if kind == "telegram":
        return ChannelLimits(
            "Telegram",
            capabilities,
            # An inline keyboard: one button per row, descriptions written under the text.
            list_form="a list (a button per row, descriptions under the text)",
            list_button=False,
            max_option_id_bytes=max_option_id_bytes,
            max_button_id=max_button_id,
            max_row_id=max_row_id,
        )
    return ChannelLimits(
        "the web chat",
        capabilities,
        list_form="a list",
        max_option_id_bytes=max_option_id_bytes,
        max_button_id=max_button_id,
        max_row_id=max_row_id,
    )


def other_channel_warnings(
    known: Iterable[FlowIssue], others: Iterable[Iterable[FlowIssue]]
) -> list[FlowIssue]:
    """The warnings of a flow checked with other channels' limits (`others`: one channel's
    issues each, a tenant's `more_channels`) that `known` (those of its `channel`) lack: four
    buttons are fine on the web chat and a list on WhatsApp. The one rule of `botfleet
    validate` and the control plane's upload."""
    seen = {(issue.path, issue.message) for issue in known}
    added = []
    for issues in others:
        for issue in issues:
            if issue.severity == "warning" and (issue.path, issue.message) not in seen:
                seen.add((issue.path, issue.message))
                added.append(issue)
    return added
