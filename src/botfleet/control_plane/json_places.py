"""Where in a parsed JSON document a value is, named as the control plane's errors name places.

One walker (`leaves`) serves every check that looks through a document: lone surrogates in
request bodies, non-finite numbers in credentials, credentials written into binding URLs, and
the hosts of the URLs `CP_TENANT_URL_POLICY` checks. Places read ``body.name``,
``body.items[2]``, ``connectors.calendar.url``: an object's member after a dot, an array's
item by its index in brackets (as pydantic errors are rendered by `loc_place`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Leaf:
    """A value that is neither an object nor an array (or, with `is_key`, an object's key),
    and where it is."""

    place: str
    #: The name of the object member it is in; an array's items are in their array's member.
    #: None at the top of the document.
    key: str | None
    value: Any
    #: `value` is a key of the object at `place` (``body (an object key)``), not a member.
    is_key: bool = False
    #: `value` nests deeper than the walk's `max_depth` (or is a JSON text too deep to parse)
    #: and was not looked into: a check that must see everything refuses it.
    too_deep: bool = False


def member_place(where: str, key: object, *, key_chars: int | None = None) -> str:
    """``where.key`` (the key cut to `key_chars` characters, when given)."""
    return f"{where}.{str(key)[:key_chars]}"


def item_place(where: str, index: int) -> str:
    """``where[index]``."""
    return f"{where}[{index}]"


def loc_place(where: str, loc: Iterable[str | int]) -> str:
    """A pydantic error's `loc` under `where`: ``("headers", "X-Shop")`` -> ``where.headers.
    X-Shop``, ``("allowed_origins", 0)`` -> ``where.allowed_origins[0]``."""
    place = where
    for part in loc:
        place = item_place(place, part) if isinstance(part, int) else member_place(place, part)
    return place


def leaves(
    value: Any,
    where: str = "body",
    *,
    skip: Collection[str] = (),
    json_text: bool = False,
    max_depth: int | None = None,
    key_chars: int | None = None,
) -> Iterator[Leaf]:
    """Every leaf of `value` with its place under `where`, in document order; each object key
    comes (as an `is_key` leaf) just before its member.

    Args:
        skip: members (by key, compared in lower case) not to look into.
        json_text: a string holding a JSON object (a service-account key given as text) is
            looked into as that object, at the string's place.
        max_depth: what is nested deeper is not looked into: each such value is one
            `too_deep` leaf (a JSON text can nest deeper than any request body is let through).
        key_chars: cut keys to this many characters in places (keeps messages short).
    """
    return _leaves(
        value, where, None, 0, _Options(frozenset(skip), json_text, max_depth, key_chars)
    )


@dataclass(frozen=True, slots=True)
class _Options:
    skip: frozenset[str]
    json_text: bool
    max_depth: int | None
    key_chars: int | None


def _leaves(value: Any, where: str, key: str | None, depth: int, how: _Options) -> Iterator[Leaf]:
    if how.max_depth is not None and depth > how.max_depth:
        yield Leaf(where, key, value, too_deep=True)
        return
    if isinstance(value, Mapping):
        for name, item in value.items():
            yield Leaf(f"{where} (an object key)", key, name, is_key=True)
            if str(name).lower() not in how.skip:
                place = member_place(where, name, key_chars=how.key_chars)
                yield from _leaves(item, place, str(name), depth + 1, how)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _leaves(item, item_place(where, index), key, depth + 1, how)
    elif how.json_text and isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            yield Leaf(where, key, value)
            return
        except RecursionError:  # JSON all right, but deeper than the parser goes
            yield Leaf(where, key, value, too_deep=True)
            return
        # Only one level of text: a JSON text inside the JSON text is a string like any other.
        inner = _Options(how.skip, False, how.max_depth, how.key_chars)
        yield from _leaves(parsed, where, key, depth + 1, inner)
    else:
        yield Leaf(where, key, value)


def first_bad_place(
    value: Any,
    bad_value: Callable[[Any], bool],
    where: str = "body",
    bad_key: Callable[[str], bool] | None = None,
) -> str | None:
    """The place (``body.name``, ``body[1]``, ``body (an object key)``) of the first value
    other than an object or array for which `bad_value` holds, or of the first object key for
    which `bad_key` holds; None when there is none. Keys are cut to 64 characters in places."""
    for leaf in leaves(value, where, key_chars=64):
        if leaf.is_key:
            if bad_key is not None and bad_key(leaf.value):
                return leaf.place
        elif bad_value(leaf.value):
            return leaf.place
    return None


def error_text(message: str) -> str:
    """A pydantic error's message as an operator reads it: a validator's ValueError comes as
    "Value error, <its message>", the prefix pydantic's own words."""
    return message.removeprefix("Value error, ")
