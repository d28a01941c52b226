"""``wacloud media upload|info|download|delete``, through the gateway."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Annotated

import typer

from wacloud.cli.output import CliError, Exit, JsonOpt, console, emit_json, fail, kv_table
from wacloud.cli.remote import ApiKeyOpt, GatewayClient, GatewayOpt, NumberOpt

app = typer.Typer(help="Upload, inspect, download and delete media.", no_args_is_help=True)
MediaId = Annotated[str, typer.Argument(help="A media id.")]


def _number(number: str | None) -> dict[str, str]:
    """``?number=`` when the command names the business number."""
    return {"number": number} if number is not None else {}


@app.command("upload")
def upload(
    file: Annotated[Path, typer.Argument(help="The file to upload.", exists=True, dir_okay=False)],
    mime_type: Annotated[str | None, typer.Option("--type", help="MIME type (guessed from the name).")] = None,
    number: NumberOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Upload a file; prints its media id (use it with `send image --id`)."""
    mime = mime_type or mimetypes.guess_type(file.name)[0]
    if not mime:
        fail(CliError(f"cannot guess the MIME type of {file.name}; pass --type", Exit.USAGE), as_json=json_out)
    try:
        with GatewayClient(gateway, api_key, timeout=120) as gw:
            out = gw.request(
                "POST", "/v1/media", files={"file": (file.name, file.read_bytes(), mime)}, data={"type": mime},
                params=_number(number),
            )
    except CliError as exc:
        fail(exc, as_json=json_out)
    if json_out:
        emit_json(out)
    else:
        console.print(kv_table(out))


@app.command("info")
def info(media_id: MediaId, number: NumberOpt = None, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None,
         json_out: JsonOpt = False) -> None:
    """Show a media object's MIME type, size and sha256."""
    try:
        with GatewayClient(gateway, api_key) as gw:
            out = gw.request("GET", f"/v1/media/{media_id}", params=_number(number))
    except CliError as exc:
        fail(exc, as_json=json_out)
    if json_out:
        emit_json(out)
    else:
        console.print(kv_table(out))


@app.command("download")
def download(
    media_id: MediaId,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")] = None,
    number: NumberOpt = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Download media to a file (default: the media id as the name)."""
    target = output or Path(media_id)
    try:
        with GatewayClient(gateway, api_key, timeout=120) as gw:
            data = gw.request("GET", f"/v1/media/{media_id}/content", params=_number(number))
    except CliError as exc:
        fail(exc, as_json=json_out)
    if not isinstance(data, bytes):
        data = str(data).encode()
    target.write_bytes(data)
    if json_out:
        emit_json({"ok": True, "path": str(target), "bytes": len(data)})
    else:
        console.print(f"wrote {len(data)} bytes to {target}")


@app.command("delete")
def delete(media_id: MediaId, number: NumberOpt = None, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None,
           json_out: JsonOpt = False) -> None:
    """Delete uploaded media."""
    try:
        with GatewayClient(gateway, api_key) as gw:
            out = gw.request("DELETE", f"/v1/media/{media_id}", params=_number(number))
    except CliError as exc:
        fail(exc, as_json=json_out)
    if json_out:
        emit_json(out)
    else:
        console.print("deleted" if out.get("deleted") else "not deleted")
    if not out.get("deleted"):
        raise typer.Exit(int(Exit.FAILED))
