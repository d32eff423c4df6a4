"""Where in a parsed JSON document the first bad value is, named as errors name places."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def first_bad_place(
    value: Any,
    bad_value: Callable[[Any], bool],
    where: str = "body",
    bad_key: Callable[[str], bool] | None = None,
) -> str | None:
    """The place (``body.name``, ``body[1]``, ``body (an object key)``) of the first value
    other than an object or array for which `bad_value` holds, or of the first object key for
    which `bad_key` holds; None when there is none. Keys are cut to 64 characters in places."""
    if isinstance(value, dict):
        for key, item in value.items():
            if bad_key is not None and bad_key(key):
                return f"{where} (an object key)"
            place = first_bad_place(item, bad_value, f"{where}.{str(key)[:64]}", bad_key)
            if place is not None:
                return place
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            place = first_bad_place(item, bad_value, f"{where}[{index}]", bad_key)
            if place is not None:
                return place
        return None
    return where if bad_value(value) else None
