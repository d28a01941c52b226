"""``wacloud business …``: the number's business identity through the gateway: username, display name,
conversational components (ice breakers, commands, welcome message), commerce settings, and, for a number
shared with the WhatsApp Business app, its pacing and the app's contacts."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from wacloud.cli.api_call import gw_call, rows, show
from wacloud.cli.output import CliError, Exit, JsonOpt, fail
from wacloud.cli.remote import ApiKeyOpt, GatewayOpt

app = typer.Typer(name="business", help="Username, display name, ice breakers and commands, commerce settings.",
                  no_args_is_help=True)


@app.command("username")
def username(
    name: Annotated[str | None, typer.Argument(help="Reserve this username (omit to show the current one).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Move it from another number of the portfolio.")] = False,
    release: Annotated[bool, typer.Option("--release", help="Release the number's username.")] = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show, reserve or release the business username."""
    if release and name is not None:
        fail(CliError("give a username or --release, not both", Exit.USAGE), as_json=json_out)
    if release:
        show(json_out, gw_call(gateway, api_key, json_out, "DELETE", "/v1/username"), "username released")
    elif name is None:
        show(json_out, gw_call(gateway, api_key, json_out, "GET", "/v1/username"), "business username")
    else:
        body: dict[str, Any] = {"username": name}
        if force:
            body["transfer_action"] = "force_transfer"
        show(json_out, gw_call(gateway, api_key, json_out, "POST", "/v1/username", json=body), "business username")


@app.command("display-name")
def display_name(
    new: Annotated[str | None, typer.Argument(help="Request this display name (omit to show the status).")] = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the display name and a pending change, or request a new name (Meta reviews it)."""
    if new is None:
        show(json_out, gw_call(gateway, api_key, json_out, "GET", "/v1/display_name"), "display name")
    else:
        got = gw_call(gateway, api_key, json_out, "POST", "/v1/display_name", json={"new_display_name": new})
        show(json_out, got, "display name change requested")


def _command(spec: str, json_out: bool) -> dict[str, str]:
    name, sep, desc = spec.partition("=")
    if not sep:
        fail(CliError(f"--command {spec!r}: write name=description", Exit.USAGE), as_json=json_out)
    return {"command_name": name.strip(), "command_description": desc.strip()}


@app.command("automation")
def automation(
    prompt: Annotated[list[str] | None, typer.Option("--prompt", help="An ice breaker (repeat, at most 4).")] = None,
    command: Annotated[list[str] | None, typer.Option("--command", help="name=description (repeat).")] = None,
    welcome: Annotated[bool | None, typer.Option("--welcome/--no-welcome", help="The welcome message.")] = None,
    clear_prompts: Annotated[bool, typer.Option("--clear-prompts", help="Remove every ice breaker.")] = False,
    clear_commands: Annotated[bool, typer.Option("--clear-commands", help="Remove every command.")] = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the ice breakers, commands and welcome message, or set the parts given."""
    body: dict[str, Any] = {}
    if prompt or clear_prompts:
        body["prompts"] = list(prompt or [])
    if command or clear_commands:
        body["commands"] = [_command(c, json_out) for c in command or []]
    if welcome is not None:
        body["enable_welcome_message"] = welcome
    if not body:
        got = gw_call(gateway, api_key, json_out, "GET", "/v1/conversational_automation")
        if json_out:
            show(True, got, "")
            return
        flat = {"welcome message": got.get("enable_welcome_message"), "ice breakers": " | ".join(got["prompts"]),
                "commands": ", ".join(f"/{c['command_name']}" for c in got["commands"])}
        show(False, flat, "conversational components")
        return
    show(json_out, gw_call(gateway, api_key, json_out, "PUT", "/v1/conversational_automation", json=body),
         "conversational components set")


@app.command("commerce")
def commerce(
    cart: Annotated[bool | None, typer.Option("--cart/--no-cart", help="The cart on or off.")] = None,
    catalog: Annotated[bool | None, typer.Option("--catalog/--no-catalog", help="Show the catalog.")] = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the commerce settings, or change the ones given."""
    body = {k: v for k, v in (("is_cart_enabled", cart), ("is_catalog_visible", catalog)) if v is not None}
    if not body:
        show(json_out, gw_call(gateway, api_key, json_out, "GET", "/v1/commerce_settings"), "commerce settings")
    else:
        got = gw_call(gateway, api_key, json_out, "PATCH", "/v1/commerce_settings", json=body)
        show(json_out, got, "commerce settings changed")


@app.command("coexistence")
def coexistence(
    contacts: Annotated[bool, typer.Option("--contacts", help="List the Business app's contacts.")] = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Whether the number is shared with the Business app (and paced at 20 msg/s); ``--contacts`` lists the
    app's contacts."""
    if contacts:
        got = gw_call(gateway, api_key, json_out, "GET", "/v1/coexistence/contacts")
        rows(json_out, got, got["contacts"], ["phone_number", "full_name", "first_name", "removed"], "app contacts")
    else:
        show(json_out, gw_call(gateway, api_key, json_out, "GET", "/v1/coexistence"), "coexistence")
