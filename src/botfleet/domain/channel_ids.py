"""Contact and message ids of a tenant served on several channels (`more_channels`).

The tenant's `channel` keeps its ids as the provider gives them, so a tenant that adds a channel
keeps its conversations. Each of `more_channels` has its ids prefixed with its kind
(`telegram:5551234`): two channels' ids never meet in the state, the journal, the outbox or the
jobs (a web chat page chooses its own ids, and could otherwise choose a WhatsApp number's).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: Channel types served by the built-in web chat (`http_dev` is the seed's name).
WEBCHAT_TYPES = ("webchat", "http_dev")
#: The kinds of the built-in channels: `<kind>:` in front of an id names one of them.
KINDS = ("webchat", "whatsapp", "telegram")


def channel_kind(channel_type: str) -> str:
    """The kind ids and paths are named after: the web chat's two names are one kind."""
    return "webchat" if channel_type in WEBCHAT_TYPES else channel_type


def id_prefix(channel_type: str) -> str:
    """The prefix of a more channel's contact and message ids: `telegram:`."""
    return f"{channel_kind(channel_type)}:"


def webhook_path(channel_type: str) -> str:
    """Where a more channel's provider delivers: `/webhook/telegram` (the tenant's own
    `channel` keeps `/webhook`)."""
    return f"/webhook/{channel_kind(channel_type)}"


def more_channel_ids(types: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """(id prefix, kind) of each of a tenant's `more_channels` types, as the engine's
    `StepContext.more_channels` takes them."""
    return tuple((id_prefix(t), channel_kind(t)) for t in types)


def more_channel_problems(primary: str, more: Sequence[str]) -> list[tuple[str, str]]:
    """(key, problem) for `more_channels` types that cannot sit beside `primary`'s."""
    problems: list[tuple[str, str]] = []
    seen = {channel_kind(primary): "channel"}
    if more and primary == "http_dev":
        problems.append(
            (
                "channel.type",
                "'http_dev' lists every contact's messages, the other channels' too: "
                "use 'webchat' with more_channels",
            )
        )
    for index, kind in enumerate(more):
        key = f"more_channels[{index}].type"
        if kind == "http_dev":
            problems.append((key, "'http_dev' lists every contact's messages: use 'webchat'"))
            continue
        first = seen.setdefault(channel_kind(kind), key.removesuffix(".type"))
        if first != key.removesuffix(".type"):
            problems.append((key, f"{kind!r} is already the tenant's channel in {first}"))
    return problems


def served_kind(contact_id: str, more: Iterable[tuple[str, str]]) -> str | None:
    """The kind of the more channel whose prefix `contact_id` has, among `more` ((id prefix,
    kind) pairs, `more_channel_ids`), else None: a contact of the tenant's own `channel`, or of
    a channel it no longer serves."""
    for prefix, kind in more:
        if contact_id.startswith(prefix):
            return kind
    return None


def named_kind(contact_id: str) -> str | None:
    """The kind a contact id names by its prefix (`telegram:555` -> telegram), else None."""
    kind, colon, _ = contact_id.partition(":")
    return kind if colon and kind in KINDS else None


def misplaced_prefix(contact_id: str, channel: str, more: Sequence[str]) -> str | None:
    """What is wrong with `contact_id` on a tenant on `channel` and `more` (kinds), when it
    names a kind its ids are not prefixed with: `whatsapp:34600...` where WhatsApp is the
    tenant's `channel` (its ids go without), or `telegram:555` on a tenant without Telegram
    (now: a channel removed leaves its contacts' conversations and reminders behind). Sending
    to it would give `channel` the whole id as its recipient."""
    kind = named_kind(contact_id)
    if kind is None or kind in more:
        return None
    if kind == channel:
        rest = contact_id.removeprefix(id_prefix(kind))
        return (
            f"{kind} is this tenant's `channel`, whose contacts' ids have no prefix: "
            f'{rest!r} (docs/channels.md, "Several channels")'
        )
    return f'this tenant has no {kind} channel (docs/channels.md, "Several channels")'
