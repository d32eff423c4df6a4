"""Files a command writes (`-o`, `--junit`...): a path that cannot be written is a usage error
naming it, not a traceback."""

from __future__ import annotations

from pathlib import Path

import typer


def check_output(path: Path, option: str) -> None:
    """Refuse, before any work, an output path that is a folder."""
    if path.is_dir():
        raise typer.BadParameter(f"cannot write {path}: Is a directory", param_hint=option)


def write_output(path: Path, content: str | bytes, option: str = "--output") -> None:
    """Write `content` to `path`, creating its folder; exit 2 naming the path when that fails."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        problem = f"cannot write {path}: {_file_on_the_way(path)} is a file, not a folder"
        raise typer.BadParameter(problem, param_hint=option) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        problem = f"cannot create the folder {path.parent}: {reason}"
        raise typer.BadParameter(problem, param_hint=option) from None
    try:
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise typer.BadParameter(f"cannot write {path}: {reason}", param_hint=option) from None


def _file_on_the_way(path: Path) -> Path:
    """The first of `path`'s folders that is a file."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return path.parent
