"""A contact asked for by a more channel's id without its prefix.

Ids of the tenant's `channel` go without a prefix, those of `more_channels` with their kind's
(docs/channels.md, "Several channels"): the web chat page's `web-1` is `webchat:web-1` on a
tenant whose `channel` is Telegram. Asked for as `web-1`, a run, a list of reminders, an export
or an erasure would find no one and answer as if nothing were held: an erasure's zeros read as
done. So a bare id under which nothing is held, whose prefixed form holds something, is refused
with the id to ask for instead. Not resolved to it: a bare number may be the `channel`'s contact
and another channel's both, two people.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from botfleet.domain.channel_ids import named_kind
from botfleet.flows.turn import StepContext


async def misfiled_bare_id(
    ctx: StepContext, contact_id: str, holds: Callable[[str], Awaitable[bool]]
) -> str | None:
    """What is wrong with asking for `contact_id`, when `holds` finds nothing under it but
    something under a more channel's prefix and it; None when nothing is."""
    if not ctx.more_channels or named_kind(contact_id) is not None:
        return None
    if await holds(contact_id):
        return None
    for prefix, kind in ctx.more_channels:
        if await holds(prefix + contact_id):
            return (
                f"{contact_id!r} is no {ctx.channel} contact of this tenant (an id without a "
                f"prefix is its `channel`'s); its {kind} contact is {prefix + contact_id!r} "
                '(docs/channels.md, "Several channels")'
            )
    return None
