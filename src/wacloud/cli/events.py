"""``wacloud events tail`` (the live stream) and ``wacloud subscriptions …`` (push events to a URL)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from wacloud.cli.output import CliError, JsonOpt, emit_json, fail, kv_table
from wacloud.cli.remote import ApiKeyOpt, GatewayClient, GatewayOpt

events_app = typer.Typer(name="events", help="Follow the gateway's event log.", no_args_is_help=True)
subscriptions_app = typer.Typer(name="subscriptions", help="Push events to your URLs (Standard Webhooks).",
                                no_args_is_help=True)

TypesOpt = Annotated[str | None, typer.Option("--types", help="Comma-separated event types (default: all).")]
NumberOpt = Annotated[str | None, typer.Option("--number", help="Comma-separated phone number ids.")]
SubIdArg = Annotated[str, typer.Argument(help="The subscription id (sub_…).")]


def _line(event: dict[str, Any]) -> str:
    who = (event.get("contact") or {}).get("wa_id") or (event.get("contact") or {}).get("bsuid") or "-"
    data = event.get("data") or {}
    what = data.get("state") or data.get("status") or data.get("step") or data.get("type") or ""
    return f"{event['position']:>8}  {event['type']:<26} {event['phone_number_id']:<18} {who:<16} {what}"


@events_app.command("tail")
def tail(
    types: TypesOpt = None,
    number: NumberOpt = None,
    after: Annotated[int | None, typer.Option("--after", help="Start after this position (default: now).")] = None,
    count: Annotated[int, typer.Option("--count", help="Stop after this many events (0: follow forever).")] = 0,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Follow the live event stream (one line per event; --json: one JSON event per line). Resumes by itself
    after a dropped connection, from the last event it showed."""
    params = {k: v for k, v in (("types", types), ("number", number), ("after", after)) if v is not None}
    shown, last = 0, None
    try:
        with GatewayClient(gateway, api_key) as gw:
            while True:
                headers: dict[str, str] = {"Last-Event-ID": str(last)} if last is not None else {}
                try:
                    for line in gw.stream_lines("/v1/events/stream", params=params, headers=headers):
                        if not line.startswith("data:"):
                            continue
                        event = json.loads(line[5:].strip())
                        last = event["position"]
                        typer.echo(json.dumps(event, ensure_ascii=False) if json_out else _line(event))
                        shown += 1
                        if count and shown >= count:
                            return
                except CliError as exc:
                    if "lost the gateway" not in str(exc) or last is None:
                        raise
    except CliError as exc:
        fail(exc, as_json=json_out)


def _show(sub: dict[str, Any], json_out: bool) -> None:
    if json_out:
        emit_json(sub)
        return
    rows = {k: sub.get(k) for k in ("id", "url", "state", "paused_reason", "failing", "types", "numbers", "cursor")}
    rows.update({k: v for k, v in (sub.get("delivery") or {}).items()})
    if "secret" in sub:
        rows["secret (shown once)"] = sub["secret"]
    Console().print(kv_table(rows, title="subscription"))


def _call(gateway: str | None, api_key: str | None, json_out: bool, method: str, path: str, **kw: Any) -> Any:
    try:
        with GatewayClient(gateway, api_key) as gw:
            return gw.request(method, path, **kw)
    except CliError as exc:
        fail(exc, as_json=json_out)


@subscriptions_app.command("create")
def create(
    url: Annotated[str, typer.Argument(help="The http(s) URL that receives the events.")],
    types: TypesOpt = None,
    number: NumberOpt = None,
    start: Annotated[str, typer.Option("--from", help='"now", "oldest", a position or an ISO time.')] = "now",
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Subscribe a URL; prints the signing secret (whsec_…) once: keep it to verify deliveries."""
    body: dict[str, Any] = {"url": url, "start": int(start) if start.isdigit() else start}
    if types:
        body["types"] = [t.strip() for t in types.split(",") if t.strip()]
    if number:
        body["numbers"] = [n.strip() for n in number.split(",") if n.strip()]
    _show(_call(gateway, api_key, json_out, "POST", "/v1/subscriptions", json=body), json_out)


@subscriptions_app.command("list")
def list_subscriptions(gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """Every subscription and how its delivery goes."""
    subs = _call(gateway, api_key, json_out, "GET", "/v1/subscriptions")["subscriptions"]
    if json_out:
        emit_json({"subscriptions": subs})
        return
    table = Table("id", "url", "state", "cursor", "delivered", "failed", "dead", "last status")
    for s in subs:
        d = s["delivery"]
        table.add_row(s["id"], s["url"], s["state"] + (" (failing)" if s["failing"] else ""), str(s["cursor"]),
                      str(d["delivered"]), str(d["failed_attempts"]), str(d["dead_lettered"]), str(d["last_status"]))
    Console().print(table)


@subscriptions_app.command("show")
def show(sub_id: SubIdArg, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """One subscription: cursor, counters, last attempt, next retry, dead letters."""
    sub = _call(gateway, api_key, json_out, "GET", f"/v1/subscriptions/{sub_id}")
    _show(sub, json_out)
    if not json_out and sub.get("dead_letters"):
        typer.echo(f"dead letters: {len(sub['dead_letters'])} (replay: wacloud subscriptions replay {sub_id} --dead)")


@subscriptions_app.command("delete")
def delete(sub_id: SubIdArg, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """Delete a subscription (and its dead letters)."""
    out = _call(gateway, api_key, json_out, "DELETE", f"/v1/subscriptions/{sub_id}")
    emit_json(out) if json_out else typer.echo(f"deleted {sub_id}")


@subscriptions_app.command("pause")
def pause(sub_id: SubIdArg, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """Pause delivery (events keep accumulating)."""
    _show(_call(gateway, api_key, json_out, "POST", f"/v1/subscriptions/{sub_id}/pause"), json_out)


@subscriptions_app.command("resume")
def resume(sub_id: SubIdArg, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """Resume delivery from the cursor (clears the failing flag)."""
    _show(_call(gateway, api_key, json_out, "POST", f"/v1/subscriptions/{sub_id}/resume"), json_out)


@subscriptions_app.command("replay")
def replay(
    sub_id: SubIdArg,
    start: Annotated[str | None, typer.Option("--from", help="A position (exclusive) or an ISO time.")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="Deliver the dead letters again.")] = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Deliver again from a position or a time, or the dead letters."""
    body: dict[str, Any] = {"dead_letters": True} if dead else {}
    if start is not None:
        body["from"] = int(start) if start.isdigit() else start
    out = _call(gateway, api_key, json_out, "POST", f"/v1/subscriptions/{sub_id}/replay", json=body)
    emit_json(out) if json_out else typer.echo(" ".join(f"{k}={v}" for k, v in out.items()))
