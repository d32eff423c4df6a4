"""`botfleet new FLOW_NAME`: a starter flow with a tenant and conversation tests that pass.

Exit codes: 0 the files were written; 1 some were there already (nothing is written without
`--force`); 2 a usage error (an invalid FLOW_NAME, a folder that cannot be written), said in
one message naming the argument, as click says its own (a missing FLOW_NAME).
"""

from __future__ import annotations

import re
from pathlib import Path

import typer


def new(
    name: str = typer.Argument(..., metavar="FLOW_NAME", help="e.g. my_bot"),
    folder: Path | None = typer.Option(
        None, "--dir", help="Where to write the files (default: a new folder FLOW_NAME)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace files that already exist."),
    timezone: str = typer.Option(
        "Europe/Madrid", "--timezone", help="The business's time zone (IANA), e.g. Europe/Lisbon."
    ),
    language: str = typer.Option(
        "en",
        "--language",
        help="The tenant's language, and the starter's: en, es, pt, fr, de, it, ca, pt-PT...",
    ),
) -> None:
    """Start a new flow: the flow, a tenant running it, and conversation tests.

    Exit code 1 when files are already there (use --force), 2 for a usage error.
    """
    from botfleet.cli.starter import StarterExists, starter_language, write_starter

    _check_name(name)
    _check_timezone(timezone)
    _check_language(language)
    target = folder if folder is not None else Path(name)
    # Without --dir the folder is named after FLOW_NAME: the error names what was given.
    where, remedy = (
        ("--dir", "") if folder is not None else ("FLOW_NAME", " (give another with --dir)")
    )
    if target.exists() and not target.is_dir():
        raise typer.BadParameter(f"{target} is a file, not a folder{remedy}", param_hint=where)
    try:
        written = write_starter(name, target, force=force, timezone=timezone, language=language)
    except StarterExists as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:  # the name, checked above already
        raise typer.BadParameter(str(exc), param_hint="FLOW_NAME") from None
    except OSError as exc:  # e.g. --dir is under a file
        failed = exc.filename if exc.filename is not None else target
        reason = exc.strerror or type(exc).__name__
        raise typer.BadParameter(f"cannot write {failed}: {reason}", param_hint=where) from None
    typer.echo(f"wrote {len(written)} files in {target}:")
    for path in written:
        typer.echo(f"  {path}")
    # Said, as both shape every reminder and built-in text: a starter left on another
    # business's clock sends reminders an hour off without a word.
    typer.echo(
        f"the tenant is on {timezone}, in language {language!r} "
        f"(change them in {target / 'tenant.yaml'}, or with --timezone and --language)"
    )
    if not starter_language(language):
        # The built-in texts fall back to English too, but the owner would not know the
        # starter's own words did: the first chat would mix languages unannounced.
        typer.echo(
            f"the starter's texts are in English (none written in {language!r}): translate "
            f"them in {target / (name + '.yaml')} and {target / 'tests'}"
        )
    typer.echo(
        "next:\n"
        f"  botfleet validate {target / 'tenant.yaml'}\n"
        f"  botfleet test {target / 'tests'} --coverage\n"
        f"  botfleet chat {target / 'tenant.yaml'}\n"
        f"  botfleet graph {target / (name + '.yaml')}"
    )


def _check_name(name: str) -> None:
    """A usage error (exit code 2) unless `name` is a flow name; it suggests the name written
    in lower_snake_case when that is one (`Bakery`: `bakery`, `My Bot`: `my_bot`)."""
    from botfleet.cli.starter import NAME_PATTERN

    if NAME_PATTERN.fullmatch(name):
        return
    path = Path(name)
    if len(path.parts) > 1 and NAME_PATTERN.fullmatch(path.name):
        # A folder given where the name goes: say where the folder goes instead.
        raise typer.BadParameter(
            f"{name!r} is a path, not a flow name: give the folder with --dir "
            f"(botfleet new {path.name} --dir {name})",
            param_hint="FLOW_NAME",
        )
    fixed = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")
    example = fixed if NAME_PATTERN.fullmatch(fixed) else "my_bot"
    raise typer.BadParameter(
        f"{name!r} is not a flow name: use lower-case letters, digits and underscores, "
        f"starting with a letter (e.g. {example})",
        param_hint="FLOW_NAME",
    )


def _check_timezone(timezone: str) -> None:
    from botfleet.domain.timezones import check_zone_name

    try:
        check_zone_name(timezone)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--timezone") from None


def _check_language(language: str) -> None:
    from botfleet.cli.starter import LANGUAGE_PATTERN

    if not LANGUAGE_PATTERN.fullmatch(language):
        raise typer.BadParameter(
            f"{language!r} is not a language tag: write e.g. en, es, pt-PT", param_hint="--language"
        )
