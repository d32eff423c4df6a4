"""Root of the `botfleet` command (typer). Commands live in botfleet.cli.commands.

The `botfleet` script and `python -m botfleet.cli.main` run `main()`, which starts a plain
`serve data-plane` (how each tenant's process is started) without importing typer (see
botfleet.cli.data_plane_server) and hands any other command line to `app`, the typer app,
built on first use. tests/unit/cli/test_script_entry.py checks both give the same result.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

    app: typer.Typer


def build_app() -> typer.Typer:
    """The `botfleet` command with all its subcommands."""
    import typer

    from botfleet.cli.commands.chat import chat
    from botfleet.cli.commands.contact_hash import contact_hash
    from botfleet.cli.commands.conversations import run_tests
    from botfleet.cli.commands.cp import cp_app
    from botfleet.cli.commands.demo import demo
    from botfleet.cli.commands.graph import graph
    from botfleet.cli.commands.new import new
    from botfleet.cli.commands.schema import schema
    from botfleet.cli.commands.serve import serve_app
    from botfleet.cli.commands.validate import validate

    root = typer.Typer(
        name="botfleet",
        help="botfleet: multi-tenant conversational bots from declarative YAML flows.",
        no_args_is_help=True,
    )
    root.add_typer(serve_app, name="serve")
    root.add_typer(cp_app, name="cp")
    root.command("demo")(demo)
    root.command("contact-hash")(contact_hash)
    # Flow authoring (docs/authoring.md)
    root.command("validate")(validate)
    root.command("graph")(graph)
    root.command("chat")(chat)
    root.command("test")(run_tests)
    root.command("schema")(schema)
    root.command("new")(new)
    return root


def __getattr__(name: str) -> Any:
    # `from botfleet.cli.main import app` (tests) builds it once.
    if name == "app":
        built = build_app()
        globals()["app"] = built
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Sequence[str] | None = None) -> None:
    """`botfleet` with `argv` (default: the process's arguments)."""
    from botfleet.cli.data_plane_server import plain_serve_options, serve_data_plane

    args = list(sys.argv[1:] if argv is None else argv)
    options = plain_serve_options(args)
    if options is not None:
        serve_data_plane(options)
        return
    build_app()(args=args)


if __name__ == "__main__":  # pragma: no cover
    main()
