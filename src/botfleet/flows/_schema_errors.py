"""Turns pydantic's validation errors on a flow into readable FlowIssues in DSL notation. Pure.

Pydantic locates errors with tuples such as `('states', 'A', 'on_enter', 0, 'send_text', 'text')`
where union members insert a tag (`send_text`, `str`, `ErrorRoute`...). We walk the schema's
types alongside the location to drop those tags, name the model that owns an unknown key, and
keep only the union member the author evidently meant.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from botfleet.flows._issues import IssueCollector, did_you_mean
from botfleet.flows.suggestions import TYPO, closest, similarity
from botfleet.flows.yaml_lines import index_path, key_path

# Error types meaning "this value is not of the expected kind", with the kind in words.
_EXPECTED = {
    "string_type": "a string",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dict_type": "a mapping",
    "list_type": "a list",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


@dataclass(frozen=True, slots=True)
class _Located:
    error: ErrorDetails
    path: str
    owner: type[BaseModel] | None  # model whose field the last location part names
    union: str | None  # path of the innermost union the error went through
    is_key: bool  # the error is about a mapping key, not its value
    expected: Any = Any  # the schema's type for the value at `path`
    place: tuple[str | int, ...] = ()  # `path` as the keys and indexes that lead to it
    #: The models on the way to `path`, each with its field taken (the last: `owner` and the
    #: last part), to tell where a key out of place belongs.
    chain: tuple[tuple[type[BaseModel], str], ...] = ()

    @property
    def is_kind_mismatch(self) -> bool:
        """The value at a union is not of this member's kind: noise when another member fits."""
        return self.path == self.union and not self.is_key and self.error["type"] in _EXPECTED


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One problem the schema found, in DSL notation and as a place in the data validated."""

    path: str
    message: str
    place: tuple[str | int, ...]  # keys and list indexes from the root of the data
    kind: str  # pydantic's error type, e.g. `extra_forbidden`, `missing`, `string_type`
    is_key: bool  # the problem is a mapping key (not a valid name), not its value


def schema_problems(exc: ValidationError, root: type[BaseModel]) -> list[SchemaProblem]:
    """The distinct problems in `exc` (raised validating `root`), in pydantic's order."""
    located = [_locate(error, root) for error in exc.errors()]
    problems: dict[tuple[str, str], SchemaProblem] = {}
    for item, path, message in _messages(located):
        kind = item.error["type"]
        problem = SchemaProblem(path, message, item.place, kind, item.is_key)
        problems.setdefault((path, message), problem)
    return list(problems.values())


def report_schema_errors(
    exc: ValidationError, root: type[BaseModel], collector: IssueCollector
) -> None:
    """Add one issue per distinct problem in `exc` (raised validating `root`) to `collector`."""
    for problem in schema_problems(exc, root):
        collector.error(problem.path, problem.message)


def _messages(located: list[_Located]) -> Iterable[tuple[_Located, str, str]]:
    groups: dict[str, list[_Located]] = {}
    for item in located:
        if item.union is not None:
            groups.setdefault(item.union, []).append(item)
    for item in located:
        if item.union is None or not item.is_kind_mismatch:
            yield item, *_message(item)
        elif all(g.is_kind_mismatch for g in groups[item.union]):
            # Every member rejected the value's kind: one message listing the kinds accepted.
            kinds = dict.fromkeys(_EXPECTED[g.error["type"]] for g in groups[item.union])
            value = item.error["input"]
            key = item.path.rsplit(".", 1)[-1]
            hint = _as_text_hint(value, key) if "a string" in kinds else ""
            yield item, item.path, f"expected {' or '.join(kinds)}, got {_describe(value)}{hint}"
        # else another member accepts this kind of value and reported what is wrong inside it.


#: Keys authors write on a transition expecting it to run actions.
_ACTION_KEYS = frozenset({"actions", "on_enter", "do", "then", "steps", "run"})


