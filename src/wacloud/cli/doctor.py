"""``wacloud doctor``: checks the configuration, the token, webhook reachability, the store, the gateway."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from wacloud.cli.output import CliError, Exit, JsonOpt, console, emit_json, fail
from wacloud.cli.remote import DEFAULT_GATEWAY, ApiKeyOpt, GatewayOpt, base_url
from wacloud.cli.settings import missing_sqlite_file, settings
from wacloud.cli.webhook import verify_url
from wacloud.gateway import GRAPH_URL, Settings
from wacloud.graph_versions import end_of_life_warning, version_info

#: ``warn`` is shown but does not make doctor exit 1.
OK, FAIL, SKIP, WARN = "ok", "fail", "skip", "warn"


def _check_version(s: Settings, today: date | None = None) -> tuple[str, str]:
    """Warn when the configured Graph API version ends within six months (wacloud.graph_versions)."""
    warning = end_of_life_warning(s.api_version, today or date.today())
    if warning is not None:
        return WARN, f"{warning} (set WACLOUD_API_VERSION)"
    info = version_info(s.api_version)
    if info is None:
        return WARN, f"{s.api_version} is not in wacloud's version table: check Meta's changelog"
    until = info.available_until or "a date Meta has not announced yet"
    return OK, f"{info.version}, served until {until}"


def _check_token(s: Settings) -> tuple[str, str]:
    if s.access_token is None:
        return SKIP, "sandbox mode: no Meta token needed (set WACLOUD_ACCESS_TOKEN to go live)"
    url = f"{s.graph_url or GRAPH_URL}/{s.api_version}/{s.phone_number_id}"
    try:
        resp = httpx.get(
            url,
            params={"fields": "display_phone_number,verified_name,quality_rating"},
            headers={"Authorization": f"Bearer {s.access_token.get_secret_value()}"},
            timeout=15,
        )
    except httpx.TransportError as exc:
        return FAIL, f"cannot reach {s.graph_url or GRAPH_URL}: {type(exc).__name__}"
    if resp.status_code == 200:
        data = resp.json()
        return OK, (
            f"token works for {data.get('display_phone_number', s.phone_number_id)} "
            f"({data.get('verified_name', 'unnamed')}, quality {data.get('quality_rating', '?')})"
        )
    from wacloud import errors

    err = errors.from_response(resp.json() if resp.content else None, resp.status_code)
    return FAIL, f"Graph API refused the token or id: {err}"


def _check_store(s: Settings, *, gateway_up: bool) -> tuple[str, str]:
    from wacloud.gateway import Database

    missing = missing_sqlite_file(s.database_url)
    if missing is not None:
        # Opening it would create an empty database: from another directory that is never the gateway's.
        where = f"no database at {missing} ({s.database_display}, relative to {Path.cwd()})"
        if gateway_up:
            return FAIL, f"{where}, yet a gateway answers: it uses another database (run doctor where it runs)"
        return SKIP, f"{where} yet; `wacloud serve` creates it"
    db = Database(s.database_url)
    try:
        db.execute("SELECT 1")
        return OK, f"{s.database_display} answers"
    except Exception as exc:
        return FAIL, f"{s.database_display}: {type(exc).__name__}: {str(exc)[:200]}"
    finally:
        db.close()


def _check_gateway(url: str) -> tuple[str, str, dict[str, Any] | None]:
    try:
        resp = httpx.get(f"{url}/readyz", timeout=5)
    except httpx.TransportError:
        return SKIP, f"no gateway running at {url} (start one with `wacloud serve`)", None
    try:
        data = resp.json()
    except ValueError:
        return (
            FAIL,
            f"{url}/readyz answered {resp.status_code} without JSON: is that a wacloud gateway?",
            None,
        )
    if resp.status_code == 200:
        return OK, f"{url} is ready ({data.get('mode')} mode)", data
    bad = {k: v for k, v in data.get("checks", {}).items() if v != "ok"}
    return FAIL, f"{url} is not ready: {bad}", data


def _check_api_key(url: str, api_key: str | None) -> tuple[str, str]:
    """Does the gateway accept the key the other commands will send?"""
    if not api_key:
        return SKIP, "no API key given (--api-key or WACLOUD_API_KEY); send, broadcast, status… need one"
    try:
        resp = httpx.get(f"{url}/v1/jobs", params={"limit": 1}, headers={"Authorization": f"Bearer {api_key}"},
                         timeout=5)
    except httpx.TransportError as exc:
        return FAIL, f"cannot reach {url}: {type(exc).__name__}"
    if resp.status_code in (401, 403):
        return FAIL, f"the gateway refused the API key ({resp.status_code}): check WACLOUD_API_KEY / --api-key"
    if resp.status_code != 200:
        return FAIL, f"{url}/v1/jobs answered {resp.status_code} to the API key"
    return OK, "the gateway accepts the API key"


def doctor(
    config: Annotated[Path | None, typer.Option("--config", envvar="WACLOUD_CONFIG")] = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check everything a gateway needs; exit 1 if any check fails."""
    checks: list[tuple[str, str, str]] = []
    try:
        s = settings(config, for_serve=True)
        mode = "sandbox mode (no Meta credentials)" if s.sandbox_mode else "live mode"
        checks.append(("configuration", OK, f"valid, {mode}"))
        checks.append(("api version", *_check_version(s)))
    except CliError as exc:
        checks.append(("configuration", FAIL, exc.message))
        s = None
    url = (
        gateway
        or (
            f"http://{'127.0.0.1' if s is None or s.host in ('0.0.0.0', '') else s.host}:{s.port}"
            if s is not None
            else DEFAULT_GATEWAY
        )
    )
    try:
        url = base_url(url)
    except CliError as exc:
        fail(exc, as_json=json_out)
    state, detail, ready = _check_gateway(url)
    if s is not None:
        checks.append(("token", *_check_token(s)))
        checks.append(("store", *_check_store(s, gateway_up=ready is not None)))
    if s is not None and ready is not None and ready.get("mode") not in (None, "sandbox" if s.sandbox_mode else "live"):
        # The configuration and the gateway disagree: the checks would describe two different setups.
        state, detail = FAIL, (
            f"{url} runs in {ready.get('mode')} mode but this configuration is "
            f"{'sandbox' if s.sandbox_mode else 'live'}: is it the gateway of this configuration?"
        )
    checks.append(("gateway", state, detail))
    if ready is not None:
        checks.append(("api key", *_check_api_key(url, api_key)))
    if s is not None:
        hook_base = s.public_url or (url if state == OK else None)
        if hook_base is None:
            checks.append(("webhook", SKIP, "set WACLOUD_PUBLIC_URL (or start the gateway) to check it"))
        elif s.verify_token is None and not s.sandbox_mode:
            checks.append(("webhook", FAIL, "WACLOUD_VERIFY_TOKEN is not set"))
        elif s.verify_token is None:
            checks.append(
                (
                    "webhook",
                    SKIP,
                    "sandbox mode generates the verify token at start; set WACLOUD_VERIFY_TOKEN to check the handshake",
                )
            )
        else:
            ok, why = verify_url(f"{hook_base}/webhook", s.verify_token.get_secret_value())
            checks.append(("webhook", OK if ok else FAIL, why))
    failed = [c for c in checks if c[1] == FAIL]
    if json_out:
        emit_json({"ok": not failed, "checks": [{"name": n, "state": st, "detail": d} for n, st, d in checks]})
    else:
        table = Table("check", "", "detail")
        marks = {OK: "[green]✓[/green]", FAIL: "[red]✗[/red]", SKIP: "[dim]–[/dim]", WARN: "[yellow]![/yellow]"}
        for name, st, d in checks:
            table.add_row(name, marks[st], d)
        console.print(table)
    if failed:
        raise typer.Exit(int(Exit.FAILED))
