"""Why a data plane exited, read from the end of its log: the one line it writes when it
refuses to start (`botfleet serve data-plane`, `cli/data_plane_server.py`).

`status` puts that line first in a failed tenant's detail, which is all the `fleet status`
table and the `watch` lines show of it; without it they said only "process N exited", the
reason being somewhere in the log's last twenty lines.

How it ended (an exit status, or the signal that killed it) is known only to the process whose
child it was: a long-running `fleet watch` for the data planes it restarted. `exit_words` says
it; a process killed with SIGKILL writes nothing, so without it a data plane killed by the OOM
killer looked like one that exited with nothing to say.
"""

from __future__ import annotations

import signal

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


#: Said after a SIGKILL: nothing in the data plane sends it; the OOM killer (or an operator) does.
OOM_HINT = (
    "perhaps by the kernel's OOM killer, memory having run out (look for 'Out of memory' in "
    "journalctl -k or dmesg)"
)


def exit_words(returncode: int | None) -> str:
    """How a process ended, from its `Popen.returncode` (negative: the signal that killed it;
    None: not known, it was not our child), as the words after "process N"."""
    if returncode is None:
        return "exited"
    if returncode >= 0:
        return f"exited with status {returncode}"
    number = -returncode
    try:
        name = signal.Signals(number).name
    except ValueError:  # a real-time signal has no name
        return f"was killed by signal {number}"
    words = f"was killed by {name} (signal {number})"
    return f"{words}, {OOM_HINT}" if number == signal.SIGKILL else words
