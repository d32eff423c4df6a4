"""A value built once per loaded flow, for the engine's lookups that depend on the flow alone.

Flows are immutable once loaded, and a data plane holds one or two at a time (a published
version swapped in): each value is kept by the flow's identity, with the flow itself (so an
id reused by a later object never finds a stale entry), for the last `most` flows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from botfleet.flows.schema import FlowSpec

T = TypeVar("T")


class PerFlow(Generic[T]):
    """`per_flow(flow)`: `build(flow)`, built at the first call for that flow."""

    __slots__ = ("_build", "_entries", "_most")

    def __init__(self, build: Callable[[FlowSpec], T], *, most: int = 64) -> None:
        self._build = build
        self._most = most
        self._entries: dict[int, tuple[FlowSpec, T]] = {}

    def __call__(self, flow: FlowSpec) -> T:
        entry = self._entries.get(id(flow))
        if entry is None or entry[0] is not flow:
            if len(self._entries) >= self._most:
                self._entries.pop(next(iter(self._entries)))
            entry = self._entries[id(flow)] = (flow, self._build(flow))
        return entry[1]
