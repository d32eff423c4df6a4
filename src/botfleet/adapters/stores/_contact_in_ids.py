"""Which stored ids name a contact: a reminder's run id (`once:reminder:34600111222@...`, from
the flow's own key) holds the contact's id in clear, and an erasure must not leave it.

Hand-written: the ids are the flow's keys, in no fixed shape, so the contact's id is found as a
whole word of one (not part of a longer number: `1234` in `12345` is another contact's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: A run id's own parts around the flow's key (`once:` and `@<due time>`): a contact id that
#: happens to read like them (a web chat id `once`, chosen by the page) names no run.
_RUN_PARTS = re.compile(r"\A(?:once|standing):|@[0-9T.]+Z\Z")


def names_contact(stored_id: str, contact_id: str) -> bool:
    """Whether `contact_id` stands as a whole (no letter or digit either side) in the key part
    of the run id `stored_id`."""
    if not contact_id:
        return False
    key = _RUN_PARTS.sub("", stored_id)
    pattern = rf"(?<![0-9A-Za-z]){re.escape(contact_id)}(?![0-9A-Za-z])"
    return re.search(pattern, key) is not None


def like_pattern(contact_id: str) -> str:
    """A SQL `LIKE ... ESCAPE '\\'` pattern of the ids holding `contact_id` anywhere: the
    candidates `names_contact` then decides on."""
    escaped = contact_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def naming(stored_ids: Iterable[str], contact_id: str) -> list[str]:
    return [stored for stored in stored_ids if names_contact(stored, contact_id)]
