"""``wacloud campaigns list|pause|resume|cancel|set|export`` and ``wacloud ratecard load FILE``: through the
gateway's ``/v1/campaigns`` and ``/v1/ratecard`` (the same operations as the web console)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from wacloud.cli.output import CliError, Exit, JsonOpt, console, emit_json, fail
from wacloud.cli.remote import ApiKeyOpt, GatewayClient, GatewayOpt

app = typer.Typer(help="List, pause, resume, cancel, reschedule and export campaigns (through the gateway).",
                  no_args_is_help=True)
ratecard_app = typer.Typer(help="The rate card the gateway estimates costs with.", no_args_is_help=True)
IdArg = Annotated[str, typer.Argument(help="The campaign id.")]


def _call(gateway: str | None, api_key: str | None, method: str, path: str, json_out: bool, **kw: Any) -> Any:
    try:
        with GatewayClient(gateway, api_key) as gw:
            return gw.request(method, path, **kw)
    except CliError as exc:
        fail(exc, as_json=json_out)


def _show(report: dict[str, Any], json_out: bool) -> None:
    if json_out:
        emit_json(report)
        return
    held = ", ".join(f"{k} {v}" for k, v in (report.get("held") or {}).items()) or "-"
    states = ", ".join(f"{k} {v}" for k, v in (report.get("states") or {}).items()) or "-"
    console.print(f"{report['id']}: {report.get('state')}  {states}  held: {held}  cost "
                  f"{report.get('cost', 0):.4f} {report.get('currency', '')}  eta {report.get('eta_s')} s")


@app.command("list")
def list_campaigns(gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """Every campaign with its counts, held jobs, cost and ETA."""
    data = _call(gateway, api_key, "GET", "/v1/campaigns", json_out)
    if json_out:
        emit_json(data)
        return
    table = Table("id", "state", "total", "states", "held", "cost", "eta (s)")
    for c in data["campaigns"]:
        table.add_row(c["id"], c["state"], str(c["total"]),
                      ", ".join(f"{k} {v}" for k, v in c["states"].items()),
                      ", ".join(f"{k} {v}" for k, v in c["held"].items()) or "-",
                      f"{c['cost']:.4f} {c['currency']}", "-" if c["eta_s"] is None else f"{c['eta_s']:.0f}")
    console.print(table)


def _action(action: str) -> Any:
    def command(campaign_id: IdArg, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None,
                json_out: JsonOpt = False) -> None:
        _show(_call(gateway, api_key, "POST", f"/v1/campaigns/{campaign_id}/{action}", json_out), json_out)

    command.__doc__ = {"pause": "Hold the campaign's unsent jobs until resumed.",
                       "resume": "Send the campaign's paused jobs again.",
                       "cancel": "Fail every unsent job of the campaign."}[action]
    return command


for _name in ("pause", "resume", "cancel"):
    app.command(_name)(_action(_name))


@app.command("set")
def set_campaign(
    campaign_id: IdArg,
    start_at: Annotated[str | None, typer.Option(
        "--start-at", help="Move a campaign that has not started: an ISO 8601 time, Unix seconds, or 'now'.")] = None,
    budget: Annotated[float | None, typer.Option(
        "--budget", min=0, help="Its spending cap (in the rate card's currency).")] = None,
    no_budget: Annotated[bool, typer.Option("--no-budget", help="Remove its spending cap.")] = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Reschedule a campaign that has not started, or change its budget."""
    body: dict[str, Any] = {}
    if start_at is not None:
        body["start_at"] = None if start_at.strip().lower() == "now" else start_at
    if budget is not None and no_budget:
        fail(CliError("--budget and --no-budget: give one", Exit.USAGE), as_json=json_out)
    if budget is not None or no_budget:
        body["budget"] = budget
    if not body:
        fail(CliError("nothing to change: give --start-at, --budget or --no-budget", Exit.USAGE), as_json=json_out)
    _show(_call(gateway, api_key, "PATCH", f"/v1/campaigns/{campaign_id}", json_out, json=body), json_out)


@app.command("export")
def export(campaign_id: IdArg,
           out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the CSV here (default: stdout).")]
           = None,
           gateway: GatewayOpt = None, api_key: ApiKeyOpt = None) -> None:
    """Per-recipient CSV: recipient, state, wamid, code, detail, cost."""
    data = _call(gateway, api_key, "GET", f"/v1/campaigns/{campaign_id}/export", False)
    text = data.decode("utf-8") if isinstance(data, bytes) else str(data)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"{len(text.splitlines()) - 1} recipients written to {out}")


@ratecard_app.command("load")
def load(file: Annotated[Path, typer.Argument(help="A rate card CSV in Meta's layout.")],
         as_of: Annotated[str | None, typer.Option("--as-of", help="The card's date (YYYY-MM-DD).")] = None,
         gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """Load Meta's current rate card (CSV: Market, Currency, Marketing, Utility, Authentication…)."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        fail(CliError(f"cannot read {file}: {exc.strerror}", Exit.USAGE), as_json=json_out)
    params = {"as_of": as_of} if as_of else {}
    data = _call(gateway, api_key, "POST", "/v1/ratecard", json_out, content=text.encode("utf-8"),
                 params=params, headers={"Content-Type": "text/csv"})
    if json_out:
        emit_json(data)
    else:
        console.print(f"rate card loaded: {data['markets']} markets, {data['currency']}, as of {data['as_of']}")
