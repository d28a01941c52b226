"""``wacloud groups …``: the Groups API through the gateway's ``/v1/groups`` routes.

Create, list, show and delete groups, manage the invite link and join requests, remove participants and
send a text, media or template message to a group.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from wacloud.cli.api_call import gw_call, rows, show
from wacloud.cli.output import CliError, Exit, JsonOpt, fail
from wacloud.cli.remote import ApiKeyOpt, GatewayOpt

app = typer.Typer(name="groups", help="WhatsApp groups: create, invite, approve, remove, send, delete.",
                  no_args_is_help=True)

GroupId = Annotated[str, typer.Argument(help="The group id.")]


@app.command("create")
def create(
    subject: Annotated[str, typer.Argument(help="The group's subject (1-128 characters).")],
    description: Annotated[str | None, typer.Option("--description", help="The group's description.")] = None,
    approval: Annotated[bool, typer.Option("--approval", help="Joining needs the business's approval.")] = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Ask for a new group (its id arrives by webhook; ``wacloud groups list`` shows it)."""
    body: dict[str, Any] = {"subject": subject}
    if description is not None:
        body["description"] = description
    if approval:
        body["join_approval_mode"] = "approval_required"
    show(json_out, gw_call(gateway, api_key, json_out, "POST", "/v1/groups", json=body), "group requested")


@app.command("list")
def list_(gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """The number's active groups."""
    page = gw_call(gateway, api_key, json_out, "GET", "/v1/groups")
    rows(json_out, page, page["groups"], ["id", "subject", "created_at"], "groups")


@app.command("info")
def info(group_id: GroupId, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """A group's subject, description, participants and settings."""
    got = gw_call(gateway, api_key, json_out, "GET", f"/v1/groups/{group_id}")
    if json_out:
        show(True, got, "")
        return
    flat = {**got, "participants": ", ".join(str(p.get("wa_id")) for p in got.get("participants", []))}
    show(False, flat, f"group {group_id}")


@app.command("delete")
def delete(group_id: GroupId, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """Delete the group, removing every participant."""
    show(json_out, gw_call(gateway, api_key, json_out, "DELETE", f"/v1/groups/{group_id}"), f"group {group_id} deleted")


@app.command("link")
def link(
    group_id: GroupId,
    new: Annotated[bool, typer.Option("--new", help="Make a new link (the old one stops working).")] = False,
    revoke: Annotated[bool, typer.Option("--revoke", help="Revoke the link.")] = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the group's invite link; ``--new`` makes another, ``--revoke`` revokes it."""
    if new and revoke:
        fail(CliError("give --new or --revoke, not both", Exit.USAGE), as_json=json_out)
    method = "POST" if new else "DELETE" if revoke else "GET"
    got = gw_call(gateway, api_key, json_out, method, f"/v1/groups/{group_id}/invite_link")
    if json_out:
        show(True, got, "")
    else:
        show(False, got.get("invite_link", "revoked" if got.get("success") else got), "invite link")


@app.command("requests")
def requests(group_id: GroupId, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None,
             json_out: JsonOpt = False) -> None:
    """The group's open join requests."""
    got = gw_call(gateway, api_key, json_out, "GET", f"/v1/groups/{group_id}/join_requests")
    rows(json_out, got, got["data"], ["join_request_id", "wa_id", "creation_timestamp"], "join requests")


def _decide(group_id: str, ids: list[str], verb: str, gateway: str | None, api_key: str | None,
            json_out: bool) -> None:
    got = gw_call(gateway, api_key, json_out, "POST", f"/v1/groups/{group_id}/join_requests/{verb}",
               json={"join_requests": ids})
    label = "approved" if verb == "approve" else "rejected"
    if json_out:
        show(True, got, "")
        return
    done = got.get(f"{label}_join_requests", [])
    show(False, {label: len(done), "failed": len(got.get("failed_join_requests", []))}, "join requests")


@app.command("approve")
def approve(group_id: GroupId, ids: Annotated[list[str], typer.Argument(help="Join request ids.")],
            gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """Let these users into the group."""
    _decide(group_id, ids, "approve", gateway, api_key, json_out)


@app.command("reject")
def reject(group_id: GroupId, ids: Annotated[list[str], typer.Argument(help="Join request ids.")],
           gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """Turn these join requests down."""
    _decide(group_id, ids, "reject", gateway, api_key, json_out)


@app.command("remove")
def remove(group_id: GroupId, users: Annotated[list[str], typer.Argument(help="Phone numbers or WhatsApp ids.")],
           gateway: GatewayOpt = None, api_key: ApiKeyOpt = None, json_out: JsonOpt = False) -> None:
    """Remove 1-8 participants."""
    got = gw_call(gateway, api_key, json_out, "POST", f"/v1/groups/{group_id}/participants/remove",
               json={"participants": users})
    show(json_out, got, "participants removed")


@app.command("send")
def send(
    group_id: GroupId,
    text: Annotated[str | None, typer.Option("--text", help="A text message.")] = None,
    image: Annotated[str | None, typer.Option("--image", help="An image URL (or a media id).")] = None,
    caption: Annotated[str | None, typer.Option("--caption", help="The image's caption.")] = None,
    template: Annotated[str | None, typer.Option("--template", help="A template name (no parameters).")] = None,
    language: Annotated[str, typer.Option("--language", help="The template's language.")] = "en_US",
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send one text, image or template message to the group (exactly one of --text, --image, --template)."""
    given = [x for x in (text, image, template) if x is not None]
    if len(given) != 1:
        fail(CliError("give exactly one of --text, --image, --template", Exit.USAGE), as_json=json_out)
    body: dict[str, Any]
    if text is not None:
        body = {"type": "text", "text": {"body": text}}
    elif image is not None:
        media: dict[str, Any] = {"link": image} if "://" in image else {"id": image}
        if caption is not None:
            media["caption"] = caption
        body = {"type": "image", "image": media}
    else:
        body = {"type": "template", "template": {"name": template, "language": {"code": language}}}
    show(json_out, gw_call(gateway, api_key, json_out, "POST", f"/v1/groups/{group_id}/messages", json=body), "sent")
