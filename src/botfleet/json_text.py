"""Compact JSON text of values already known to be JSON, the fast way: orjson, with the standard
library's encoder for what orjson refuses.

Every turn encodes its conversation data, outputs, journal entry and answer; with the standard
library that was ~7% of a web chat turn's CPU, with orjson a tenth of it (docs/decisions.md,
"orjson for the turn's JSON"). Both write the same values: insertion-ordered keys, floats
that read back equal, no spaces. What differs only in spelling: orjson writes non-ASCII text as
UTF-8 instead of ``\\u`` escapes (both are valid JSON and read back the same).

orjson refuses, where the standard library accepts, a string holding a lone surrogate (broken
UTF-16 from a channel: it cannot be UTF-8), an integer beyond 64 bits and a dict key that is
not a string; those values go through the standard library's encoder, as everything did
before. The `PASSTHROUGH` options keep orjson from writing what the standard library refuses
(datetimes, dataclasses, subclasses of str/int/dict/list it would otherwise take as-is): they
reach the standard library too, which raises its usual `TypeError`. NaN and the infinities are
the callers' to refuse first (`botfleet.adapters.stores.codec.check_json`): orjson writes them
as null.

`orjson_text` is the first half alone, for a caller that will parse the text back at once:
what orjson wrote, orjson reads back as the standard library would (`orjson.loads`, 2-3x
faster than `json.loads`). Text from the fallback must go to `json.loads`: orjson would read an
integer beyond 64 bits as a float, without saying so.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
# One encoder for every call: `json.dumps` with options builds a new one each time.
_FALLBACK = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_dumps = orjson.dumps
_Refused = orjson.JSONEncodeError


def json_bytes(value: Any) -> bytes:
    """UTF-8 JSON of `value` (what `json_text` gives, encoded)."""
    try:
        return _dumps(value, option=_OPTIONS)
    except _Refused:
        return _FALLBACK.encode(value).encode()


def orjson_text(value: Any) -> str | None:
    """`json_text(value)` when orjson wrote it, None when it refused `value`."""
    try:
        return _dumps(value, option=_OPTIONS).decode()
    except _Refused:
        return None


def json_text(value: Any) -> str:
    """Compact JSON text of `value`; raises `TypeError`/`ValueError` as `json.dumps` does for
    what is not JSON."""
    try:
        return _dumps(value, option=_OPTIONS).decode()
    except _Refused:
        return _FALLBACK.encode(value)
