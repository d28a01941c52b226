"""``wacloud templates|profile|qr|block …``: management through the gateway's ``/v1`` API.

Each sub-app is a ``typer.Typer`` that ``wacloud.cli`` adds under its name. Commands take
``--gateway``/``--api-key`` like the other gateway commands, and ``--json`` for scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from wacloud.cli.output import CliError, Exit, JsonOpt, console, emit_json, fail, kv_table
from wacloud.cli.remote import ApiKeyOpt, GatewayClient, GatewayOpt, NumberOpt
from wacloud.templates import TemplateDefinitionError, check_definition

templates_app = typer.Typer(
    name="templates", help="List, check, create and delete message templates.", no_args_is_help=True
)
profile_app = typer.Typer(name="profile", help="Show and change the business profile.", no_args_is_help=True)
qr_app = typer.Typer(name="qr", help="QR codes and short links with a prefilled message.", no_args_is_help=True)
block_app = typer.Typer(name="block", help="Block and unblock users.", no_args_is_help=True)


def _call(gateway: str | None, api_key: str | None, json_out: bool, number: str | None, method: str, path: str,
          **kwargs: Any) -> Any:
    """One gateway call (``?number=`` when ``number`` is given); on failure, report and exit with the error's code."""
    if number is not None:
        kwargs["params"] = {**(kwargs.get("params") or {}), "number": number}
    try:
        with GatewayClient(gateway, api_key) as gw:
            return gw.request(method, path, **kwargs)
    except CliError as exc:
        fail(exc, as_json=json_out)


def _table(rows: list[dict[str, Any]], columns: list[str], title: str) -> Table:
    table = Table(title=title, box=None, pad_edge=False)
    for col in columns:
        table.add_column(col, style="bold" if col == columns[0] else None)
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    return table


def _ok(json_out: bool, data: Any, message: str) -> None:
    if json_out:
        emit_json(data)
    else:
        console.print(message)


# --- templates ----------------------------------------------------------------------------------


def _load_body(file: Path, json_out: bool) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        fail(CliError(f"{file} is not JSON: {exc}", Exit.USAGE), as_json=json_out)


def _check_or_fail(body: Any, json_out: bool) -> None:
    try:
        check_definition(body)
    except TemplateDefinitionError as exc:
        data = {"field": exc.field, "code": exc.code, "subcode": exc.subcode}
        fail(CliError(str(exc), Exit.USAGE, data=data), as_json=json_out)