def _message(item: _Located) -> tuple[str, str]:
    error, path = item.error, item.path
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        key = path.rsplit(".", 1)[-1]
        allowed = list(item.owner.model_fields) if item.owner else []
        if key in _ACTION_KEYS and "target" in allowed and "on_enter" not in allowed:
            # A transition does not run actions: they belong to the state it enters.
            return path, (
                f"unknown key {key!r}: a transition runs no actions; put them in its target "
                "state's `on_enter` (a transition may `set_data` and `extract_suffix_as`)"
            )
        return path, f"unknown key {key!r}{_unknown_key_hint(key, allowed, item)}"
    if kind == "missing":
        return path, f"missing required key {path.rsplit('.', 1)[-1]!r}"
    if kind == "union_tag_invalid":
        field = str(ctx.get("discriminator", "")).strip("'")
        known = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",")]
        tag = str(ctx.get("tag", ""))
        hint = did_you_mean(tag, known, synonyms=_SYNONYMS.get(field, ()))
        return key_path(path, field), f"unknown {field} {tag!r}{hint} (known: {', '.join(known)})"
    if kind == "union_tag_not_found":
        field = str(ctx.get("discriminator", "")).strip("'")
        message = f"missing required key {field!r}"
        return key_path(path, field), message + _misnamed_tag(field, error["input"], item)
    if kind in _EXPECTED:
        key = path.rsplit(".", 1)[-1]
        message = _wrong_kind(_EXPECTED[kind], error["input"], item.expected, key)
    elif kind == "literal_error":
        return path, _not_allowed(path, error["input"], _allowed_values(item.expected, ctx))
    elif kind in ("string_too_short", "too_short") and ctx.get("min_length") == 1:
        message = "must not be empty"
    elif kind in ("value_error", "assertion_error"):
        message = error["msg"].split(", ", 1)[-1]
    else:
        message = error["msg"][:1].lower() + error["msg"][1:]
    if item.is_key:
        # `yes:` as a key: it is the key that wants the quotes (`"yes": Sim`), not a text.
        return path, "invalid key: " + message.replace(
            "put the text in quotes", "put the key in quotes"
        )
    return path, message


def _wrong_kind(expected: str, value: Any, annotation: Any, key: str = "") -> str:
    """`expected a string, got the number 2: ...`, with what to do when it is a known slip
    (`key`: the key the value was given for)."""
    if expected == "a string" and _is_unitless(value, key):
        return (
            f"expected a duration, a number and its unit (e.g. {value:g}m, {value:g}h or "
            f"{value:g}d), got {_describe(value)}"
        )
    message = f"expected {expected}, got {_describe(value)}"
    if expected == "a mapping":
        return message + _missing_colon_hint(value, annotation)
    if expected == "a list" and isinstance(value, dict):
        return message + ": start each item with `- `, at the same column"
    if expected == "a string":
        return message + _as_text_hint(value, key)
    return message


#: Keys whose text is a duration: a bare number there lacks its unit, not its quotes.
_DURATION_KEYS = frozenset(
    {"session_timeout", "conversation_retention", "delay", "run_late_within", "interval"}
)


def _is_unitless(value: Any, key: str) -> bool:
    """A bare number given for a duration."""
    return key in _DURATION_KEYS and isinstance(value, int | float) and not isinstance(value, bool)


def _as_text_hint(value: Any, key: str = "") -> str:
    """Why YAML read a text as something else, where a text was expected: a bare number or
    yes/no (a date says so itself, `_describe`); a number given for a duration (`key`)."""
    if _is_unitless(value, key):
        return f": a duration takes its unit, e.g. {value:g}m, {value:g}h or {value:g}d"
    if isinstance(value, bool):
        return (
            ": YAML reads yes, no, on, off, true and false without quotes as true or false; "
            "put the text in quotes"
        )
    if isinstance(value, int | float):
        return ": YAML reads a number without quotes as a number; put the text in quotes"
    return ""


#: What the values of a key with a closed set of values are called in messages.
_VALUE_NOUNS = {"on_type": "message type"}


