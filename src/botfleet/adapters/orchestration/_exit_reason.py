"""Why a data plane exited, read from the end of its log: the one line it writes when it
refuses to start (`botfleet serve data-plane`, `cli/data_plane_server.py`).

`status` puts that line first in a failed tenant's detail, which is all the `fleet status`
table and the `watch` lines show of it; without it they said only "process N exited", the
reason being somewhere in the log's last twenty lines.
"""

from __future__ import annotations

#: How the data plane's start-up refusals begin (status 2, one line on stderr).
REFUSALS = ("data plane cannot start: ", "data plane settings are invalid: ")


def start_refusal(log_tail: str) -> str | None:
    """The last start-up refusal of `log_tail`, or None when the process logged anything
    after it: a refusal followed by JSON lines belongs to an earlier start, not to this exit.
    The lines after a refusal that are not JSON are its own (a flow's errors, one a line)."""
    lines = [line.strip() for line in log_tail.splitlines() if line.strip()]
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if line.startswith("{"):
            return None
        if line.startswith(REFUSALS):
            return line
    return None
