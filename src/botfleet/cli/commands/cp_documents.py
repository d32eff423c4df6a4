"""`botfleet cp flows|knowledge ...`: versioned documents (the same verbs for both)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from botfleet.cli.commands.cp_common import read_text, run


@dataclass(frozen=True)
class DocumentVerbs:
    """The client methods of one kind of document, e.g. ``upload_flow``."""

    kind: str  # "flow" | "knowledge"
    text_field: str  # the detail's field holding the text: "yaml" | "text"

    @property
    def upload_help(self) -> str:
        """`upload`'s help: only a flow is validated line by line."""
        same = (
            " A file identical to the latest version stores nothing: the answer is that "
            'version, with "unchanged": true (published with --publish).'
        )
        if self.kind == "flow":
            return (
                "Upload a new version (numbered 1..n); an invalid flow lists its issues by "
                "line." + same + self.changes_note
            )
        return "Upload a new version (numbered 1..n) of the markdown document." + same

    @property
    def changes_note(self) -> str:
        """What a publish of this kind prints besides its answer."""
        if self.kind != "flow":
            return ""
        return (
            " When a version is made live, what replacing the live one does to conversations "
            "under way (contacts restarted, reminders that send nothing) is printed on stderr, "
            "one 'warning:' line each; the publish is never refused for it."
        )

    def method(self, verb: str) -> str:
        plural = "flows" if self.kind == "flow" and verb in ("list", "diff") else self.kind
        return f"{verb}_{plural}"


def warn_of_changes(answer: object) -> None:
    """What a publish answered it does to conversations under way (`changes`, flows only),
    one ``warning:`` line each on stderr: standard output stays the answer's JSON."""
    for change in getattr(answer, "changes", None) or ():
        line = f"{change.path}: {change.message} ({change.code})"
        typer.echo(f"warning: {_terminal_safe(line)}", err=True)


def _terminal_safe(text: str) -> str:
    """`text` with its control characters written as escapes (``\\x1b``): the names in it are
    the tenant's (a YAML key may hold ``"\\e]0;...\\a"``), and printed raw an escape sequence
    would drive the operator's terminal; a line break would forge a line of its own."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def build(verbs: DocumentVerbs, help_text: str) -> typer.Typer:
    app = typer.Typer(help=help_text)
    call = verbs.method

    @app.command("upload", help=verbs.upload_help)
    def upload(
        ctx: typer.Context,
        tenant: str,
        file: Path = typer.Argument(..., help="The file ('-': standard input)."),
        publish: bool = typer.Option(False, "--publish", help="Publish it at once."),
    ) -> None:
        text = read_text(file)
        warn_of_changes(
            run(ctx, lambda c: getattr(c, call("upload"))(tenant, text, publish=publish))
        )

    @app.command("list")
    def list_versions(ctx: typer.Context, tenant: str) -> None:
        """Every version (number, sha256, author, date) and which one is published."""
        run(ctx, lambda c: getattr(c, call("list"))(tenant))

    @app.command("show")
    def show(
        ctx: typer.Context,
        tenant: str,
        version: int,
        raw: bool = typer.Option(False, "--raw", help="Print only the document's text."),
    ) -> None:
        """One version: its details and text (`--raw`: the text only, e.g. to edit it)."""

        def get(client: object) -> object:
            detail = getattr(client, call("get"))(tenant, version)
            return getattr(detail, verbs.text_field) if raw else detail

        run(ctx, get)

    publish_help = (
        "Make this version the one data planes run (they pick it up on their next poll)."
        + verbs.changes_note
    )

    @app.command("publish", help=publish_help)
    def publish_version(ctx: typer.Context, tenant: str, version: int) -> None:
        warn_of_changes(run(ctx, lambda c: getattr(c, call("publish"))(tenant, version)))

    rollback_help = (
        "Publish an earlier version again (data planes pick it up on their next poll).\n\n"
        "Without --to: the version that was published before the current one; versions "
        "uploaded but never published are skipped, and when no earlier version was ever "
        "published the control plane refuses (409): give --to." + verbs.changes_note
    )

    @app.command("rollback", help=rollback_help)
    def rollback(
        ctx: typer.Context,
        tenant: str,
        to: int | None = typer.Option(
            None,
            "--to",
            help="The earlier version to publish, published before or not (default: the one "
            "that was published before the current one).",
        ),
    ) -> None:
        warn_of_changes(run(ctx, lambda c: getattr(c, call("rollback"))(tenant, to)))

    @app.command("diff")
    def diff(ctx: typer.Context, tenant: str, from_version: int, to_version: int) -> None:
        """Unified diff of two versions."""
        run(ctx, lambda c: getattr(c, call("diff"))(tenant, from_version, to_version))

    return app


def register(app: typer.Typer) -> None:
    app.add_typer(
        build(DocumentVerbs("flow", "yaml"), "Versioned flows: upload, publish, roll back."),
        name="flows",
    )
    app.add_typer(
        build(DocumentVerbs("knowledge", "text"), "Versioned knowledge (markdown) for the LLM."),
        name="knowledge",
    )
