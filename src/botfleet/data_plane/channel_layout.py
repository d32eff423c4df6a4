"""At start: the tenant's channels against those its state file was kept for.

Ids of the tenant's `channel` carry no prefix, those of `more_channels` their kind's
(docs/channels.md, "Several channels"). Two layouts would read the same file differently:
- `channel` of another kind while either layout has more channels (a web chat moved from
  `more_channels` to `channel` and WhatsApp the other way): the unprefixed conversations, a
  WhatsApp number's, would become the web chat's, which any page may read with that id;
- a kind added to `more_channels`, never served from this file, while the file already holds
  ids with its prefix (written before pages were refused them): those conversations, a page's,
  would become that channel's contacts, and their messages would answer for the real ones.
The file keeps every kind it ever served: a channel removed and added again is its own.
Either is refused, naming the way out; anything else is kept as the new layout.
"""

from __future__ import annotations

from botfleet.adapters.stores._sqlite_channels import SqliteChannelLayout
from botfleet.domain.channel_ids import channel_kind, id_prefix
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import TenantConfig

WAY_OUT = 'docs/channels.md, "Several channels"'


async def check_channel_layout(layout: SqliteChannelLayout, config: TenantConfig) -> None:
    """Raise `ConfigError` (every problem at once) for a layout that would hand conversations
    to another channel; else keep it."""
    channel = channel_kind(config.channel.type)
    more = tuple(channel_kind(b.type) for b in config.more_channels)
    stored = await layout.stored()
    problems: list[tuple[str, str]] = []
    if stored is not None and stored[0] != channel and (stored[1] or more):
        # (stored[1]: every kind it served as a more channel, removed ones included)
        problems.append(
            (
                "channel.type",
                f"the state file holds the conversations of a tenant whose `channel` is "
                f"{stored[0]!r}: its contacts' ids have no prefix, and would become {channel!r} "
                f"contacts; keep {stored[0]!r} as `channel` ({WAY_OUT})",
            )
        )
    known = set(stored[1]) if stored is not None else set()
    for index, kind in enumerate(more):
        if kind in known:
            continue
        found = await layout.ids_with_prefix(id_prefix(kind))
        if found:
            problems.append(
                (
                    f"more_channels[{index}].type",
                    f"the state file already holds {found} conversation(s) or message(s) of "
                    f"contacts whose ids start with '{kind}:', written before {kind} was one "
                    f"of this tenant's channels (a web chat page's): they would become {kind} "
                    "contacts; start "
                    "once without it, erase them (GET /conversations, DELETE /contacts/<id>: "
                    f"docs/operations.md), then add it ({WAY_OUT})",
                )
            )
    if problems:
        raise ConfigError.of(config.source, problems)
    # Every kind the file ever served: a channel removed and added again finds its own
    # contacts (and their reminders) as it left them.
    served = (*(stored[1] if stored is not None else ()), *(k for k in more if k not in known))
    if stored != (channel, served):
        await layout.keep(channel, served)
