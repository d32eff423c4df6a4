"""`botfleet validate FLOW_OR_TENANT...`: errors and warnings by file:line and path."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer


class ReportFormat(StrEnum):
    text = "text"
    json = "json"


class FlowChannel(StrEnum):
    """The channels whose limits a flow alone may be checked against."""

    whatsapp = "whatsapp"
    telegram = "telegram"
    webchat = "webchat"


def validate(
    files: list[Path] = typer.Argument(
        ...,
        metavar="FILES...",
        help="Flow or tenant YAML files (told apart by keys), or folders searched for them.",
    ),
    output_format: ReportFormat = typer.Option(
        ReportFormat.text, "--format", help="text for people, json for editors and CI."
    ),
    channel: FlowChannel | None = typer.Option(
        None,
        "--channel",
        case_sensitive=False,
        help="Check flow files given alone against this channel's limits (default: "
        "WhatsApp's, the strictest); a tenant file's flow is checked for the tenant's channel.",
    ),
) -> None:
    """Check flows and tenant files; exit code 1 when any has an error (warnings pass).

    A tenant file is checked as the data plane would at boot: its keys, its flow, its
    connectors against the flow's calls, its channel, LLM settings and knowledge file. A
    folder is searched for flows and tenant files (conversation tests are skipped: run them
    with `botfleet test`).
    """
    from botfleet.cli.validation import search_files, validate_files

    search = search_files(files)
    for path, reason in search.skipped:
        typer.echo(f"skipped {path}: {reason}", err=True)
    for folder, count in search.tests.items():
        tests = "conversation test" + "s" * (count != 1)
        typer.echo(
            f"skipped {count} {tests} in {folder} (run them with `botfleet test {folder}`)",
            err=True,
        )
    if not search.found:
        typer.echo(f"no flow or tenant files found in {', '.join(map(str, files))}", err=True)
        raise typer.Exit(1)
    reports = validate_files(search.found, channel=channel.value if channel else None)
    errors = sum(r.errors for r in reports)
    warnings = sum(r.warnings for r in reports)
    if output_format is ReportFormat.json:
        body = {
            "ok": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "files": [
                {"file": r.file, "kind": r.kind, "errors": r.errors, "warnings": r.warnings}
                for r in reports
            ],
            "issues": [f.as_dict() for r in reports for f in r.findings],
        }
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        for report in reports:  # each file checked: its findings, or a line saying why none
            for finding in report.findings:
                typer.echo(str(finding), err=finding.severity == "error")
            if report.findings:
                continue
            if report.flow_findings:
                typer.echo(f"{report.file}: {report.kind}, its flow's issues are listed above")
            else:
                typer.echo(f"{report.file}: ok ({report.kind})")
        typer.echo(
            f"{errors} error(s), {warnings} warning(s) in {len(reports)} file(s)",
            err=errors > 0,
        )
    if errors:
        raise typer.Exit(1)
