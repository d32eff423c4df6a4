"""Which stored ids name a contact: a reminder's run id (`once:reminder:34600111222@...`, from
the flow's own key) holds the contact's id in clear, and an erasure must not leave it.

Hand-written: the ids are the flow's keys, in no fixed shape, so the contact's id is found as a
whole word of one (not part of a longer number: `1234` in `12345` is another contact's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def names_contact(stored_id: str, contact_id: str) -> bool:
    """Whether `contact_id` stands in `stored_id` as a whole (no letter or digit either side)."""
    if not contact_id:
        return False
    pattern = rf"(?<![0-9A-Za-z]){re.escape(contact_id)}(?![0-9A-Za-z])"
    return re.search(pattern, stored_id) is not None


def like_pattern(contact_id: str) -> str:
    """A SQL `LIKE ... ESCAPE '\\'` pattern of the ids holding `contact_id` anywhere: the
    candidates `names_contact` then decides on."""
    escaped = contact_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def naming(stored_ids: Iterable[str], contact_id: str) -> list[str]:
    return [stored for stored in stored_ids if names_contact(stored, contact_id)]