def _not_allowed(path: str, value: Any, allowed: list[str]) -> str:
    """A value outside a closed set, with the set: `unknown message type 'butto' (did you mean
    'button'?) (known: text, ...)`, `expected a message type, got the number 2 (known: ...)`."""
    noun = _VALUE_NOUNS.get(path.rsplit(".", 1)[-1])
    known = ", ".join(allowed)
    if isinstance(value, str):
        return f"unknown {noun or 'value'} {value!r}{did_you_mean(value, allowed)} (known: {known})"
    if noun is None:
        return f"expected one of {known}, got {_describe(value)}"
    return f"expected a {noun}, got {_describe(value)} (known: {known})"


def _allowed_values(annotation: Any, ctx: dict[str, Any]) -> list[str]:
    """The values of the `Literal` at a place (`OnType | None`), else those pydantic names."""
    annotation = _unwrap(annotation)
    values = [
        str(value)
        for member in map(_unwrap, _union_members(annotation) or [annotation])
        if get_origin(member) is Literal
        for value in get_args(member)
    ]
    return values or re.findall(r"'([^']*)'", str(ctx.get("expected", "")))


def _unknown_key_hint(key: str, allowed: list[str], item: _Located) -> str:
    """What to do about an unknown key: the key meant (a typo), or where it belongs when it is
    a key of the part above or below (written at the wrong indentation), or the keys allowed."""
    value = item.error["input"]
    top_level = len(item.chain) == 1
    if top_level and _looks_like_state(value):
        return _AS_STATE
    meant = closest(key, allowed)
    typo = meant is not None and similarity(key, meant) >= TYPO
    if top_level and not typo and key in _settings_keys():
        # A setting's own name is no loose match of a top-level key (`error_text`, `menu_texts`
        # are not `texts`): it is the setting, dedented.
        where = _belongs_below(key, item.chain)
        if where:
            return f": {where}"
    # At the top level a loose match wins too: a top-level `transitions:` list is far likelier
    # meant as `global_transitions` than as a state's part dedented by two levels.
    if meant is not None and (top_level or typo):
        return f" (did you mean {meant!r}?)"
    where = _belongs_above(key, item.chain) or _belongs_below(key, item.chain)
    if where:  # a key of the part above or below, as written: likelier than a loose match
        return f": {where}"
    if meant is not None:
        return f" (did you mean {meant!r}?)"
    if top_level and _STATE_NAME.fullmatch(key):
        return _AS_STATE
    return f" (allowed: {', '.join(allowed)})" if allowed else ""


def _settings_keys() -> frozenset[str]:
    from botfleet.flows.schema import FlowSettings  # the schema imports nothing from here

    return frozenset(FlowSettings.model_fields)


#: A state's name as flows usually write it (`MENU`, `BOOK_CONFIRM`, `STEP_2`).
_STATE_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_AS_STATE = ": it looks like a state: indent it under `states:`, like the other states"
#: What the models of the flow are called in messages.
_NOUNS = {
    "FlowSpec": "the top level",
    "State": "a state",
    "Transition": "a transition",
    "NextRoute": "a branch of `next`",
    "OptionSpec": "a button or list row",
    "SectionSpec": "a list section",
    "ErrorRoute": "an `on_error`",
    "StandingSchedule": "a standing schedule",
    "FlowSettings": "`settings`",
}
#: Fields of the top level not suggested for a key below it: a key that is a transition's or
#: an action's, written at the top level, is far likelier a state's part dedented too far.
_NOT_BELOW = frozenset({("FlowSpec", "global_transitions"), ("FlowSpec", "tasks")})


def _noun(model: type[BaseModel]) -> str:
    if "action" in model.model_fields:
        return "an action"
    return _NOUNS.get(model.__name__, f"`{model.__name__}`")


def _looks_like_state(value: Any) -> bool:
    from botfleet.flows.schema import State  # the schema imports nothing from here

    return isinstance(value, dict) and bool(value) and set(value) <= set(State.model_fields)


