"""The names a flow calls connectors by, and the tenant binds them under. Pure.

A name is a category (`notification`: the category's default binding, as flows have always
written it) or a named binding of one, `<category>.<name>` (`notification.front_desk`), so a
tenant can bind several connectors of one category and a flow tell them apart. The part before
the dot is the category: it decides the operations and the connector types the binding may
have. docs/connectors.md, "Several connectors of one category".
"""

from __future__ import annotations

import re

__all__ = [
    "SEPARATOR",
    "binding_name_problem",
    "connector_category",
    "is_named_binding",
    "named_binding_pattern",
]

SEPARATOR = "."
#: The name after the dot: lower_snake_case, the control plane's rule for a category's name, so
#: a named binding stays a name that fits wherever a category's does (keys, metric labels).
_NAME = r"[a-z][a-z0-9_]{0,62}"
_NAME_RE = re.compile(rf"^{_NAME}$")


def named_binding_pattern(category: str) -> str:
    """The regular expression (a JSON Schema `pattern`) of `category`'s named bindings."""
    return rf"^{re.escape(category)}\.{_NAME}$"


def connector_category(name: str) -> str:
    """`notification.front_desk` -> `notification`; a bare category is its own."""
    return name.split(SEPARATOR, 1)[0]


def is_named_binding(name: str) -> bool:
    return SEPARATOR in name


def binding_name_problem(name: str) -> str | None:
    """Why `name` cannot name a connector (a bare category, or `<category>.<name>` with a
    lower_snake_case name), or None when it can."""
    if not is_named_binding(name):
        return None
    category, _, binding = name.partition(SEPARATOR)
    if not category.strip():
        return f"{name!r} names no category: write <category>.<name>, e.g. notification.crm"
    if SEPARATOR in binding:
        return (
            f"{name!r} has more than one '.': a connector is a category or "
            f"<category>.<name>, e.g. {category}.{binding.replace(SEPARATOR, '_')}"
        )
    if not _NAME_RE.fullmatch(binding):
        return (
            f"{name!r}: the name after '{category}.' must be lower_snake_case (letters, "
            "digits and _, starting with a letter; at most 63)"
        )
    return None
