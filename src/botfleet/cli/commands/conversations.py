"""`botfleet test TESTS...`: run conversation tests (YAML), with JUnit XML and flow coverage."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from botfleet.cli.options import Channel, LogLevel

if TYPE_CHECKING:  # the runtime is imported when a command runs, not at `botfleet --help`
    from botfleet.testing.conversation import ConversationResult

_MARKS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR"}


def run_tests(
    paths: list[Path] = typer.Argument(
        ..., metavar="TESTS...", help="Test files, or folders searched for them."
    ),
    junit: Path | None = typer.Option(None, "--junit", help="Also write JUnit XML here."),
    coverage: bool = typer.Option(
        False, "--coverage", help="Report the states and transitions the tests exercised."
    ),
    min_coverage: float | None = typer.Option(
        None,
        "--min-coverage",
        min=0,
        max=100,
        help="Fail when state or transition coverage of a flow is under N percent.",
    ),
    channel: Channel | None = typer.Option(
        None,
        "--channel",
        case_sensitive=False,
        help="Check the outputs as this channel gets them and deliver presses as it does "
        "(default: each test's tenant's channel; the web chat for a flow test).",
    ),
    log_level: LogLevel | None = typer.Option(
        None,
        "--log-level",
        case_sensitive=False,
        help="Show the runtime's log lines at this level on stderr.",
    ),
) -> None:
    """Run conversation tests (YAML); exit code 1 on any failure.

    Each test talks to the real runtime with mock connectors, a scripted LLM and a frozen
    clock, in strict template mode, on its tenant's channel (or `--channel`'s).
    """
    from botfleet.cli.junit import junit_xml
    from botfleet.cli.logs import command_logs
    from botfleet.cli.output_files import check_output, write_output
    from botfleet.testing.conversation_format import search_conversation_tests

    if junit is not None:
        check_output(junit, "--junit")  # before the tests run, not after
    search = search_conversation_tests(paths)
    found = search.found
    # Said, not silent: a file skipped by mistake would otherwise look like a passing suite.
    for path, reason in search.skipped:
        typer.echo(f"skipped {path}: {reason}, not a conversation test", err=True)
    if not found:
        typer.echo(f"no conversation tests found in {', '.join(map(str, paths))}", err=True)
        raise typer.Exit(1)
    asked = channel.value if channel else None
    with command_logs(log_level.value if log_level else None):
        results = asyncio.run(_run_all(found, asked))
    failed = _summary(results)
    shortfalls: list[str] = []
    if coverage or min_coverage is not None:
        shortfalls = _coverage(results, min_coverage)
        failed |= bool(shortfalls)
    if junit is not None:
        # After the coverage: a suite failed for it is not all green in the CI's report.
        write_output(junit, junit_xml(results, channel=asked, shortfalls=shortfalls), "--junit")
    if failed:
        raise typer.Exit(1)


async def _run_all(paths: list[Path], channel: str | None) -> list[ConversationResult]:
    from botfleet.testing.conversation import run_conversation_test

    results = []
    for path in paths:
        result = await run_conversation_test(path, channel=channel)
        _print_result(result)
        results.append(result)
    return results


def _print_result(result: ConversationResult) -> None:
    steps = f"{result.steps} step{'s' * (result.steps != 1)}"
    typer.echo(f"{_MARKS[result.status]:5} {result.name}  ({result.source}, {steps})")
    for warning in result.warnings:  # said on a pass too: the run differs from what it says
        typer.echo(f"      {warning}")
    if result.message:
        typer.echo("\n".join(f"      {line}" for line in result.message.splitlines()))


def _summary(results: list[ConversationResult]) -> bool:
    counts = {status: sum(r.status == status for r in results) for status in _MARKS}
    elapsed = sum(r.duration_s for r in results)
    typer.echo(
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['error']} error(s) "
        f"in {elapsed:.2f}s"
    )
    return counts["passed"] != len(results)


def _coverage(results: list[ConversationResult], threshold: float | None) -> list[str]:
    """Print each flow's coverage; the lines of those under `threshold` (also on stderr)."""
    from botfleet.cli.coverage import coverage_by_flow, format_coverage

    below = []
    for report in coverage_by_flow(results):
        typer.echo(format_coverage(report))
        lowest = min(report.state_percent, report.transition_percent)
        if threshold is not None and lowest < threshold:
            line = (
                f"coverage of {report.flow.spec.id} is {lowest:.1f}%, under --min-coverage "
                f"{threshold:g}%"
            )
            typer.echo(line, err=True)
            below.append(line)
    return below
