"""``wacloud numbers …``: the business numbers a running gateway serves, through ``/v1/numbers``.

``list`` shows them (any key); ``add``, ``set`` and ``remove`` change them (an admin key for every number).
A token is read from an environment variable or asked for, never taken on the command line (it would
stay in the shell's history), and the gateway never shows it back.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from wacloud.cli.api_call import gw_call, rows, show
from wacloud.cli.output import CliError, Exit, JsonOpt, fail
from wacloud.cli.remote import ApiKeyOpt, GatewayOpt

app = typer.Typer(name="numbers", help="Business numbers of the gateway: list, add, change, remove.",
                  no_args_is_help=True)

#: Where ``add``/``set`` read a number's token and app secret from (never from the command line).
TOKEN_ENV = "WACLOUD_NUMBER_ACCESS_TOKEN"
SECRET_ENV = "WACLOUD_NUMBER_APP_SECRET"

Number = Annotated[str, typer.Argument(help="The phone number id (or display number).")]
Name = Annotated[str | None, typer.Option("--name", help="A name for people (brand, country…).")]
Mps = Annotated[int | None, typer.Option("--mps", min=1, max=1000, help="Messages per second at the standard level.")]
MaxMps = Annotated[int | None, typer.Option("--max-mps", min=1, max=1000, help="Never pace above this.")]
AskToken = Annotated[bool, typer.Option(
    "--token", help=f"Give the number its own access token: from ${TOKEN_ENV}, else asked for (hidden).")]
AskSecret = Annotated[bool, typer.Option(
    "--app-secret", help=f"Give the number its own app secret: from ${SECRET_ENV}, else asked for (hidden).")]


def _secret(env: str, prompt: str) -> str:
    value = os.environ.get(env) or typer.prompt(prompt, hide_input=True)
    return str(value).strip()


def _secrets(body: dict[str, Any], token: bool, app_secret: bool) -> None:
    if token:
        body["access_token"] = _secret(TOKEN_ENV, "Access token of the number")
    if app_secret:
        body["app_secret"] = _secret(SECRET_ENV, "App secret of the number's Meta app")


@app.command("list")
def list_(gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """The numbers served: id, name, display number, WABA, rate, where it comes from, pause and backlog."""
    got = gw_call(gateway, api_key, json_out, "GET", "/v1/numbers")
    rows(json_out, got, got["numbers"], ["phone_number_id", "name", "display_phone_number", "waba_id", "rate",
                                         "source", "paused", "backlog", "access_token_set"], "numbers")


@app.command("add")
def add(
    phone_number_id: Annotated[str, typer.Argument(help="The phone number id (digits, from Meta's App Dashboard).")],
    waba_id: Annotated[str | None, typer.Option("--waba-id", help="Its WhatsApp Business Account.")] = None,
    display: Annotated[str | None, typer.Option("--display", help="The number as people dial it.")] = None,
    name: Name = None,
    mps: Mps = None,
    max_mps: MaxMps = None,
    token: AskToken = False,
    app_secret: AskSecret = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Serve one more number (checked against the Graph API with its token first; kept across restarts)."""
    body: dict[str, Any] = {"phone_number_id": phone_number_id}
    for key, value in (("waba_id", waba_id), ("display_phone_number", display), ("name", name), ("mps", mps),
                       ("max_mps", max_mps)):
        if value is not None:
            body[key] = value
    _secrets(body, token, app_secret)
    show(json_out, gw_call(gateway, api_key, json_out, "POST", "/v1/numbers", json=body), f"number {phone_number_id}")


@app.command("set")
def set_(
    number: Number,
    name: Name = None,
    mps: Mps = None,
    max_mps: MaxMps = None,
    token: AskToken = False,
    app_secret: AskSecret = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a number added through the API: name, rate, ceiling, token or app secret."""
    body: dict[str, Any] = {k: v for k, v in (("name", name), ("mps", mps), ("max_mps", max_mps)) if v is not None}
    _secrets(body, token, app_secret)
    if not body:
        fail(CliError("nothing to change: give --name, --mps, --max-mps, --token or --app-secret", Exit.USAGE),
             as_json=json_out)
    show(json_out, gw_call(gateway, api_key, json_out, "PATCH", f"/v1/numbers/{number}", json=body), f"number {number}")


@app.command("remove")
def remove(number: Number, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """Stop serving a number added through the API (its jobs stay in the store)."""
    show(json_out, gw_call(gateway, api_key, json_out, "DELETE", f"/v1/numbers/{number}"), f"number {number}")


__all__ = ["app"]
