"""``wacloud send text|image|video|audio|document|sticker|template|location|reaction|buttons|raw TO …``.

By default the message goes through the gateway's outbox (paced, retried, idempotent with ``--key``)
and the command prints the job; ``--wait`` follows it to delivered/read/failed. ``--direct`` calls the
Cloud API at once with the configured credentials instead (``WACLOUD_ACCESS_TOKEN`` …).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from wacloud.cli.output import (
    CliError,
    Exit,
    JsonOpt,
    console,
    emit_json,
    err_console,
    fail,
    kv_table,
    styled_state,
)
from wacloud.cli.remote import ApiKeyOpt, GatewayClient, GatewayOpt
from wacloud.identity import is_bsuid

app = typer.Typer(help="Send a message (through the gateway's outbox, or --direct).", no_args_is_help=True)

To = Annotated[str, typer.Argument(help="Recipient phone number, e.g. +15551234567.")]
KeyOpt = Annotated[str | None, typer.Option("--key", help="Idempotency key: the same key never sends twice.")]
WaitOpt = Annotated[bool, typer.Option("--wait", help="Wait until the message is delivered, read or failed.")]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=0, help="Seconds --wait waits at most (then exit 6, saying so).")
]
DirectOpt = Annotated[bool, typer.Option("--direct", help="Call the Cloud API now instead of the gateway.")]
ReplyOpt = Annotated[str | None, typer.Option("--reply-to", help="wamid of the message this replies to.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", envvar="WACLOUD_CONFIG", help="TOML config file.")]

#: States after which --wait stops.
_DONE = {"delivered", "read", "failed", "dead", "uncertain"}


def deliver(
    body: dict[str, Any],
    *,
    gateway: str | None,
    api_key: str | None,
    key: str | None,
    wait: bool,
    direct: bool,
    as_json: bool,
    config: Path | None = None,
    timeout: float = 60.0,
    params: dict[str, str] | None = None,
) -> None:
    """Send ``body`` (a Graph send body) and print the job or the wamid; exit non-zero on failure."""
    if is_bsuid(str(body.get("to", "")).strip()) and body.get("recipient") is None:
        # A customer known by BSUID only (a username): Meta takes the id in "recipient".
        body = {**{k: v for k, v in body.items() if k != "to"}, "recipient": str(body["to"]).strip()}
    body = {"messaging_product": "whatsapp", **body}
    try:
        if direct:
            _direct(body, as_json=as_json, config=config)
            return
        with GatewayClient(gateway, api_key) as gw:
            headers = {"Idempotency-Key": key} if key else {}
            job = gw.request("POST", "/v1/messages", json=body, headers=headers, params=params or {})
            if wait:
                job = _wait(gw, job, timeout, as_json=as_json)
        timed_out = wait and job["state"] not in _DONE
        if not (timed_out and as_json):  # with --json the error document below carries the job
            show_job(job, as_json=as_json)
        if job["state"] in ("failed", "dead"):
            raise typer.Exit(int(Exit.FAILED))
        if timed_out:
            raise CliError(
                f"waited {timeout:g} s and the message is still {job['state']!r}: no delivery status came "
                "(statuses arrive by webhook: is the gateway's /webhook reachable from Meta?); "
                f"`wacloud status {job['id']}` shows it later",
                Exit.TIMEOUT,
                data={"job": job},
            )
    except CliError as exc:
        fail(exc, as_json=as_json)


def _wait(gw: GatewayClient, job: dict[str, Any], timeout: float, *, as_json: bool) -> dict[str, Any]:
    """Poll the job until it is delivered, read or failed, or ``timeout`` seconds passed; the last job."""
    if job["state"] in _DONE:
        return job
    deadline = time.monotonic() + timeout
    status = err_console.status(f"waiting up to {timeout:g} s for a delivery status…")
    with contextlib.nullcontext() if as_json else status:
        while job["state"] not in _DONE and time.monotonic() < deadline:
            time.sleep(0.2)
            job = gw.request("GET", f"/v1/jobs/{job['id']}")
    return job


def show_job(job: dict[str, Any], *, as_json: bool) -> None:
    """Print a job (JSON, or a short table with its history)."""
    if as_json:
        emit_json(job)
        return
    rows: dict[str, Any] = {
        "job": job["id"],
        "to": job.get("to"),
        "state": styled_state(job["state"]),
        "wamid": job.get("wamid"),
    }
    if job.get("fallback_template"):
        rows["sent as"] = f"fallback template {job['fallback_template']} (the 24-hour window was closed)"
    err = job.get("error")
    if err:
        rows["error"] = f"{err.get('code')}: {err.get('reason')}"
    console.print(kv_table({k: v for k, v in rows.items() if v is not None}))
    for ev in job.get("history") or []:
        at = time.strftime("%H:%M:%S", time.localtime(ev["at"])) if ev.get("at") else "--:--:--"
        line = f"  {at}  {styled_state(ev['state'])}" + (f"  code {ev['code']}" if ev.get("code") else "")
        console.print(line + (f"  {ev['detail']}" if ev.get("detail") else ""), soft_wrap=True)


def _direct(body: dict[str, Any], *, as_json: bool, config: Path | None) -> None:
    from wacloud import errors
    from wacloud.cli.settings import direct_client

    with direct_client(config) as client:
        try:
            sent = client.send_body(body)
        except errors.ValidationError as exc:
            raise CliError(str(exc), Exit.USAGE) from None
        except errors.AuthError as exc:
            raise CliError(str(exc), Exit.AUTH) from None
        except errors.TransportError as exc:
            raise CliError(str(exc), Exit.UNREACHABLE) from None
        except errors.WhatsAppError as exc:
            raise CliError(str(exc), Exit.FAILED, data={"code": exc.code}) from None
    data = {
        "wamid": sent.wamid,
        "wa_id": sent.wa_id,
        "input": sent.input,
        "message_status": sent.message_status,
    }
    if as_json:
        emit_json({"ok": True, **data})
    else:
        console.print(kv_table({k: v for k, v in data.items() if v is not None}))


def _media(
    kind: str, media_id: str | None, link: str | None, caption: str | None, filename: str | None = None
) -> dict[str, Any]:
    if bool(media_id) == bool(link):
        raise typer.BadParameter("give exactly one of --id or --link")
    obj: dict[str, Any] = {"id": media_id} if media_id else {"link": link}
    if caption is not None:
        obj["caption"] = caption
    if filename is not None:
        obj["filename"] = filename
    return {"type": kind, kind: obj}


def _with_reply(body: dict[str, Any], to: str, reply_to: str | None) -> dict[str, Any]:
    body = {"to": to, **body}
    if reply_to:
        body["context"] = {"message_id": reply_to}
    return body


@app.command("text")
def text(
    to: To,
    body: Annotated[str, typer.Argument(help="The text (up to 4096 characters).")],
    preview_url: Annotated[bool, typer.Option("--preview-url", help="Show a link preview.")] = False,
    fallback_template: Annotated[
        str | None,
        typer.Option("--fallback-template", help="Template to send instead if the 24-hour window is closed."),
    ] = None,
    reply_to: ReplyOpt = None,
    key: KeyOpt = None,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 60.0,
    direct: DirectOpt = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send a text message."""
    text_obj: dict[str, Any] = {"body": body}
    if preview_url:
        text_obj["preview_url"] = True
    deliver(
        _with_reply({"type": "text", "text": text_obj}, to, reply_to),
        gateway=gateway,
        api_key=api_key,
        key=key,
        wait=wait,
        timeout=timeout,
        direct=direct,
        as_json=json_out,
        config=config,
        params={"fallback_template": fallback_template} if fallback_template else None,
    )


