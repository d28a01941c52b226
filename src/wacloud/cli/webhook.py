"""``wacloud webhook verify-url URL`` (Meta's handshake) and ``wacloud webhook replay FILE``."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from wacloud.cli.output import CliError, Exit, JsonOpt, console, emit_json, fail
from wacloud.cli.remote import GatewayOpt, base_url
from wacloud.cli.settings import settings

app = typer.Typer(help="Check and exercise a webhook endpoint.", no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", envvar="WACLOUD_CONFIG", help="TOML config file.")]


def verify_url(url: str, verify_token: str, *, timeout: float = 10.0) -> tuple[bool, str]:
    """Do Meta's GET handshake against ``url``: (passed, explanation)."""
    challenge = secrets.token_hex(8)
    params = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
    try:
        resp = httpx.get(url, params=params, timeout=timeout)
    except httpx.TransportError as exc:
        return False, f"cannot reach {url}: {type(exc).__name__}"
    if resp.status_code != 200:
        return False, f"{url} answered {resp.status_code} (a wrong verify token gives 403)"
    if resp.text.strip() != challenge:
        return False, f"{url} answered 200 but did not echo hub.challenge"
    return True, f"{url} echoed the challenge: Meta will accept it"


@app.command("verify-url")
def verify_url_cmd(
    url: Annotated[str, typer.Argument(help="The webhook URL, e.g. https://host/webhook.")],
    verify_token: Annotated[
        str | None, typer.Option("--verify-token", help="Defaults to WACLOUD_VERIFY_TOKEN.")
    ] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check that URL answers Meta's verification handshake (GET hub.challenge). Exit 1 if not."""
    token = verify_token
    if token is None:
        try:
            s = settings(config)
        except CliError as exc:
            fail(exc, as_json=json_out)
        token = s.verify_token.get_secret_value() if s.verify_token else None
    if not token:
        fail(
            CliError("no verify token: pass --verify-token or set WACLOUD_VERIFY_TOKEN", Exit.USAGE),
            as_json=json_out,
        )
    ok, why = verify_url(url, token)
    if json_out:
        emit_json({"ok": ok, "detail": why})
    else:
        console.print(("[green]ok[/green] " if ok else "[red]failed[/red] ") + why)
    if not ok:
        raise typer.Exit(int(Exit.FAILED))


def _payloads(path: Path) -> list[bytes]:
    """One body per file, or per line of a .jsonl file (each kept byte-exact)."""
    raw = path.read_bytes()
    if path.suffix == ".jsonl":
        return [line for line in raw.splitlines() if line.strip()]
    return [raw]


@app.command("replay")
def replay(
    files: Annotated[
        list[Path],
        typer.Argument(help="JSON files (or .jsonl, one body per line).", exists=True, dir_okay=False),
    ],
    url: Annotated[
        str | None, typer.Option("--url", help="Where to POST (default: the gateway's /webhook).")
    ] = None,
    gateway: GatewayOpt = None,
    app_secret: Annotated[
        str | None,
        typer.Option("--app-secret", help="Signs X-Hub-Signature-256; defaults to WACLOUD_APP_SECRET."),
    ] = None,
    unsigned: Annotated[bool, typer.Option("--unsigned", help="Send without a signature.")] = False,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """POST recorded webhook payloads to URL, signed like Meta does. Exit 1 if any is refused."""
    from wacloud.webhooks import signature

    try:
        url = url or base_url(gateway) + "/webhook"
    except CliError as exc:
        fail(exc, as_json=json_out)
    secret = app_secret
    if secret is None and not unsigned:
        try:
            s = settings(config)
        except CliError as exc:
            fail(exc, as_json=json_out)
        secret = s.app_secret.get_secret_value() if s.app_secret else None
        if secret is None:
            fail(
                CliError("no app secret: pass --app-secret, set WACLOUD_APP_SECRET, or --unsigned", Exit.USAGE),
                as_json=json_out,
            )
    results: list[dict[str, Any]] = []
    with httpx.Client(timeout=30) as http:
        for path in files:
            for i, body in enumerate(_payloads(path)):
                headers = {"Content-Type": "application/json"}
                if secret and not unsigned:
                    headers[signature.HEADER] = signature.sign(body, secret)
                try:
                    resp = http.post(url, content=body, headers=headers)
                    status, text = resp.status_code, resp.text[:200]
                except httpx.TransportError as exc:
                    fail(
                        CliError(f"cannot reach {url}: {type(exc).__name__}", Exit.UNREACHABLE),
                        as_json=json_out,
                    )
                results.append({"file": str(path), "index": i, "status": status, "answer": text})
    bad = [r for r in results if r["status"] != 200]
    if json_out:
        emit_json({"ok": not bad, "results": results})
    else:
        for r in results:
            colour = "green" if r["status"] == 200 else "red"
            console.print(f"[{colour}]{r['status']}[/{colour}] {r['file']}#{r['index']} {r['answer']}")
    if bad:
        raise typer.Exit(int(Exit.FAILED))
