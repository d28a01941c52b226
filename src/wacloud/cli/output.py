"""Output for people (Rich) and for scripts (``--json``), and the CLI's exit codes."""

from __future__ import annotations

import json
import sys
from enum import IntEnum
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table


class Exit(IntEnum):
    """Exit codes: scripts can tell a failed message from a broken setup."""

    OK = 0
    FAILED = 1  #: the operation ran and failed (a job failed, a check did not pass)
    USAGE = 2  #: bad arguments or configuration (Typer uses 2 for usage errors too)
    UNREACHABLE = 3  #: the gateway or the API could not be reached
    AUTH = 4  #: the API key or token was refused
    NOT_FOUND = 5  #: no such job, media or template
    TIMEOUT = 6  #: waited for an outcome (--wait, --until) that did not come in time


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document (for scripts).")]

console = Console(stderr=False, highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class CliError(Exception):
    """An error to show the user, with the exit code to leave with."""

    def __init__(self, message: str, code: Exit = Exit.FAILED, *, data: dict[str, Any] | None = None) -> None:
        self.message = message
        self.code = code
        self.data = data or {}
        super().__init__(message)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def fail(error: CliError, *, as_json: bool) -> NoReturn:
    """Report ``error`` (as JSON on stdout with --json, else in red on stderr) and exit with its code."""
    if as_json:
        emit_json({"ok": False, "error": error.message, **error.data})
    else:
        # The message is text, not markup: "[postgres]" or a JSON body must come out as written.
        err_console.print(f"[red]error:[/red] {escape(error.message)}", markup=True, highlight=False)
    raise typer.Exit(int(error.code))


def kv_table(rows: dict[str, Any], title: str | None = None) -> Table:
    """A two-column table of ``rows``."""
    table = Table(show_header=False, title=title, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for k, v in rows.items():
        if v is not None and v != "":
            table.add_row(str(k), str(v))
    return table


STATE_STYLE = {
    "read": "green",
    "delivered": "green",
    "sent": "cyan",
    "accepted": "cyan",
    "queued": "yellow",
    "claimed": "yellow",
    "sending": "yellow",
    "failed": "red",
    "dead": "red",
    "uncertain": "magenta",
}


def styled_state(state: str) -> str:
    """A job state coloured for the terminal."""
    style = STATE_STYLE.get(state, "white")
    return f"[{style}]{state}[/{style}]"
