"""``wacloud keys create|list|revoke``: the gateway's API keys, managed in its database directly."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from wacloud.cli.output import CliError, Exit, JsonOpt, console, emit_json, fail
from wacloud.cli.settings import existing_database, settings
from wacloud.errors import ValidationError
from wacloud.gateway import SECRET_KEY_SETTING, Database, KeyStore, new_secret_key

app = typer.Typer(
    help="Create, list and revoke the gateway's API keys (in WACLOUD_DATABASE_URL).", no_args_is_help=True
)
ConfigOpt = Annotated[Path | None, typer.Option("--config", envvar="WACLOUD_CONFIG", help="TOML config file.")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="Overrides WACLOUD_DATABASE_URL.")]


def _store(config: Path | None, database_url: str | None) -> KeyStore:
    s = settings(config, database_url=database_url)
    return KeyStore(Database(existing_database(s)))


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="What the key is for.")] = "default",
    numbers: Annotated[
        str | None, typer.Option("--numbers", help="Limit the key to these phone number ids (comma-separated).")
    ] = None,
    role: Annotated[
        str, typer.Option("--role", help="admin (everything), agent (inbox and replies) or viewer (read only).")
    ] = "admin",
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a key and print it: this is the only time it is shown."""
    try:
        limited = [n.strip() for n in numbers.split(",")] if numbers is not None else None
        info, key = _store(config, database_url).create(name, limited, role)
    except CliError as exc:
        fail(exc, as_json=json_out)
    except ValidationError as exc:
        fail(CliError(f"--{exc.field}: {exc.reason}", Exit.USAGE), as_json=json_out)
    if json_out:
        emit_json({**info.as_dict(), "key": key})
    else:
        only = f", only numbers {', '.join(info.numbers)}" if info.numbers is not None else ""
        console.print(f"key {info.id} ({info.name}{only}):\n{key}\n[dim]store it now; it is not shown again[/dim]")


@app.command("list")
def list_keys(config: ConfigOpt = None, database_url: DbOpt = None, json_out: JsonOpt = False) -> None:
    """List keys (ids and names, never the keys)."""
    try:
        keys = _store(config, database_url).list()
    except CliError as exc:
        fail(exc, as_json=json_out)
    if json_out:
        emit_json({"keys": [k.as_dict() for k in keys]})
        return
    table = Table("id", "name", "role", "created", "state")
    for k in keys:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(k.created_at))
        table.add_row(k.id, k.name, k.role, created, "active" if k.active else "[red]revoked[/red]")
    console.print(table)


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`).")],
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Revoke a key: every request with it gets 401 from then on."""
    try:
        ok = _store(config, database_url).revoke(key_id)
    except CliError as exc:
        fail(exc, as_json=json_out)
    if not ok:
        fail(CliError(f"no active key {key_id!r}", Exit.NOT_FOUND), as_json=json_out)
    if json_out:
        emit_json({"ok": True, "revoked": key_id})
    else:
        console.print(f"revoked {key_id}")


@app.command("secret")
def secret(json_out: JsonOpt = False) -> None:
    """Print a new key for WACLOUD_SECRET_KEY: it encrypts the secrets kept in the gateway database.

    To rotate, put the new key first and keep the old one after it (comma-separated): the gateway encrypts
    again with the new key at start; the old one can go after that.
    """
    key = new_secret_key()
    if json_out:
        emit_json({"key": key, "setting": SECRET_KEY_SETTING})
    else:
        typer.echo(key)