@templates_app.command("list")
def templates_list(
    name: Annotated[str | None, typer.Option("--name", help="Only this template name.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="APPROVED, PENDING, REJECTED…")] = None,
    category: Annotated[str | None, typer.Option("--category", help="MARKETING, UTILITY or AUTHENTICATION.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="Page size.")] = 100,
    number: NumberOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List the account's templates."""
    params = {
        k: v for k, v in {"name": name, "status": status, "category": category, "limit": limit}.items() if v is not None
    }
    page = _call(gateway, api_key, json_out, number, "GET", "/v1/templates", params=params)
    if json_out:
        emit_json(page)
        return
    console.print(_table(page["data"], ["name", "language", "status", "category", "id"], "templates"))


@templates_app.command("create")
def templates_create(
    file: Annotated[Path, typer.Argument(help="A JSON file with Meta's create body.", exists=True, dir_okay=False)],
    number: NumberOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a template from a JSON create body, checked against Meta's rules before it is sent."""
    body = _load_body(file, json_out)
    _check_or_fail(body, json_out)
    created = _call(gateway, api_key, json_out, number, "POST", "/v1/templates", json=body)
    if json_out:
        emit_json(created)
    else:
        console.print(kv_table(created, title=f"template {body['name']} created"))


@templates_app.command("check")
def templates_check(
    file: Annotated[Path, typer.Argument(help="A JSON file with Meta's create body.", exists=True, dir_okay=False)],
    json_out: JsonOpt = False,
) -> None:
    """Check a create body against Meta's template rules, offline (exit 2 when Meta would refuse it)."""
    body = _load_body(file, json_out)
    _check_or_fail(body, json_out)
    _ok(json_out, {"ok": True, "name": body.get("name")}, f"{file}: template {body.get('name')!r} looks valid")


@templates_app.command("delete")
def templates_delete(
    name: Annotated[str, typer.Argument(help="The template name (all its languages).")],
    template_id: Annotated[str | None, typer.Option("--id", help="Delete only this language's id.")] = None,
    number: NumberOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Delete a template."""
    params = {"template_id": template_id} if template_id else None
    out = _call(gateway, api_key, json_out, number, "DELETE", f"/v1/templates/{name}", params=params)
    _ok(json_out, out, f"deleted {name}")


# --- profile ------------------------------------------------------------------------------------


@profile_app.command("get")
def profile_get(
    number: NumberOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the business profile."""
    out = _call(gateway, api_key, json_out, number, "GET", "/v1/profile")
    if json_out:
        emit_json(out)
    else:
        console.print(kv_table({**out, "websites": ", ".join(out.get("websites") or [])}, title="business profile"))


@profile_app.command("set")
def profile_set(
    about: Annotated[str | None, typer.Option("--about", help="The About text (1–139 characters).")] = None,
    address: Annotated[str | None, typer.Option("--address")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    website: Annotated[list[str] | None, typer.Option("--website", help="Up to two; repeat the option.")] = None,
    vertical: Annotated[str | None, typer.Option("--vertical", help="RETAIL, RESTAURANT, OTHER…")] = None,
    number: NumberOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Change business profile fields."""
    body: dict[str, Any] = {
        k: v
        for k, v in {
            "about": about,
            "address": address,
            "description": description,
            "email": email,
            "vertical": vertical,
        }.items()
        if v is not None
    }
    if website:
        body["websites"] = list(website)
    if not body:
        fail(CliError("nothing to change: give --about, --email, --website…", Exit.USAGE), as_json=json_out)
    out = _call(gateway, api_key, json_out, number, "PATCH", "/v1/profile", json=body)
    _ok(json_out, out, "profile updated")


# --- QR codes -----------------------------------------------------------------------------------


@qr_app.command("list")
def qr_list(
    number: NumberOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List QR codes."""
    out = _call(gateway, api_key, json_out, number, "GET", "/v1/qr")
    if json_out:
        emit_json(out)
    else:
        console.print(_table(out["data"], ["code", "prefilled_message", "deep_link_url"], "QR codes"))


@qr_app.command("create")
def qr_create(
    message: Annotated[str, typer.Argument(help="The prefilled message (≤ 140 characters).")],
    image: Annotated[str | None, typer.Option("--image", help="Also make an image: SVG or PNG.")] = None,
    number: NumberOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a QR code / short link."""
    body: dict[str, Any] = {"prefilled_message": message}
    if image:
        body["generate_qr_image"] = image.upper()
    out = _call(gateway, api_key, json_out, number, "POST", "/v1/qr", json=body)
    if json_out:
        emit_json(out)
    else:
        console.print(kv_table(out, title="QR code created"))


@qr_app.command("delete")
def qr_delete(
    code: Annotated[str, typer.Argument(help="The QR code id.")],
    number: NumberOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Delete a QR code."""
    out = _call(gateway, api_key, json_out, number, "DELETE", f"/v1/qr/{code}")
    _ok(json_out, out, f"deleted {code}")


# --- block users --------------------------------------------------------------------------------

Users = Annotated[list[str], typer.Argument(help="Phone numbers or wa_ids (up to 1,000).")]


def _block_report(out: dict[str, Any], key: str, verb: str, json_out: bool) -> None:
    if json_out:
        emit_json(out)
    else:
        done = [u.get("wa_id") for u in out.get(key, [])]
        console.print(f"{verb}: {', '.join(map(str, done)) or 'nobody'}")
        for failed in out.get("failed_users", []):
            errs = failed.get("errors") or [{}]
            console.print(
                f"[red]failed[/red] {failed.get('input')}: "
                f"{errs[0].get('error_data', {}).get('details', errs[0].get('message', ''))}"
            )
    if out.get("failed_users"):
        raise typer.Exit(int(Exit.FAILED))


@block_app.command("list")
def block_list(
    number: NumberOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List blocked users."""
    out = _call(gateway, api_key, json_out, number, "GET", "/v1/blocked")
    if json_out:
        emit_json(out)
    else:
        console.print(_table(out["data"], ["wa_id"], "blocked users"))


@block_app.command("add")
def block_add(
    users: Users,
    number: NumberOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Block users (only those who messaged in the last 24 hours can be blocked)."""
    out = _call(gateway, api_key, json_out, number, "POST", "/v1/blocked", json={"users": users})
    _block_report(out, "added_users", "blocked", json_out)


@block_app.command("remove")
def block_remove(
    users: Users,
    number: NumberOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Unblock users."""
    out = _call(gateway, api_key, json_out, number, "POST", "/v1/blocked/remove", json={"users": users})
    _block_report(out, "removed_users", "unblocked", json_out)
