"""`botfleet schema flow|tenant`: the JSON Schemas for editors' autocomplete."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer


class SchemaName(StrEnum):
    flow = "flow"
    tenant = "tenant"
    test = "test"


def schema(
    kind: SchemaName = typer.Argument(..., help="flow, tenant or test (conversation tests)"),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to a file."),
) -> None:
    """Print the JSON Schema of flow, tenant or conversation-test files.

    docs/authoring.md shows how to give them to VS Code's YAML extension for autocomplete.
    """
    from botfleet.cli.output_files import write_output
    from botfleet.cli.schemas import schema_text

    text = schema_text(kind.value)
    if output is None:
        typer.echo(text, nl=False)
        return
    write_output(output, text, "--output")
    typer.echo(f"wrote {output}", err=True)
