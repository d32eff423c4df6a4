"""Conversation test results as JUnit XML (for CI test reports)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from botfleet.testing.conversation import ConversationResult

__all__ = ["junit_xml"]


def junit_xml(
    results: Sequence[ConversationResult],
    *,
    suite: str = "botfleet",
    channel: str | None = None,
    shortfalls: Sequence[str] = (),
) -> str:
    """One `<testsuite>`; each test file is a `<testcase>` with its `<failure>` or `<error>`,
    and its warnings as `<system-err>`. Run on a `channel` (`--channel`), the suite and each
    case's class carry its name, so the reports of one suite run on two channels, merged by a
    CI, keep both. Each of `shortfalls` (coverage under `--min-coverage`) is a failed case of
    its own, so a run failed for it does not read as all green."""
    if channel is not None:
        suite = f"{suite}.{channel}"
    failures = sum(r.status == "failed" for r in results) + len(shortfalls)
    errors = sum(r.status == "error" for r in results)
    total_time = sum(r.duration_s for r in results)
    root = ET.Element("testsuites")
    node = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(results) + len(shortfalls)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
        time=f"{total_time:.3f}",
    )
    for result in results:
        case = ET.SubElement(
            node,
            "testcase",
            classname=f"{channel}.{Path(result.source).stem}"
            if channel
            else Path(result.source).stem,
            name=result.name,
            file=result.source,
            time=f"{result.duration_s:.3f}",
        )
        if result.status != "passed":
            tag = "failure" if result.status == "failed" else "error"
            detail = ET.SubElement(case, tag, message=result.message.splitlines()[0])
            detail.text = result.message
        if result.warnings:  # after the failure, as the JUnit schema orders them
            ET.SubElement(case, "system-err").text = "\n".join(result.warnings)
    for line in shortfalls:
        case = ET.SubElement(node, "testcase", classname="coverage", name=line, time="0.000")
        ET.SubElement(case, "failure", message=line).text = line
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
