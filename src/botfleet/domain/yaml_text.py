"""YAML as botfleet reads it: PyYAML's safe loader without YAML 1.1's base-60 numbers.

PyYAML follows YAML 1.1, where `10:00` is the integer 600 and `1:30:00` is 5400 (sexagesimal).
A booking bot is full of times: `set_data: {time: 10:00}` in a flow, `--data appt_time=10:00`
in `botfleet chat` or a test's `set_data` would quietly hold a number, and the slot look-up or
the reminder built from it would go wrong far from the line that caused it. YAML 1.2 dropped
the form; here such a scalar stays the text it looks like. Everything else resolves as before
(decimal, `0x`, `0b` and YAML 1.1's `0`-prefixed octal integers, floats, booleans, dates).
Written here: PyYAML has no switch for it, and ruamel.yaml (YAML 1.2) would be a second parser
with other line and error reporting than the one `flows/yaml_lines.py` builds on.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["SafeLoader", "safe_load"]

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"

# PyYAML's own patterns (resolver.py) less their base-60 alternative.
_INT_PATTERN = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_FLOAT_PATTERN = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class SafeLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` whose integers and floats have no base-60 form (`10:00` is text)."""


SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SafeLoader.add_implicit_resolver(_INT, _INT_PATTERN, list("-+0123456789"))
SafeLoader.add_implicit_resolver(_FLOAT, _FLOAT_PATTERN, list("-+0123456789."))


def safe_load(text: str) -> Any:
    """`yaml.safe_load` with `SafeLoader` above."""
    return yaml.load(text, Loader=SafeLoader)  # a SafeLoader subclass: safe
