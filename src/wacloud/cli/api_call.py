"""What the gateway-API command modules (calls, groups, business, template ops) share: one call with the
error reported and the exit code set, and output as a table for people or JSON for scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from wacloud.cli.output import CliError, Exit, console, emit_json, fail, kv_table
from wacloud.cli.remote import GatewayClient


def gw_call(gateway: str | None, api_key: str | None, json_out: bool, method: str, path: str, **kwargs: Any) -> Any:
    """One gateway call; on failure, report (naming the field when the gateway did) and exit with its code."""
    try:
        with GatewayClient(gateway, api_key) as gw:
            return gw.request(method, path, **kwargs)
    except CliError as exc:
        fail(exc, as_json=json_out)


def show(json_out: bool, data: Any, title: str) -> None:
    """``data`` as JSON (``--json``) or as a key/value table."""
    if json_out:
        emit_json(data)
    elif isinstance(data, dict):
        console.print(kv_table(data, title=title))
    else:
        console.print(f"{title}: {data}")


def rows(json_out: bool, data: Any, items: list[dict[str, Any]], columns: list[str], title: str) -> None:
    """``data`` as JSON (``--json``), else ``items`` as a table of ``columns``."""
    if json_out:
        emit_json(data)
        return
    table = Table(title=title, box=None, pad_edge=False)
    for col in columns:
        table.add_column(col, style="bold" if col == columns[0] else None)
    for item in items:
        table.add_row(*(str(item.get(c, "") if item.get(c) is not None else "") for c in columns))
    console.print(table)


def read_text(file: Path, json_out: bool, what: str) -> str:
    """The text of ``file`` (an SDP, a JSON body), or a usage error naming it."""
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(CliError(f"cannot read the {what} {file}: {exc}", Exit.USAGE), as_json=json_out)
