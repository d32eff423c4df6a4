"""`versions.unified_diff`: the diff the API answers, bounded in lines (so in CPU time)."""

from __future__ import annotations

import random

from botfleet.control_plane.services.versions import MAX_DIFF_LINES, unified_diff


def test_identical_texts_have_an_empty_diff() -> None:
    assert unified_diff("a\nb\n", "a\nb\n", "flow@v1", "flow@v2") == ""


def test_a_missing_final_newline_still_ends_each_line() -> None:
    text = unified_diff("a\nb", "a\nc", "flow@v1", "flow@v2")
    assert text.endswith("-b\n+c\n")
    assert text.startswith("--- flow@v1\n+++ flow@v2\n")


def test_a_short_diff_is_not_cut() -> None:
    assert "# diff cut" not in unified_diff("a\n" * 5, "b\n" * 5, "x", "y", max_lines=5)


def test_long_texts_are_compared_up_to_the_cap_and_the_cut_is_named() -> None:
    text = unified_diff("a\n" * 7, "a\n" * 4 + "b\n" * 3, "x", "y", max_lines=4)
    assert text == (
        "# diff cut: only the first 4 lines of each version were compared (x has 7 lines, "
        "y has 7); read the versions themselves for the rest\n"
    )


def test_a_costly_diff_is_bounded() -> None:
    """Two shuffled 50,000-line documents (238 KB, under the knowledge limit) took ~2.4 s of
    CPU uncapped; only the first MAX_DIFF_LINES of each are compared, which the answer says.
    (Not timed here: a loaded CI machine made a wall-clock bound fail; the cap is the fix.)"""
    lines = [f"l{i % 490}\n" for i in range(50_000)]
    shuffled = list(lines)
    random.Random(1).shuffle(shuffled)
    text = unified_diff("".join(lines), "".join(shuffled), "x", "y")
    # At most every compared line of both versions, plus headers: never the 100,000 lines.
    assert text.count("\n") <= 2 * MAX_DIFF_LINES + 10
    assert text.endswith(
        f"# diff cut: only the first {MAX_DIFF_LINES} lines of each version were compared "
        "(x has 50000 lines, y has 50000); read the versions themselves for the rest\n"
    )