def _media_command(kind: str, with_caption: bool = True, with_filename: bool = False) -> None:
    def command(
        to: To,
        media_id: Annotated[str | None, typer.Option("--id", help="A media id from `media upload`.")] = None,
        link: Annotated[str | None, typer.Option("--link", help="A public https URL of the file.")] = None,
        caption: Annotated[str | None, typer.Option("--caption", help="Caption (image, video, document).")] = None,
        filename: Annotated[str | None, typer.Option("--filename", help="File name shown (document).")] = None,
        reply_to: ReplyOpt = None,
        key: KeyOpt = None,
        wait: WaitOpt = False,
        timeout: TimeoutOpt = 60.0,
        direct: DirectOpt = False,
        gateway: GatewayOpt = None,
        api_key: ApiKeyOpt = None,
        config: ConfigOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        if caption is not None and not with_caption:
            raise typer.BadParameter(f"{kind} messages have no caption")
        if filename is not None and not with_filename:
            raise typer.BadParameter("--filename is for documents")
        body = _media(kind, media_id, link, caption, filename)
        deliver(
            _with_reply(body, to, reply_to),
            gateway=gateway,
            api_key=api_key,
            key=key,
            wait=wait,
            timeout=timeout,
            direct=direct,
            as_json=json_out,
            config=config,
        )

    command.__doc__ = f"Send {'an' if kind[0] in 'aeiou' else 'a'} {kind} message (by media id or link)."
    app.command(kind)(command)


_media_command("image")
_media_command("video")
_media_command("audio", with_caption=False)
_media_command("document", with_filename=True)
_media_command("sticker", with_caption=False)


@app.command("template")
def template(
    to: To,
    name: Annotated[str, typer.Argument(help="Template name.")],
    language: Annotated[str, typer.Option("--language", "-l", help="Language code.")] = "en_US",
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Body parameter {{n}}, in order; NAME=VALUE for named ones."),
    ] = None,
    key: KeyOpt = None,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 60.0,
    direct: DirectOpt = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send an approved template, with body parameters."""
    tpl: dict[str, Any] = {"name": name, "language": {"code": language}}
    params = []
    for p in param or []:
        pname, eq, value = p.partition("=")
        if eq and pname.isidentifier():
            params.append({"type": "text", "parameter_name": pname, "text": value})
        else:
            params.append({"type": "text", "text": p})
    if params:
        tpl["components"] = [{"type": "body", "parameters": params}]
    deliver(
        {"to": to, "type": "template", "template": tpl},
        gateway=gateway,
        api_key=api_key,
        key=key,
        wait=wait,
        timeout=timeout,
        direct=direct,
        as_json=json_out,
        config=config,
    )


@app.command("location")
def location(
    to: To,
    latitude: Annotated[float, typer.Argument(help="Latitude (put -- before negative numbers).")],
    longitude: Annotated[float, typer.Argument(help="Longitude.")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    address: Annotated[str | None, typer.Option("--address")] = None,
    reply_to: ReplyOpt = None,
    key: KeyOpt = None,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 60.0,
    direct: DirectOpt = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send a location pin (negative coordinates: `wacloud send location TO -- -12.04 -77.03`)."""
    loc: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if name:
        loc["name"] = name
    if address:
        loc["address"] = address
    deliver(
        _with_reply({"type": "location", "location": loc}, to, reply_to),
        gateway=gateway,
        api_key=api_key,
        key=key,
        wait=wait,
        timeout=timeout,
        direct=direct,
        as_json=json_out,
        config=config,
    )


@app.command("reaction")
def reaction(
    to: To,
    message_id: Annotated[str, typer.Argument(help="wamid of the message to react to.")],
    emoji: Annotated[str, typer.Argument(help='The emoji; "" removes the reaction.')],
    key: KeyOpt = None,
    direct: DirectOpt = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """React to a message (an empty emoji removes the reaction)."""
    deliver(
        {"to": to, "type": "reaction", "reaction": {"message_id": message_id, "emoji": emoji}},
        gateway=gateway,
        api_key=api_key,
        key=key,
        wait=False,
        direct=direct,
        as_json=json_out,
        config=config,
    )


@app.command("buttons")
def buttons(
    to: To,
    body: Annotated[str, typer.Argument(help="The message text.")],
    button: Annotated[list[str], typer.Option("--button", "-b", help="ID:TITLE, 1 to 3 times.")],
    header: Annotated[str | None, typer.Option("--header")] = None,
    footer: Annotated[str | None, typer.Option("--footer")] = None,
    reply_to: ReplyOpt = None,
    key: KeyOpt = None,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 60.0,
    direct: DirectOpt = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send up to three reply buttons."""
    items = []
    for b in button:
        bid, sep, title = b.partition(":")
        if not sep:
            raise typer.BadParameter(f"--button {b!r}: use ID:TITLE")
        items.append({"type": "reply", "reply": {"id": bid, "title": title}})
    inter: dict[str, Any] = {"type": "button", "body": {"text": body}, "action": {"buttons": items}}
    if header:
        inter["header"] = {"type": "text", "text": header}
    if footer:
        inter["footer"] = {"text": footer}
    deliver(
        _with_reply({"type": "interactive", "interactive": inter}, to, reply_to),
        gateway=gateway,
        api_key=api_key,
        key=key,
        wait=wait,
        timeout=timeout,
        direct=direct,
        as_json=json_out,
        config=config,
    )


@app.command("raw")
def raw(
    source: Annotated[str, typer.Argument(help="A JSON file with a Graph send body, or - for stdin.")],
    to: Annotated[str | None, typer.Option("--to", help="Override the body's recipient.")] = None,
    key: KeyOpt = None,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 60.0,
    direct: DirectOpt = False,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send any message type from its raw Graph API JSON body (interactive lists, flows, contacts…)."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        body = json.loads(text)
    except (OSError, ValueError) as exc:
        fail(CliError(f"cannot read a JSON body from {source}: {exc}", Exit.USAGE), as_json=json_out)
    if not isinstance(body, dict):
        fail(CliError("the body must be a JSON object", Exit.USAGE), as_json=json_out)
    if to:
        body["to"] = to
    deliver(
        body,
        gateway=gateway,
        api_key=api_key,
        key=key,
        wait=wait,
        timeout=timeout,
        direct=direct,
        as_json=json_out,
        config=config,
    )
