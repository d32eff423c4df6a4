"""Flow, tenant and test files read as text: where a file that is not UTF-8 goes wrong. Pure.

Every command that reads one of these files (`botfleet validate`, `chat`, `test`, the flow
loader) says the same thing about one that is not UTF-8, at the line of its first bad byte, so
a file met twice (a flow on its own and as a tenant's flow) is reported once.
"""

from __future__ import annotations

__all__ = ["not_utf8"]


def not_utf8(exc: UnicodeDecodeError) -> tuple[int, str]:
    """The line of the first byte a file's text cannot be read at, and what to do about it."""
    before = exc.object[: exc.start]
    line = before.count(b"\n") + 1
    column = exc.start - (before.rfind(b"\n") + 1) + 1
    byte = exc.object[exc.start : exc.start + 1].hex()
    return line, (
        f"not UTF-8 text: byte 0x{byte} at line {line}, column {column} ({exc.reason}); "
        "save the file as UTF-8"
    )
