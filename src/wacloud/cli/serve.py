"""``wacloud serve``: the gateway (HTTP API, webhook endpoint, delivery workers) in one uvicorn process."""

from __future__ import annotations

import contextlib
import errno
import json
import shlex
import shutil
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

if TYPE_CHECKING:
    from wacloud.gateway import Gateway

from wacloud.cli.output import CliError, Exit, console, fail
from wacloud.cli.settings import settings


def _socket(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.socket(family, socket.SOCK_STREAM)


def free_port(host: str) -> int:
    """A port the OS says is free on ``host`` right now."""
    with contextlib.closing(_socket(host)) as sock:
        sock.bind((host or "0.0.0.0", 0))
        return int(sock.getsockname()[1])


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` (checked by binding it for a moment)."""
    return bind_problem(host, port) is None


def bind_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound (port 0: any port), or None when it can."""
    try:
        with contextlib.closing(_socket(host)) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host or "0.0.0.0", port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return (f"port {port} on {host} is already in use (another `wacloud serve`?); pass --port N "
                    "or --port 0 for any free port")
        # A mistyped --host / WACLOUD_HOST: not an address, or not one of this machine's.
        return f"cannot listen on {host} (--host or WACLOUD_HOST): {exc.strerror or exc}"
    return None


def _display_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if ":" in host:
        return "[::1]" if host == "::" else f"[{host}]"
    return host


def cli_command() -> str:
    """This CLI as the user can run it again: ``wacloud`` when the shell finds this one by that name, else
    the path it was started by (a ``.venv`` not on PATH), or ``python -m wacloud``."""
    argv0 = sys.argv[0] if sys.argv else ""
    name = Path(argv0).name
    if not argv0 or name in ("__main__.py", "-c", "-m") or name.endswith(".py"):
        return f"{shlex.quote(sys.executable)} -m wacloud"
    found = shutil.which(name)
    with contextlib.suppress(OSError):
        if found and Path(found).resolve() == Path(argv0).resolve():
            return name
    return shlex.quote(argv0)


def banner(info: dict[str, Any]) -> str:
    """What ``wacloud serve`` prints at start: URLs, the key (once), and how to send a first message."""
    if not info.get("api_enabled", True):
        return "\n".join(
            [
                f"[bold]wacloud gateway[/bold] worker-only ({info['mode']} mode): sending from {info['database']}",
                f"  Metrics   {info['metrics']}   health: {info['health']}   ready: {info['base_url']}/readyz",
            ]
        )
    cmd = escape(str(info.get("command") or "wacloud"))
    lines = [
        f"[bold]wacloud gateway[/bold] {info['mode']} mode"
        + (" (no Meta account: messages go to the embedded sandbox)" if info["mode"] == "sandbox" else ""),
        f"  API       {info['api']}   (OpenAPI docs: {info['docs']})",
        f"  Webhook   {info['webhook']}",
        f"  Metrics   {info['metrics']}   health: {info['health']}",
        f"  Database  {info['database']}   workers: {'on' if info['workers'] else 'off'}",
    ]
    if info.get("sandbox"):
        sb = info["sandbox"]
        lines.append(
            f"  Sandbox   {sb['base_url']}   token {sb['access_token']}   phone number id "
            f"{sb['phone_number_id']}   waba id {sb['waba_id']}"
        )
        lines.append(f"            control API: {sb['control']}   (needs the API key)")
        lines.append(
            f"            webhook verify token {escape(sb['verify_token'])}   app secret {escape(sb['app_secret'])}"
            f"   (for `{cmd} webhook verify-url|replay`)"
        )
    if info.get("bot"):
        lines.append(f"  Bot       {info['bot']}")
    key = info.get("api_key")
    if key:
        lines.append(f"  API key   [bold]{key}[/bold]   (shown once; `{cmd} keys create` makes more)")
    else:
        lines.append(f"  API key   (already created; `{cmd} keys create` makes a new one)")
    shown_key = key or "<your key>"
    api = info["api"]
    lines += [
        "",
        "[bold]Try it[/bold] (a template opens the conversation; the customer's answer opens the "
        "24-hour window for free-form messages):",
        f"  export WACLOUD_GATEWAY_URL={info['base_url']} WACLOUD_API_KEY={shown_key}",
        f'  curl -s {api}/messages -H "Authorization: Bearer $WACLOUD_API_KEY" -H \'Content-Type: '
        'application/json\' -d \'{"to": "+15551234567", "type": "template", "template": '
        '{"name": "hello_world", "language": {"code": "en_US"}}}\'',
        f"  {cmd} send template +15551234567 hello_world --wait",
    ]
    if info.get("sandbox"):
        lines.append(
            f"  curl -s {info['sandbox']['control']}/inbound -H \"Authorization: Bearer $WACLOUD_API_KEY\" "
            "-H 'Content-Type: application/json' "
            '-d \'{"from": "15551234567", "text": "hi!"}\'   # the customer answers'
        )
    lines += [
        f'  {cmd} send text +15551234567 "Thanks for writing!" --wait',
        f'  curl -s {api}/conversations/15551234567/messages -H "Authorization: Bearer $WACLOUD_API_KEY"',
    ]
    return "\n".join(lines)


def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to bind (WACLOUD_HOST; default 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port (WACLOUD_PORT; default 8080; 0 = any free port).")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", envvar="WACLOUD_CONFIG", help="TOML config file.")] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="sqlite:///path or postgresql://… (WACLOUD_DATABASE_URL)."),
    ] = None,
    workers: Annotated[
        bool | None,
        typer.Option(
            "--workers/--no-workers",
            help="Run delivery workers in this process (off: API and webhooks only).",
        ),
    ] = None,
    api: Annotated[
        bool | None,
        typer.Option("--api/--no-api", help="Serve the HTTP API and /webhook (off: a worker-only process)."),
    ] = None,
    app_ref: Annotated[
        str | None,
        typer.Option("--app", help="A bot Application to run on incoming updates, as module:attribute."),
    ] = None,
    mps: Annotated[int | None, typer.Option("--mps", help="Messages per second per number.")] = None,
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", help="URL the world reaches this gateway at (for Meta's webhook)."),
    ] = None,
    log_json: Annotated[bool | None, typer.Option("--log-json/--log-text", help="JSON log lines.")] = None,
    log_level: Annotated[str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the start-up info as one JSON line.")] = False,
) -> None:
    """Run the gateway. With no Meta credentials it embeds the sandbox and needs no setup at all."""
    try:
        s = settings(
            config,
            for_serve=True,
            host=host,
            port=port,
            database_url=database_url,
            workers=workers,
            api=api,
            app=app_ref,
            mps=mps,
            public_url=public_url,
            log_json=log_json,
            log_level=log_level,
        )
    except CliError as exc:
        fail(exc, as_json=json_out)
    if app_ref is not None and "." not in sys.path:
        sys.path.insert(0, ".")  # --app mybot:app finds mybot.py in the working directory
    from wacloud.gateway import setup_logging

    redactor = setup_logging(level=s.log_level, json_lines=s.log_json, secrets=s.secret_values())
    problem = bind_problem(s.host, s.port)
    if problem is not None:
        fail(CliError(problem, Exit.USAGE), as_json=json_out)
    if s.port == 0:
        s = s.model_copy(update={"port": free_port(s.host)})
    base_url = f"http://{_display_host(s.host)}:{s.port}"
    from wacloud.delivery.store import StoreError
    from wacloud.gateway import DatabaseUnavailable, create_app
    from wacloud.webhooks.asgi import tune_gc_for_serving

    try:
        app = create_app(s, base_url=base_url)
        gw: Gateway = app.state.gateway
        key = None
        if s.api and not gw.keys.has_active():
            _, key = gw.keys.create("generated by wacloud serve")
    except RuntimeError as exc:
        fail(CliError(str(exc), Exit.USAGE), as_json=json_out)
    except (DatabaseUnavailable, StoreError) as exc:
        # The URL itself is not repeated: it may hold a password.
        fail(CliError(f"cannot open the database (WACLOUD_DATABASE_URL or --database-url): {exc}",
                      Exit.UNREACHABLE), as_json=json_out)
    for secret in (gw.creds.token, gw.creds.app_secret, gw.creds.verify_token):
        if secret:
            redactor.add(secret)
    info = startup_info(gw, key)
    if json_out:
        sys.stdout.write(json.dumps(info) + "\n")
    else:
        console.print(banner(info))
    sys.stdout.flush()
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=s.host,
            port=s.port,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=10,
            access_log=False,
        )
    )
    # What is built by now (the app, its routes and schemas, the gateway) lives as long as the process:
    # moved out of the collector's sight, each full collection no longer walks it (a campaign's POST
    # of 10,000 recipients triggers several; ~17 µs of CPU per recipient, benchmarks/broadcast.py).
    # The young generation's threshold goes to 2,000 as well (Python 3.13's default): fewer collections of
    # the request path's short-lived objects (tune_gc_for_serving).
    tune_gc_for_serving()
    server.run()
    if not server.started:
        raise typer.Exit(int(Exit.UNREACHABLE))


def startup_info(gw: Gateway, key: str | None) -> dict[str, Any]:
    """The URLs and ids ``serve`` prints (the key only when it was just created)."""
    base = gw.base_url
    info: dict[str, Any] = {
        "mode": "sandbox" if gw.settings.sandbox_mode else "live",
        "base_url": base,
        "api": f"{base}/v1",
        "docs": f"{base}/docs",
        "openapi": f"{base}/openapi.json",
        "webhook": gw.webhook_url,
        "metrics": f"{base}/metrics",
        "health": f"{base}/healthz",
        "database": gw.settings.database_display,
        "workers": gw.settings.workers,
        "api_enabled": gw.settings.api,
        "api_key": key,
        "bot": gw.settings.app,
        "command": cli_command(),
    }
    if gw.sandbox_app is not None:
        info["sandbox"] = {
            "base_url": gw.creds.graph_url,
            "access_token": gw.creds.token,
            "phone_number_id": gw.creds.phone_number_id,
            "waba_id": gw.creds.waba_id,
            "control": f"{gw.creds.graph_url}/_sandbox",
            # Printed (never logged) so `wacloud webhook verify-url|replay` can be used against the gateway.
            "verify_token": gw.creds.verify_token,
            "app_secret": gw.creds.app_secret,
        }
    return info