def _belongs_above(key: str, chain: tuple[tuple[type[BaseModel], str], ...]) -> str | None:
    """`fallback` written in a transition belongs to the state: dedent it."""
    if len(chain) < 2:
        return None
    (above, holder), (owner, _) = chain[-2], chain[-1]
    if key not in above.model_fields or key == holder:
        return None
    what = "the state" if above.__name__ == "State" else _noun(above)
    return (
        f"`{key}` belongs to {what}, not to {_noun(owner)}: dedent it to line up with `{holder}:`"
    )


def _belongs_below(key: str, chain: tuple[tuple[type[BaseModel], str], ...]) -> str | None:
    """`text` written in a state belongs to an action: put it in an item of `on_enter:`."""
    if not chain:
        return None
    owner = chain[-1][0]
    for name, field in owner.model_fields.items():
        if (owner.__name__, name) in _NOT_BELOW:
            continue
        for model, container in _models_in(field.annotation):
            if key in model.model_fields:
                if container is list:
                    where = f"put it in an item of `{name}:`"
                elif container is dict:
                    where = f"indent it under {_noun(model)} of `{name}:`"
                else:
                    where = f"indent it under `{name}:`"
                return f"`{key}` belongs to {_noun(model)}: {where}"
    return None


def _models_in(annotation: Any) -> list[tuple[type[BaseModel], type | None]]:
    """The models a field holds, each with what holds them (`list`, `dict` or None)."""
    annotation = _unwrap(annotation)
    members = _union_members(annotation) or [annotation]
    found: list[tuple[type[BaseModel], type | None]] = []
    for member in map(_unwrap, members):
        origin, args = get_origin(member), get_args(member)
        if origin in (list, dict) and args:
            inner = _unwrap(args[-1])
            inner_members = _union_members(inner) or [inner]
            found += [(m, origin) for m in map(_unwrap, inner_members) if _is_model(m)]
        elif _is_model(member):
            found.append((member, None))
    return found


#: Words in an unknown action's name -> the action meant, tried in order (`send_buttons`,
#: `send_menu`, `reminder`...), before the names are compared (`suggestions.closest`).
ACTION_SYNONYMS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("cancel", "unschedule", "delete", "remove"), "cancel_task"),
    (("template", "tpl", "hsm"), "send_template"),
    (("button", "btn", "quick", "choose"), "send_interactive_buttons"),
    (("list", "menu", "row", "section"), "send_interactive_list"),
    (("option", "choice", "dynamic", "select"), "send_dynamic_options"),
    (("connector", "invoke", "call", "api", "http", "request", "calendar", "book"),
     "invoke_connector"),
    (("schedule", "reminder", "remind", "delay", "later", "task"), "schedule_task"),
    (("set", "data", "store", "save", "assign", "variable", "var"), "set_data"),
    (("text", "message", "msg", "say", "reply", "send", "answer"), "send_text"),
)  # fmt: skip
_SYNONYMS = {"action": ACTION_SYNONYMS}
#: Keys written where the discriminator was meant (`type: send_text` for `action: send_text`).
_TAG_MISNOMERS = {"action": ("type", "do", "kind", "action_type", "name", "step", "op")}


def _misnamed_tag(field: str, value: Any, item: _Located) -> str:
    """`: use `action:` (found `type:`)` when the mapping names its kind under another key."""
    if not isinstance(value, dict):
        return ""
    known = _tags(item.expected, field)
    for key in _TAG_MISNOMERS.get(field, ()):
        written = value.get(key)
        if not isinstance(written, str):
            continue
        meant = closest(written, known, synonyms=_SYNONYMS.get(field, ()))
        if key == "name" and meant != written:
            continue  # `name:` is a field of some actions (a template's): only an exact tag
        if meant is None:
            return f": use `{field}:` (found `{key}:`)"
        return f": use `{field}: {meant}` (found `{key}: {written}`)"
    return ""


