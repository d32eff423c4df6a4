"""Root of the `botfleet` command (typer). Commands live in botfleet.cli.commands."""

from __future__ import annotations

import typer

from botfleet.cli.commands.cp import cp_app
from botfleet.cli.commands.demo import demo
from botfleet.cli.commands.serve import serve_app

app = typer.Typer(
    name="botfleet",
    help="botfleet: multi-tenant conversational bots from declarative YAML flows.",
    no_args_is_help=True,
)
app.add_typer(serve_app, name="serve")
app.add_typer(cp_app, name="cp")
app.command("demo")(demo)


if __name__ == "__main__":  # pragma: no cover
    app()
