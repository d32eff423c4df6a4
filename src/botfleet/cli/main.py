"""Root of the `botfleet` command (typer). Commands live in botfleet.cli.commands."""

from __future__ import annotations

import typer

from botfleet.cli.commands.chat import chat
from botfleet.cli.commands.conversations import run_tests
from botfleet.cli.commands.cp import cp_app
from botfleet.cli.commands.demo import demo
from botfleet.cli.commands.graph import graph
from botfleet.cli.commands.new import new
from botfleet.cli.commands.schema import schema
from botfleet.cli.commands.serve import serve_app
from botfleet.cli.commands.validate import validate

app = typer.Typer(
    name="botfleet",
    help="botfleet: multi-tenant conversational bots from declarative YAML flows.",
    no_args_is_help=True,
)
app.add_typer(serve_app, name="serve")
app.add_typer(cp_app, name="cp")
app.command("demo")(demo)
# Flow authoring (docs/authoring.md)
app.command("validate")(validate)
app.command("graph")(graph)
app.command("chat")(chat)
app.command("test")(run_tests)
app.command("schema")(schema)
app.command("new")(new)


if __name__ == "__main__":  # pragma: no cover
    app()
