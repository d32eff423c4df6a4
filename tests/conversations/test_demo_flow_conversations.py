"""The demo flow's conversation tests (the YAML files here) pass and exercise the whole flow.

`make test` runs them through this module; `botfleet test tests/conversations --coverage`
runs the same files from the command line.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from botfleet.cli.coverage import FlowCoverage, coverage_by_flow
from botfleet.testing.conversation import (
    ConversationResult,
    find_conversation_tests,
    run_conversation_tests,
)

HERE = Path(__file__).parent
REPO = HERE.parents[1]
DEMO_FLOW = REPO / "flows" / "peluqueria_flow.yaml"
TESTS = find_conversation_tests([HERE])


@pytest.fixture(scope="module")
def results() -> dict[str, ConversationResult]:
    """Every file run once, by path."""
    return {r.source: r for r in asyncio.run(run_conversation_tests(TESTS))}


@pytest.fixture(scope="module")
def demo_coverage(results: dict[str, ConversationResult]) -> FlowCoverage:
    [coverage] = [
        c
        for c in coverage_by_flow(results.values())
        if Path(c.flow.source).resolve() == DEMO_FLOW.resolve()
    ]
    return coverage


def test_there_are_conversation_tests_for_the_demo() -> None:
    assert len(TESTS) >= 10


@pytest.mark.parametrize("path", TESTS, ids=[p.stem for p in TESTS])
def test_conversation_passes(path: Path, results: dict[str, ConversationResult]) -> None:
    result = results[str(path)]
    assert result.status == "passed", result.message
    assert result.steps > 0


def test_every_state_of_the_demo_flow_is_entered(demo_coverage: FlowCoverage) -> None:
    assert demo_coverage.missed_states == []
    assert len(demo_coverage.states) >= 20


def test_every_transition_of_the_demo_flow_fires(demo_coverage: FlowCoverage) -> None:
    assert demo_coverage.missed_transitions == []
