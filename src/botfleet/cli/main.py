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
    from botfleet.cli.commands.db import db_app
    from botfleet.cli.commands.demo import demo
    from botfleet.cli.commands.fleet import fleet_app
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
    root.add_typer(fleet_app, name="fleet")
    root.add_typer(db_app, name="db")
    root.command("demo")(demo)
    root.command("contact-hash")(contact_hash)
    # Flow authoring (docs/authoring.md)
    root.command("validate")(validate)
    root.command("graph")(graph)
    root.command("chat")(chat)
    root.command("test")(run_tests)
    root.command("schema")(schema)
    root.command("new")(new)
    _reflow_help(root)
    return root


def _reflow_help(app: typer.Typer) -> None:
    """Each command's help from its docstring with the paragraphs' line breaks taken out.

    Typer's rich help keeps the single line breaks of every paragraph after the first, so a
    docstring wrapped at 100 columns showed in `--help` as lines cut in the middle ("...a
    frozen" / "clock, in strict..."). A paragraph whose lines after the first are indented or
    start with "-" (a list), or one starting with "\b", is kept as written.
    """
    import inspect

    for info in app.registered_commands:
        if info.help is None and info.callback is not None:
            info.help = _reflowed(inspect.getdoc(info.callback) or "")
    for group in app.registered_groups:
        if group.typer_instance is not None:
            _reflow_help(group.typer_instance)


def _reflowed(text: str) -> str:
    paragraphs = []
    for paragraph in text.split("\n\n"):
        lines = paragraph.split("\n")
        kept = paragraph.startswith("\b") or any(
            line[:1].isspace() or line.startswith("-") for line in lines[1:]
        )
        paragraphs.append(paragraph if kept else " ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs)


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
