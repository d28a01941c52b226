"""``wacloud broadcast --template NAME --recipients FILE.csv``: a campaign through the gateway.

The CSV has a header row. The recipient column is ``to`` (or ``phone``, ``wa_id``, ``number``,
``recipient``); the other columns are template parameters by name: ``1``, ``2``… (or ``param1``…) and
named variables for the body, ``header.1`` / ``header.NAME`` / ``header.image`` for the header,
``button.0``… for buttons (see the README's campaign section). The gateway checks them against the
template first: a parameter no column gives refuses the campaign, a column that fills nothing is ignored
with a warning. A bad row (a wrong number, an empty value) is reported with its line and column and the
other rows are still sent. A progress bar follows the campaign; a final table shows the outcomes by state
and the failures by error code.
"""

from __future__ import annotations

import csv
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from wacloud.cli.output import CliError, Exit, JsonOpt, console, emit_json, err_console, fail, kv_table
from wacloud.cli.remote import ApiKeyOpt, GatewayClient, GatewayOpt
from wacloud.errors import ValidationError
from wacloud.identity import is_bsuid
from wacloud.phone import normalize

_TO_COLUMNS = ("to", "phone", "wa_id", "number", "recipient", "bsuid", "user_id")
_POSITIONAL = re.compile(r"^(?:param_?)?(\d+)$", re.IGNORECASE)


@dataclass
class CsvRecipients:
    """What a CSV file gives: the API's ``recipients``, the line of each, and the rows left out."""

    recipients: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  #: parameter name → the CSV header as written
    invalid: list[str] = field(default_factory=list)  #: "FILE:LINE: column 'C': reason"


def column_name(header: str) -> str:
    """The parameter a CSV header names: ``param1``/``param_1`` are ``1``; the rest as written."""
    m = _POSITIONAL.match(header)
    return m.group(1) if m else header


def read_recipients(path: Path, *, default_region: str | None = None) -> CsvRecipients:
    """Recipients from a CSV file; a row with a bad number is listed in ``invalid`` with its real line."""
    out = CsvRecipients()
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [c.strip() for c in next(reader, [])]
            to_i = next((i for i, c in enumerate(header) if c.lower() in _TO_COLUMNS), None)
            if to_i is None:
                raise CliError(f"{path}: no recipient column (name one of: {', '.join(_TO_COLUMNS)})", Exit.USAGE)
            to_col = header[to_i]
            params = [(i, column_name(c)) for i, c in enumerate(header) if i != to_i and c]
            out.columns = {column_name(c): c for i, c in enumerate(header) if i != to_i and c}
            out.columns["to"] = to_col
            while True:
                line = reader.line_num + 1  # the line the next record starts on (records may span lines)
                try:
                    row = next(reader)
                except StopIteration:
                    break
                if not any(cell.strip() for cell in row):
                    continue  # blank lines and the ",,," rows spreadsheets leave at the end
                cells = [cell.strip() for cell in row]
                to = cells[to_i] if to_i < len(cells) else ""
                try:
                    # A phone number, or a BSUID for a customer known without one (a username).
                    number = to if is_bsuid(to) else normalize(to, default_region).e164
                except ValidationError as exc:
                    out.invalid.append(f"{path}:{line}: column {to_col!r}: {exc.reason}")
                    continue
                values = {name: cells[i] if i < len(cells) else "" for i, name in params}
                out.recipients.append({"to": number, "values": values})
                out.lines.append(line)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc}", Exit.USAGE) from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: not a valid CSV file: {exc}", Exit.USAGE) from None
    except ValidationError as exc:  # an unknown --default-region
        raise CliError(f"--default-region: {exc.reason}", Exit.USAGE) from None
    if not out.recipients and not out.invalid:
        raise CliError(f"{path}: no recipients", Exit.USAGE)
    return out


def _parse_params(params: list[str] | None) -> dict[str, str]:
    values: dict[str, str] = {}
    for p in params or []:
        name, eq, value = p.partition("=")
        if not eq or not name.strip():
            raise CliError(f"--param {p!r}: use NAME=VALUE (e.g. header.image=https://…, button.0=SUMMER)",
                           Exit.USAGE)
        values[column_name(name.strip())] = value
    return values


