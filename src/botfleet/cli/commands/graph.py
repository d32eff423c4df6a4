"""`botfleet graph FLOW`: the state graph as Mermaid or Graphviz DOT, or rendered by Graphviz."""

from __future__ import annotations

import shutil
import subprocess
from enum import StrEnum
from pathlib import Path

import click
import typer

from botfleet.cli.output_files import write_output

GRAPHVIZ_MISSING = (
    "Graphviz is not installed: the `dot` program was not found on PATH.\n"
    "Install it (Debian/Ubuntu: apt install graphviz; macOS: brew install graphviz), or use "
    "--format dot / --format mermaid and render the text elsewhere "
    "(e.g. Mermaid in a GitHub README)."
)


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"


class RenderFormat(StrEnum):
    svg = "svg"
    png = "png"
    pdf = "pdf"


def graph(
    flow_file: Path = typer.Argument(..., metavar="FLOW", help="A flow (or tenant) YAML file."),
    graph_format: GraphFormat | None = typer.Option(
        None, "--format", help="mermaid (default) or dot."
    ),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to a file."),
    render: RenderFormat | None = typer.Option(
        None, "--render", help="Render with Graphviz's `dot` (svg, png or pdf)."
    ),
) -> None:
    """Draw a flow's state graph (Mermaid, DOT, or rendered by Graphviz).

    Transitions are labelled by trigger, `next` routes are bold, fallbacks dashed, connector
    errors dotted, and LLM-fallback states are marked.
    """
    from botfleet.cli.flow_files import FlowFileError, read_flow
    from botfleet.cli.output_files import check_output
    from botfleet.flows.diagram import flow_dot, flow_mermaid

    if output is not None:
        check_output(output, "--output")
    try:
        flow = read_flow(flow_file)
    except FlowFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if render is not None:
        if graph_format is GraphFormat.mermaid:
            typer.echo("--render uses Graphviz: drop --format mermaid", err=True)
            raise typer.Exit(2)
        _render(flow_dot(flow.spec), render, output)
        return
    text = flow_dot(flow.spec) if graph_format is GraphFormat.dot else flow_mermaid(flow.spec)
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_output(output, text, "--output")
        typer.echo(f"wrote {output}", err=True)


def _render(dot_text: str, kind: RenderFormat, output: Path | None) -> None:
    program = shutil.which("dot")
    if program is None:
        typer.echo(GRAPHVIZ_MISSING, err=True)
        raise typer.Exit(1)
    done = subprocess.run(
        [program, f"-T{kind.value}"], input=dot_text.encode(), capture_output=True, check=False
    )
    if done.returncode != 0:
        typer.echo(f"dot failed: {done.stderr.decode(errors='replace').strip()}", err=True)
        raise typer.Exit(1)
    if output is None:
        click.echo(done.stdout, nl=False)
    else:
        write_output(output, done.stdout, "--output")
        typer.echo(f"wrote {output}", err=True)
