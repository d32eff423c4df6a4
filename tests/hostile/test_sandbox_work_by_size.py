"""Template work that grows with the size of its values: filters, tests, methods and `in` over
long lists and texts, output collected in blocks, and integers that double in size.

Each of these cost one unit of the render's budget however large the value was, so a flow
could hold its data plane for minutes (`[0] * 8000 | selectattr(...)` in a loop: 322 s) or
build gigabytes of text in a `{% set %}` block. Each hostile template here does a bounded
amount of such work (the old rules rendered it in well under a second), more than the budget
allows once the work is charged by size: it is now refused, quickly, with a diagnostic.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from jinja2.exceptions import SecurityError

from botfleet.domain.errors import TemplateError
from botfleet.flows._sandbox_limits import (
    MAX_INT_BITS,
    MAX_STEPS,
    TEXT_PER_STEP,
    Budget,
    guard_filter,
    guard_test,
)
from botfleet.flows.effects import Diagnostic
from botfleet.flows.render import Renderer

QUICK_S = 2.0
LONG_LIST = "{% set l = [0] * 8000 %}"
LONG_TEXT = "{% set s = 'ab ' * 5000 %}"
BIG_LITERAL = "z" * 5000

HOSTILE = {
    "selectattr over a long list": LONG_LIST
    + "{% for i in range(10) %}{{ l | selectattr('real') | list | length }}{% endfor %}",
    "max of a long list": LONG_LIST + "{% for i in range(10) %}{{ l | max }}{% endfor %}",
    "select with a test over a long list": LONG_LIST
    + "{% for i in range(10) %}{{ l | select('odd') | list | length }}{% endfor %}",
    "in over a long list": LONG_LIST + "{% for i in range(10) %}{{ -1 in l }}{% endfor %}",
    "not in over a long list": LONG_LIST + "{% for i in range(10) %}{{ -1 not in l }}{% endfor %}",
    "a test over a long list": LONG_LIST + "{% for i in range(10) %}{{ -1 is in l }}{% endfor %}",
    "a method over a long list": LONG_LIST + "{% for i in range(10) %}{{ l.count(1) }}{% endfor %}",
    "a call with a long list of arguments": LONG_LIST
    + "{% for i in range(10) %}{{ cycler(*l).current }}{% endfor %}",
    "a filter over a long text": LONG_TEXT
    + "{% for i in range(300) %}{{ s | wordcount }}{% endfor %}",
    "a method over a long text": LONG_TEXT
    + "{% for i in range(300) %}{{ s.title() | length }}{% endfor %}",
    "printed values collected in a set block": (
        "{% set s = 'a' * 16000 %}{% set x %}{% for i in range(1000) %}{{ s }}{% endfor %}"
        "{% endset %}{{ x | length }}"
    ),
    "literal text collected in a set block": (
        "{% set x %}{% for i in range(1000) %}" + BIG_LITERAL + "{% endfor %}{% endset %}"
        "{{ x | length }}"
    ),
    "literal text collected in a filter block": (
        "{% filter wordcount %}{% for i in range(1000) %}"
        + BIG_LITERAL
        + "{% endfor %}{% endfilter %}"
    ),
    "squaring in a loop": (
        "{% set ns = namespace(x=10 ** 1000) %}{% for i in range(5) %}"
        "{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x > 0 }}"
    ),
    "a power of a power": "{{ (10 ** 1000) ** 20 > 0 }}",
}


def _render(source: str, *, strict: bool = False) -> tuple[str, list[Diagnostic], float]:
    sink: list[Diagnostic] = []
    started = time.perf_counter()
    text = Renderer({"data": {}}, strict=strict, sink=sink).text(source, "state.X.text")
    return text, sink, time.perf_counter() - started


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_work_that_grows_with_a_value_is_charged_by_its_size(source: str) -> None:
    text, sink, elapsed = _render(source)
    assert text == ""
    assert [d.event for d in sink] == ["template_failed"]
    assert "SecurityError" in sink[0].detail
    assert elapsed < QUICK_S


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_it_is_a_template_error_in_strict_mode(source: str) -> None:
    with pytest.raises(TemplateError, match="SecurityError"):
        _render(source, strict=True)


def test_the_whole_budget_of_the_slowest_work_found_takes_well_under_a_second() -> None:
    # `selectattr` visits each item in Python: the costliest unit found. A whole budget of it
    # (the loop runs until the budget stops it) used to take 322 s.
    source = LONG_LIST + (
        "{% for i in range(1000) %}{% for j in range(49) %}"
        "{% if l | selectattr('real') | first %}x{% endif %}{% endfor %}{% endfor %}"
    )
    text, sink, elapsed = _render(source)
    assert (text, len(sink)) == ("", 1)
    assert "too much work" in sink[0].detail
    assert elapsed < 1.0


ORDINARY: dict[str, tuple[str, dict[str, Any], str]] = {
    "a menu of a hundred slots": (
        "{% for s in data.slots if s.free %}{{ s.label }};{% endfor %}",
        {"slots": [{"label": "9:00", "free": True}] * 100},
        "9:00;" * 100,
    ),
    "filters and in over short lists": (
        "{{ data.slots | selectattr('free') | list | length }} {{ 'x' in data.tags }}",
        {"slots": [{"free": True}, {"free": False}] * 50, "tags": ["x", "y"]},
        "50 True",
    ),
    "length of a list in its own loop": (
        "{% for t in data.tags %}{{ loop.index }}/{{ data.tags | length }} {% endfor %}",
        {"tags": list(range(300))},
        "".join(f"{i}/300 " for i in range(1, 301)),
    ),
    "a long text printed a few times": (
        "{% for i in range(3) %}{{ data.text }}{% endfor %}",
        {"text": "ñ" * 4000},
        "ñ" * 12000,
    ),
    "large numbers": (
        "{{ 2 ** 1000 > 0 }} {{ (10 ** 1000) * (10 ** 1000) > 0 }} {{ 99 ** 99 % 7 }}",
        {},
        f"True True {99**99 % 7}",
    ),
    "a literal repeated in a loop": (
        "{% for i in range(1000) %}" + "y" * 10 + "{% endfor %}",
        {},
        "y" * 10_000,
    ),
}


@pytest.mark.parametrize(("source", "data", "expected"), ORDINARY.values(), ids=ORDINARY.keys())
def test_ordinary_templates_still_render(source: str, data: dict[str, Any], expected: str) -> None:
    sink: list[Diagnostic] = []
    assert Renderer({"data": data}, sink=sink).text(source, "w") == expected
    assert sink == []


def test_a_lazy_value_is_charged_for_each_item_a_filter_reads() -> None:
    # A generator (what `map` and `select` give) has no size to charge up front.
    guarded = guard_filter("max", max)
    with Budget(), pytest.raises(SecurityError, match="too much work"):
        guarded(iter(range(MAX_STEPS + 1)))
    with Budget():
        assert guarded(iter(range(MAX_STEPS // 2))) == MAX_STEPS // 2 - 1


def test_a_filter_whose_work_does_not_grow_is_charged_one_step() -> None:
    guarded = guard_filter("length", len)
    with Budget():
        for _ in range(MAX_STEPS // 2):
            assert guarded([0] * 1000) == 1000


def test_a_text_costs_a_step_per_text_per_step_characters() -> None:
    guarded = guard_filter("upper", str.upper)
    text = "a" * TEXT_PER_STEP * 100
    with Budget():
        for _ in range(MAX_STEPS // 101):
            guarded(text)
        with pytest.raises(SecurityError, match="too much work"):
            for _ in range(2):
                guarded(text)


def test_a_test_is_charged_by_its_operands() -> None:
    calls: list[object] = []
    guarded = guard_test(lambda value, seq: calls.append(value) or value in seq)
    with Budget(), pytest.raises(SecurityError, match="too much work"):
        guarded(1, [0] * (MAX_STEPS + 1))
    assert calls == []


def test_integers_just_under_the_limit_are_built() -> None:
    assert MAX_INT_BITS == 16_384  # the products and powers below straddle it
    four, five = ("{{ (" + " * ".join(["10 ** 1000"] * n) + ") > 0 }}" for n in (4, 5))
    assert _render(four)[:2] == ("True", [])  # 13,288 bits
    text, sink, _ = _render(five)  # 16,610 bits
    assert text == ""
    assert "a product would be an integer over 16384 bits" in sink[0].detail
    assert _render("{{ (2 ** 1000) ** 16 > 0 }}")[:2] == ("True", [])
    text, sink, _ = _render("{{ (2 ** 1000) ** 17 > 0 }}")
    assert text == ""
    assert "a power would be an integer over 16384 bits" in sink[0].detail