def _invalid_lines(path: Path, rows: CsvRecipients, answer: dict[str, Any]) -> list[str]:
    """The gateway's invalid recipients as FILE:LINE: column 'C': reason."""
    out = []
    for item in answer.get("invalid") or []:
        i = int(item.get("index", -1))
        line = rows.lines[i] if 0 <= i < len(rows.lines) else "?"
        param = str(item.get("field", "")).removeprefix(f"recipients.{i}.").removeprefix("values.")
        column = rows.columns.get(param, param)
        out.append(f"{path}:{line}: column {column!r}: {item.get('reason')}")
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
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="NAME=VALUE for every recipient, named like a CSV column (1, first_name, header.image, "
            "button.0…); a CSV column of the same name wins.",
        ),
    ] = None,
    default_region: Annotated[
        str | None,
        typer.Option("--default-region", help="Region (US, DO…) of numbers written without + and country code."),
    ] = None,
    category: Annotated[str | None, typer.Option("--category", help="marketing, utility…")] = None,
    campaign_id: Annotated[
        str | None, typer.Option("--id", help="Campaign id; running the same id again sends nobody twice.")
    ] = None,
    follow: Annotated[bool, typer.Option("--follow/--no-follow", help="Show progress until done.")] = True,
    until: Annotated[
        str, typer.Option("--until", help="Stop following once every message is accepted, delivered or read.")
    ] = "accepted",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to follow at most.")] = 3600.0,
    stall: Annotated[
        float,
        typer.Option("--stall", help="Stop following when nothing has changed for this many seconds."),
    ] = 300.0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report recipients, holds, cost and duration; send nothing.")
    ] = False,
    budget: Annotated[float | None, typer.Option("--budget", help="Hold the rest once the estimate reaches this.")]
    = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send one template to every recipient of a CSV file, with progress and a summary.

    Exit 1 when a row was left out or a message failed, 6 when following timed out or stalled.
    """
    if until not in ("accepted", "delivered", "read"):
        fail(CliError("--until must be accepted, delivered or read", Exit.USAGE), as_json=json_out)
    stopped: str | None = None
    try:
        rows = read_recipients(recipients, default_region=default_region)
        body: dict[str, Any] = {"template": template, "language": language, "recipients": rows.recipients,
                                "skip_invalid": True}
        values = _parse_params(param)
        if values:
            body["values"] = values
        if category:
            body["category"] = category
        if campaign_id:
            body["id"] = campaign_id
        if budget is not None:
            body["budget"] = budget
        if dry_run:
            _dry_run(gateway, api_key, body, rows.invalid, json_out)
            return
        invalid = list(rows.invalid)
        warnings: list[str] = []
        p: dict[str, Any] = {"id": campaign_id, "total": 0, "states": {}, "failed_by_code": {}}
        if rows.recipients:  # every row may have been a bad number: then there is nothing to send
            with GatewayClient(gateway, api_key, timeout=300) as gw:
                p = gw.request("POST", "/v1/campaigns", json=body)
                invalid += _invalid_lines(recipients, rows, p)
                warnings = list(p.get("warnings") or [])
                _report(warnings, invalid, quiet=json_out)
                if follow and p["total"]:
                    p, stopped = _follow(gw, p, until=until, timeout=timeout, stall=stall, quiet=json_out)
        else:
            _report([], invalid, quiet=json_out)
    except CliError as exc:
        fail(exc, as_json=json_out)
    p["invalid"], p["warnings"] = invalid, warnings
    if stopped:
        p["stopped"] = stopped
    if json_out:
        emit_json(p)
    else:
        if p["total"]:
            console.print(outcome_table(p))
        if stopped:
            err_console.print(f"[yellow]stopped following:[/yellow] {escape(stopped)}")
    if stopped:
        raise typer.Exit(int(Exit.TIMEOUT))
    if p.get("failed_by_code") or invalid:
        raise typer.Exit(int(Exit.FAILED))


def _dry_run(gateway: str | None, api_key: str | None, body: dict[str, Any], invalid: list[str],
             json_out: bool) -> None:
    """``--dry-run``: what the campaign would do now (nothing is queued)."""
    with GatewayClient(gateway, api_key, timeout=300) as gw:
        p = gw.request("POST", "/v1/campaigns", params={"dry_run": "true"}, json=body)
    p["csv_invalid"] = invalid
    if json_out:
        emit_json(p)
        return
    rows = {"recipients": ", ".join(f"{k} {v}" for k, v in p["recipients"].items()),
            "template": f"{p['template'].get('name')} ({p['template'].get('status')})",
            "expected holds": ", ".join(f"{k} {v}" for k, v in p["held"].items()) or "-",
            "sendable now": p["sendable"], "estimated cost": f"{p['estimated_cost']:.4f} {p['currency']}",
            "duration": f"{p['duration_s']:.1f} s", "portfolio": p["portfolio"]}
    console.print(kv_table(rows, title="dry run: nothing was queued"))


def _report(warnings: list[str], invalid: list[str], *, quiet: bool) -> None:
    """Warnings and left-out rows on stderr (in the JSON document with --json)."""
    if quiet:
        return
    for w in warnings:
        err_console.print(f"[yellow]warning:[/yellow] {escape(w)}")
    for line in invalid:
        err_console.print(f"[red]not sent:[/red] {escape(line)}")


_REACHED = {
    "accepted": {"accepted", "sent", "delivered", "read"},
    "delivered": {"delivered", "read"},
    "read": {"read"},
}
_ENDED = {"failed", "dead", "uncertain"}


def _follow(
    gw: GatewayClient, p: dict[str, Any], *, until: str, timeout: float, stall: float, quiet: bool
) -> tuple[dict[str, Any], str | None]:
    """Poll the campaign until every message reached ``until``; (last progress, why it stopped early)."""
    goal = _REACHED[until] | _ENDED
    deadline = time.monotonic() + timeout
    changed_at, last = time.monotonic(), p["states"]

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
            now = time.monotonic()
            if p["states"] != last:
                changed_at, last = now, p["states"]
            done = reached(p)
            detail = ", ".join(f"{s} {n}" for s, n in sorted(p["states"].items()))
            bar.update(task, completed=done, detail=detail)
            if done >= p["total"]:
                return p, None
            short = f"{done} of {p['total']} messages {until}"
            if now > deadline:
                return p, f"--timeout {timeout:g} s reached with {short}"
            if now - changed_at > stall:
                hint = " (customers can turn read receipts off)" if until == "read" else ""
                return p, f"the campaign stalled: nothing changed for {stall:g} s, {short}{hint}"
            time.sleep(0.25)
            p = gw.request("GET", f"/v1/campaigns/{p['id']}")
