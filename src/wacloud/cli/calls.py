"""``wacloud calls …``: the Calling API through the gateway's ``/v1/calls`` routes.

Place a call (``connect``), answer one (``pre-accept``, ``accept``), ``reject`` or ``terminate`` it, read
or ask for a user's call ``permission``, and show or change the number's calling ``settings``. SDP
offers and answers are read from files and passed through untouched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from wacloud.cli.api_call import gw_call, read_text, show
from wacloud.cli.output import CliError, Exit, JsonOpt, fail
from wacloud.cli.remote import ApiKeyOpt, GatewayOpt

app = typer.Typer(name="calls", help="Place, answer and end WhatsApp calls; call permissions and settings.",
                  no_args_is_help=True)

SdpOpt = Annotated[Path, typer.Option("--sdp", help="A file holding the SDP.", exists=True, dir_okay=False)]
CallId = Annotated[str, typer.Argument(help="The call id (wacid.…).")]


@app.command("connect")
def connect(
    to: Annotated[str, typer.Argument(help="The user's phone number.")],
    sdp: SdpOpt,
    check_permission: Annotated[bool, typer.Option("--check-permission", help="Check the permission first.")] = False,
    opaque: Annotated[str | None, typer.Option("--opaque", help="biz_opaque_callback_data for the webhooks.")] = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Call a user who granted call permission (exit 2 naming ``to`` when they have not)."""
    body: dict[str, Any] = {"to": to, "sdp": read_text(sdp, json_out, "SDP"), "check_permission": check_permission}
    if opaque is not None:
        body["biz_opaque_callback_data"] = opaque
    show(json_out, gw_call(gateway, api_key, json_out, "POST", "/v1/calls", json=body), "call placed")


def _action(call_id: str, action: str, body: dict[str, Any] | None, gateway: str | None, api_key: str | None,
            json_out: bool) -> None:
    done = gw_call(gateway, api_key, json_out, "POST", f"/v1/calls/{call_id}/{action}", json=body or {})
    show(json_out, done, f"{action}: {call_id}")


@app.command("pre-accept")
def pre_accept(call_id: CallId, sdp: SdpOpt, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None,
               json_out: JsonOpt = False) -> None:
    """Send the SDP answer early, so media can connect before ``accept``."""
    _action(call_id, "pre_accept", {"sdp": read_text(sdp, json_out, "SDP")}, gateway, api_key, json_out)


@app.command("accept")
def accept(call_id: CallId, sdp: SdpOpt, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None,
           json_out: JsonOpt = False) -> None:
    """Answer a user-initiated call with the SDP answer."""
    _action(call_id, "accept", {"sdp": read_text(sdp, json_out, "SDP")}, gateway, api_key, json_out)


@app.command("reject")
def reject(call_id: CallId, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """Decline a user-initiated call."""
    _action(call_id, "reject", None, gateway, api_key, json_out)


@app.command("terminate")
def terminate(call_id: CallId, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None,
              json_out: JsonOpt = False) -> None:
    """Hang up a call in progress."""
    _action(call_id, "terminate", None, gateway, api_key, json_out)


@app.command("permission")
def permission(
    wa_id: Annotated[str, typer.Argument(help="The user's WhatsApp id or phone number.")],
    ask: Annotated[str | None, typer.Option("--ask", help="Send a permission request with this text.")] = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show whether the business may call ``wa_id`` now; ``--ask`` sends the user a permission request."""
    if ask is not None:
        sent = gw_call(gateway, api_key, json_out, "POST", "/v1/calls/permissions", json={"to": wa_id, "body": ask})
        show(json_out, sent, "permission request sent")
        return
    state = gw_call(gateway, api_key, json_out, "GET", f"/v1/calls/permissions/{wa_id.lstrip('+')}")
    if json_out:
        show(json_out, state, "")
        return
    flat = {"status": state["permission"].get("status"), "can_call": state["can_call"],
            "expires": state["permission"].get("expiration_time")}
    show(False, flat, f"call permission of {wa_id}")


@app.command("settings")
def settings(
    status: Annotated[str | None, typer.Option("--status", help="ENABLED or DISABLED.")] = None,
    icon: Annotated[str | None, typer.Option("--icon", help="DEFAULT or DISABLE_ALL.")] = None,
    callback: Annotated[str | None, typer.Option("--callback", help="Callback permission: ENABLED/DISABLED.")] = None,
    hours: Annotated[Path | None, typer.Option("--hours", help="A JSON file with call_hours.", exists=True,
                                               dir_okay=False)] = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the number's calling settings, or change the ones given."""
    body: dict[str, Any] = {k: v.upper() for k, v in (("status", status), ("call_icon_visibility", icon),
                                                      ("callback_permission_status", callback)) if v is not None}
    if hours is not None:
        try:
            body["call_hours"] = json.loads(read_text(hours, json_out, "call hours"))
        except ValueError as exc:
            fail(CliError(f"{hours} is not JSON: {exc}", Exit.USAGE), as_json=json_out)
    if not body:
        show(json_out, gw_call(gateway, api_key, json_out, "GET", "/v1/calls/settings"), "calling settings")
        return
    show(json_out, gw_call(gateway, api_key, json_out, "PATCH", "/v1/calls/settings", json=body), "calling settings")
