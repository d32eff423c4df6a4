"""StateCache: a bounded LRU of the last committed state per contact."""

from __future__ import annotations

import pytest

from botfleet.data_plane.runtime.state_cache import StateCache
from botfleet.testing.stores import sample_state


def test_the_least_recently_used_contact_goes_first() -> None:
    cache = StateCache(max_contacts=2)
    cache.put(sample_state("a"))
    cache.put(sample_state("b"))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put(sample_state("c"))
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert cache.get("c") is not None
    assert len(cache) == 2


def test_forget_one_or_all() -> None:
    cache = StateCache()
    cache.put(sample_state("a"))
    cache.put(sample_state("b"))
    cache.forget("a")
    assert cache.get("a") is None
    cache.forget()
    assert len(cache) == 0


def test_size_zero_caches_nothing_and_negative_is_refused() -> None:
    cache = StateCache(max_contacts=0)
    cache.put(sample_state("a"))
    assert cache.get("a") is None
    with pytest.raises(ValueError, match=">= 0"):
        StateCache(max_contacts=-1)
