"""The last committed state of recently active contacts, so a turn need not read the store.

Safe because every commit names the version it expects: a cached state that went stale (another
writer on the file, a reset) makes the commit fail with `ConcurrentUpdate`, and the runtime then
runs the turn again from the store. The cached values are what `commit_turn` returned, i.e.
exactly what the store would load.
"""

from __future__ import annotations

from collections import OrderedDict

from botfleet.flows.state import ConversationState

# A cached demo state is ~12 KB (it holds the offered day and slot lists): 4096 of them were
# ~50 MB, most of the idle-memory target. A turn only needs the contacts active right now; a
# miss costs one indexed read of the store.
DEFAULT_MAX_CONTACTS = 512


class StateCache:
    """A bounded LRU map: contact id -> last committed state."""

    def __init__(self, max_contacts: int = DEFAULT_MAX_CONTACTS) -> None:
        if max_contacts < 0:
            raise ValueError(f"state cache size must be >= 0, got {max_contacts}")
        self.max_contacts = max_contacts
        self._states: OrderedDict[str, ConversationState] = OrderedDict()

    def get(self, contact_id: str) -> ConversationState | None:
        state = self._states.get(contact_id)
        if state is not None:
            self._states.move_to_end(contact_id)
        return state

    def put(self, state: ConversationState) -> None:
        if self.max_contacts == 0:
            return
        self._states[state.contact_id] = state
        self._states.move_to_end(state.contact_id)
        if len(self._states) > self.max_contacts:
            self._states.popitem(last=False)

    def forget(self, contact_id: str | None = None) -> None:
        """Drop one contact (its state was written elsewhere, or a turn failed), or everyone."""
        if contact_id is None:
            self._states.clear()
        else:
            self._states.pop(contact_id, None)

    def __len__(self) -> int:
        return len(self._states)