def _tags(annotation: Any, field: str) -> list[str]:
    """The values of the discriminator `field` of a tagged union's members."""
    tags: list[str] = []
    for member in map(_unwrap, _union_members(_unwrap(annotation))):
        if _is_model(member) and field in member.model_fields:
            values = get_args(member.model_fields[field].annotation)
            tags += [t for t in values if isinstance(t, str)]
    return tags


def _missing_colon_hint(value: Any, expected: Any) -> str:
    """`fallback A` or `fallback:A` where a mapping with a `fallback` key was expected: YAML
    read one text because the `:` or the space after it is missing."""
    if not isinstance(value, str):
        return ""
    match = re.fullmatch(r"(\w+)(:?)[ \t]*(\S.*)", value.strip(), re.DOTALL)
    if match is None or match[1] not in _field_names(expected):
        return ""
    key, colon, rest = match.groups()
    if "\n" in rest or ":" in rest:
        return ""  # not one key and its value
    missing = "a space after the `:`" if colon else "a `:`"
    return f" (is {missing} missing? write `{key}: {rest}`)"


def _field_names(annotation: Any) -> set[str]:
    annotation = _unwrap(annotation)
    if _is_model(annotation):
        return set(annotation.model_fields)
    return {name for member in _union_members(annotation) for name in _field_names(member)}


def _describe(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, date | time):
        return f"the date/time {value.isoformat()} (quote it to make it text)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _locate(error: ErrorDetails, root: type[BaseModel]) -> _Located:
    annotation: Any = root
    path, owner, union, is_key = "", None, None, False
    place: list[str | int] = []
    chain: list[tuple[type[BaseModel], str]] = []
    loc: list[Any] = list(error["loc"])
    if loc[-1:] == ["[key]"] and isinstance(error.get("input"), bool) and len(loc) > 1:
        # pydantic names a `yes:` key (YAML's true) 1 in `loc`: the key itself finds its line.
        loc[-2] = error["input"]
    for part in loc:
        if part == "[key]":
            is_key = True
            continue
        annotation = _unwrap(annotation)
        members = _union_members(annotation)
        if len(members) > 1:  # a tagged union: `part` names the member, not a place
            union, annotation = path, _member(members, str(part))
            continue
        if len(members) == 1:
            annotation = _unwrap(members[0])
        in_list = get_origin(annotation) is list
        owner, annotation = _step(annotation, part)
        if owner is not None:
            chain.append((owner, str(part)))
        is_index = in_list and isinstance(part, int)
        path = index_path(path, int(part)) if is_index else key_path(path, part)
        place.append(part)
    return _Located(error, path, owner, union, is_key, annotation, tuple(place), tuple(chain))


def _step(annotation: Any, part: str | int) -> tuple[type[BaseModel] | None, Any]:
    """(owning model, annotation of the child) for one location part."""
    if _is_model(annotation):
        field = annotation.model_fields.get(str(part))
        return annotation, (field.annotation if field else Any)
    args = get_args(annotation)
    if get_origin(annotation) is list and args:
        return None, args[0]
    if get_origin(annotation) is dict and len(args) == 2:
        return None, args[1]
    return None, Any


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _union_members(annotation: Any) -> list[Any]:
    """Non-None members of a union (pydantic tags only unions of two or more), else []."""
    if get_origin(annotation) not in (Union, types.UnionType):
        return []
    return [m for m in get_args(annotation) if m is not type(None)]


def _member(members: list[Any], tag: str) -> Any:
    return next((m for m in map(_unwrap, members) if _is_tagged(m, tag)), Any)


def _is_tagged(member: Any, tag: str) -> bool:
    """Whether pydantic's tag for a union member (`str`, `ErrorRoute`, `list[...]`, or the
    discriminator value `send_text`) names `member`."""
    origin = get_origin(member)
    if origin in (list, dict):
        return tag.startswith(f"{origin.__name__}[")
    if _is_model(member):
        action = member.model_fields.get("action")
        return member.__name__ in tag or tag in get_args(action.annotation if action else None)
    return isinstance(member, type) and member.__name__ == tag


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
