"""``wacloud broadcast --template NAME --recipients FILE.csv``: a campaign through the gateway.

The CSV has a header row. The recipient column is ``to`` (or ``phone``, ``wa_id``, ``number``); columns
named ``1``, ``2``… (or ``param1``…) are the body's positional parameters in order; any other column is a
named parameter. A progress bar follows the campaign; a final table shows the outcomes by state and the
failures by error code.
"""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from wacloud.cli.output import CliError, Exit, JsonOpt, console, emit_json, fail
from wacloud.cli.remote import ApiKeyOpt, GatewayClient, GatewayOpt

_TO_COLUMNS = ("to", "phone", "wa_id", "number", "recipient")
_POSITIONAL = re.compile(r"^(?:param_?)?(\d+)$", re.IGNORECASE)


def read_recipients(path: Path) -> list[dict[str, Any]]:
    """Recipients from a CSV file, as the API's ``recipients`` list."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fields = [c.strip() for c in reader.fieldnames or []]
            to_col = next((c for c in fields if c.lower() in _TO_COLUMNS), None)
            if to_col is None:
                raise CliError(f"{path}: no recipient column (name one of: {', '.join(_TO_COLUMNS)})", Exit.USAGE)
            positional = sorted((int(m.group(1)), c) for c in fields if (m := _POSITIONAL.match(c)))
            named = [c for c in fields if c != to_col and not _POSITIONAL.match(c)]
            out = []
            for line, row in enumerate(reader, start=2):
                row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
                if not row.get(to_col):
                    raise CliError(f"{path}:{line}: empty {to_col}", Exit.USAGE)
                item: dict[str, Any] = {"to": row[to_col]}
                if positional:
                    item["parameters"] = [row.get(c, "") for _, c in positional]
                if named:
                    item["named"] = {c: row.get(c, "") for c in named}
                out.append(item)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc}", Exit.USAGE) from None
    except csv.Error as exc:
        raise CliError(f"{path}: not a valid CSV file: {exc}", Exit.USAGE) from None
    if not out:
        raise CliError(f"{path}: no recipients", Exit.USAGE)
    return out


def outcome_table(p: dict[str, Any]) -> Table:
    """Outcomes by state, then failures by code."""
    table = Table(title=f"campaign {p['id']}: {p['total']} recipients")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for state, n in sorted(p["states"].items(), key=lambda kv: -kv[1]):
        table.add_row(state, str(n))
    for code, n in sorted(p.get("failed_by_code", {}).items()):
        table.add_row(f"failed with code {code}", str(n))
    return table


def broadcast(
    template: Annotated[str, typer.Option("--template", "-t", help="Approved template name.")],
    recipients: Annotated[Path, typer.Option("--recipients", "-r", help="CSV file with a header row.")],
    language: Annotated[str, typer.Option("--language", "-l")] = "en_US",
    category: Annotated[str | None, typer.Option("--category", help="marketing, utility…")] = None,
    campaign_id: Annotated[
        str | None, typer.Option("--id", help="Campaign id; running the same id again sends nobody twice.")
    ] = None,
    follow: Annotated[bool, typer.Option("--follow/--no-follow", help="Show progress until done.")] = True,
    until: Annotated[
        str, typer.Option("--until", help="Stop following once every message is accepted, delivered or read.")
    ] = "accepted",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to follow at most.")] = 3600.0,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send one template to every recipient of a CSV file, with progress and a summary. Exit 1 on failures."""
    if until not in ("accepted", "delivered", "read"):
        fail(CliError("--until must be accepted, delivered or read", Exit.USAGE), as_json=json_out)
    try:
        rows = read_recipients(recipients)
        body: dict[str, Any] = {"template": template, "language": language, "recipients": rows}
        if category:
            body["category"] = category
        if campaign_id:
            body["id"] = campaign_id
        with GatewayClient(gateway, api_key, timeout=300) as gw:
            p = gw.request("POST", "/v1/campaigns", json=body)
            if follow:
                p = _follow(gw, p, until=until, timeout=timeout, quiet=json_out)
    except CliError as exc:
        fail(exc, as_json=json_out)
    if json_out:
        emit_json(p)
    else:
        console.print(outcome_table(p))
    if p.get("failed_by_code"):
        raise typer.Exit(int(Exit.FAILED))


_REACHED = {
    "accepted": {"accepted", "sent", "delivered", "read"},
    "delivered": {"delivered", "read"},
    "read": {"read"},
}
_ENDED = {"failed", "dead", "uncertain"}


def _follow(gw: GatewayClient, p: dict[str, Any], *, until: str, timeout: float, quiet: bool) -> dict[str, Any]:
    goal = _REACHED[until] | _ENDED
    deadline = time.monotonic() + timeout

    def reached(progress: dict[str, Any]) -> int:
        """Messages that got as far as the goal (or ended)."""
        return sum(n for s, n in progress["states"].items() if s in goal)

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=False,
    ) as bar:
        task = bar.add_task(f"sending {p['id']}", total=p["total"], detail="")
        while True:
            done = reached(p)
            detail = ", ".join(f"{s} {n}" for s, n in sorted(p["states"].items()))
            bar.update(task, completed=done, detail=detail)
            if done >= p["total"] or time.monotonic() > deadline:
                return p
            time.sleep(0.25)
            p = gw.request("GET", f"/v1/campaigns/{p['id']}")
