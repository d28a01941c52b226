"""New campaigns: upload a CSV and pick the sending number, map its columns to the template's parameters,
see the dry run (recipients by state, template check, expected holds, estimated cost and duration), then
start it now or at a scheduled time. The campaign list and a campaign's own page are in ``_campaign_page``.

Built on the gateway's campaign start (``gateway/_campaigns``) and the number's ``outbox.campaigns``
(:class:`wacloud.delivery.CampaignOps`). The console remembers who started each campaign
(``wacloud_gw_console_campaigns``), which the engine does not record.
"""

from __future__ import annotations

import csv
import io
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError as PydanticError
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, RedirectResponse, Response

import wacloud.gateway._campaigns as campaigns
from wacloud import errors
from wacloud.gateway._api_errors import ApiError
from wacloud.gateway._calls import call_engine
from wacloud.gateway._db import Database
from wacloud.gateway._numbers import NumberLane
from wacloud.gateway._schemas import CampaignIn
from wacloud.gateway.console._bubbles import bubble
from wacloud.gateway.console._catalog import all_templates, by_name, parameters, send_components
from wacloud.gateway.console._live import head
from wacloud.gateway.console._render import PREFIX, page
from wacloud.gateway.console._session import (
    ConsoleUser,
    audit,
    checked_form,
    current_user,
    field,
    gateway,
    lane_of,
    lanes,
)
from wacloud.phone import normalize

router = APIRouter(prefix=PREFIX, include_in_schema=False)

MAX_CSV = 10 * 1024 * 1024
MAX_ROWS = 100_000  # what POST /v1/campaigns takes
_PHONE_COLUMNS = ("to", "phone", "wa_id", "number", "recipient")
_UPLOAD_TTL_S = 3600.0


class CampaignBook:
    """Uploaded CSVs waiting for their column mapping, and the campaigns the console started."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.execute(
            "CREATE TABLE IF NOT EXISTS wacloud_gw_console_uploads (token TEXT PRIMARY KEY, name TEXT NOT NULL, "
            "body TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS wacloud_gw_console_campaigns (id TEXT PRIMARY KEY, template TEXT NOT NULL, "
            "recipients INTEGER NOT NULL, started_by TEXT NOT NULL, started_at DOUBLE PRECISION NOT NULL)"
        )

    def keep(self, name: str, body: str) -> str:
        """Keep an upload for the mapping step; returns its token (older uploads are swept)."""
        now = time.time()
        self.db.execute("DELETE FROM wacloud_gw_console_uploads WHERE created_at < ?", (now - _UPLOAD_TTL_S,))
        token = secrets.token_urlsafe(16)
        self.db.execute(
            "INSERT INTO wacloud_gw_console_uploads (token, name, body, created_at) VALUES (?, ?, ?, ?)",
            (token, name[:200], body, now),
        )
        return token

    def upload(self, token: str) -> tuple[str, str] | None:
        """(file name, CSV text) of an upload."""
        rows = self.db.execute("SELECT name, body FROM wacloud_gw_console_uploads WHERE token = ?", (token,))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def started(self, campaign_id: str, template: str, recipients: int, who: str) -> None:
        """Remember a campaign the console started."""
        self.db.execute(
            "INSERT INTO wacloud_gw_console_campaigns (id, template, recipients, started_by, started_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (campaign_id, template, recipients, who[:100], time.time()),
        )

    def starters(self) -> dict[str, str]:
        """Who started each campaign the console started, by campaign id."""
        rows = self.db.execute("SELECT id, started_by FROM wacloud_gw_console_campaigns")
        return {str(a): str(b) for a, b in rows}

    def recent(self, limit: int = 50) -> list[tuple[str, str, int, str, float]]:
        """The campaigns the console started, newest first."""
        rows = self.db.execute(
            "SELECT id, template, recipients, started_by, started_at FROM wacloud_gw_console_campaigns "
            "ORDER BY started_at DESC LIMIT ?",
            (limit,),
        )
        return [(str(a), str(b), int(c), str(d), float(e)) for a, b, c, d, e in rows]


def book(request: Request) -> CampaignBook:
    """The campaign tables (made once per app)."""
    found: CampaignBook | None = getattr(request.app.state, "console_campaigns", None)
    if found is None:
        found = request.app.state.console_campaigns = CampaignBook(gateway(request).db)
    return found


def read_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV (comma, semicolon or tab separated); ValueError when unusable."""
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    columns = [c.strip() for c in reader.fieldnames or [] if c is not None]
    if not columns:
        raise ValueError("the file has no header row (the first line names the columns)")
    rows = []
    for row in reader:
        rows.append({(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)})
        if len(rows) > MAX_ROWS:
            raise ValueError(f"at most {MAX_ROWS} recipients per campaign")
    if not rows:
        raise ValueError("the file has a header but no recipients")
    return columns, rows


def _keys(template: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value name) per template parameter: body ``1`` → ``1``, header ``1`` → ``header.1``."""
    return [(f"{comp} {{{{{name}}}}}", name if comp == "body" else f"{comp}.{name}")
            for comp, name in parameters(template)]


def _guess(key: str, columns: list[str]) -> str:
    """The column most likely meant for ``key`` (same name, or paramN for N)."""
    for c in columns:
        if c == key or c.lower() == key.lower() or c.lower() == f"param{key}":
            return c
    return ""


@router.post("/campaigns/upload", response_class=HTMLResponse)
async def upload(request: Request) -> Response:
    """Step 2: the CSV is read; map its columns to the template's parameters and check the numbers."""
    user = await current_user(request)
    form = await checked_form(request, user)
    name, _, lang = field(form, "template").partition(":")
    template = by_name(await all_templates(request, fresh=True)).get(f"{name}:{lang}")
    file = form.get("file")
    chosen = {"__number": field(form, "number")}
    error = ""
    if template is None or template.get("status") != "APPROVED":
        error = "template: pick an approved template"
    elif not isinstance(file, UploadFile) or not file.filename:
        error = "file: pick a CSV file"
    if error:
        return await _first_step(request, error)
    assert isinstance(file, UploadFile) and template is not None
    raw = await file.read(MAX_CSV + 1)
    try:
        if len(raw) > MAX_CSV:
            raise ValueError("the file is over 10 MB")
        text = raw.decode("utf-8-sig")
        columns, rows = read_csv(text)
    except UnicodeDecodeError:
        return await _first_step(request, "file: the CSV must be UTF-8 text")
    except ValueError as exc:
        return await _first_step(request, f"file: {exc}")
    token = await call_engine(book(request).keep, file.filename or "upload.csv", text)
    return await _mapping(request, token, template, columns, rows, chosen, "")


async def first_step(request: Request, user: ConsoleUser, error: str = "", status: int = 200) -> Response:
    """The campaigns page: the upload form (template, number, CSV) and every campaign of the user's numbers."""
    gw = gateway(request)
    approved = [t for t in await all_templates(request, fresh=True) if t.get("status") == "APPROVED"]
    starters = await call_engine(book(request).starters)
    listed = []
    for lane in lanes(gw, user):
        for report in await call_engine(lane.outbox.campaigns.all):
            listed.append({**report.as_dict(), "number": lane.display or lane.phone_number_id,
                           "by": starters.get(report.id, "")})
    listed.sort(key=lambda c: -float(c.get("created_at") or 0))
    numbers = [(x.phone_number_id, x.display or x.phone_number_id) for x in lanes(gw, user)]
    return page(request, "campaigns.html", user, approved=approved, campaigns=listed[:100], numbers=numbers,
                error=error, status=status, live_after=await head(request))


async def _first_step(request: Request, error: str) -> Response:
    return await first_step(request, await current_user(request), error, 422)


def schedule_time(value: str) -> float | None:
    """A ``datetime-local`` value (UTC) as a unix time; None when empty; ValueError when not a future time."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise ValueError("give a date and time (YYYY-MM-DDTHH:MM, UTC)") from None
    if when < time.time() - 60:
        raise ValueError("the start time is in the past: leave it empty to start now")
    return when


def _dry_run(lane: NumberLane, template: dict[str, Any], phones: list[str]) -> dict[str, Any]:
    """The engine's dry run for this number (nothing is queued), as a dict."""
    category = str(template.get("category") or "marketing").lower()
    result = lane.outbox.campaigns.dry_run(str(template["name"]), phones, language=str(template.get("language")),
                                           category=category, template_status=str(template.get("status") or ""))
    out: dict[str, Any] = result.as_dict()
    return out


async def _mapping(
    request: Request, token: str, template: dict[str, Any], columns: list[str], rows: list[dict[str, str]],
    chosen: dict[str, str], error: str,
) -> Response:
    """The mapping form with a dry-run summary of what would be sent with the current choices."""
    user = await current_user(request)
    keys = _keys(template)
    phone_col = chosen.get("__to") or next((c for c in columns if c.lower() in _PHONE_COLUMNS), columns[0])
    mapping = {key: chosen.get(key, _guess(key, columns)) for _, key in keys}
    bad = 0
    for row in rows:
        try:
            normalize(row.get(phone_col, ""))
        except errors.ValidationError:
            bad += 1
    lane = lane_of(gateway(request), user, chosen.get("__number", ""))
    dry = await call_engine(_dry_run, lane, template, [row.get(phone_col, "") for row in rows]) if lane else None
    values = {k: rows[0].get(col, "") for k, col in mapping.items() if col}
    components = send_components(template, {_component_key(k): v for k, v in values.items()})
    sample_body = {"type": "template", "template": {"name": template["name"], "components": components}}
    sample = bubble(sample_body, "", {str(template["name"]): template})
    missing = [label for label, key in keys if not mapping.get(key)]
    return page(
        request, "campaign_map.html", user, token=token, template=template, columns=columns, keys=keys,
        mapping=mapping, phone_col=phone_col, total=len(rows), bad=bad, sample=sample, missing=missing,
        error=error, campaign_id=chosen.get("__id", ""), dry=dry, start_at=chosen.get("__start_at", ""),
        number=lane.phone_number_id if lane else "",
        number_shown=(lane.display or lane.phone_number_id) if lane else "",
    )


def _component_key(key: str) -> str:
    """A value name (``1``, ``header.1``) as ``send_components`` wants it (``body.1``, ``header.1``)."""
    return key if "." in key else f"body.{key}"


@router.post("/campaigns/start", response_class=HTMLResponse)
async def start(request: Request) -> Response:
    """Step 3: check again (``action=check``) or start the campaign and go to its progress page."""
    user = await current_user(request)
    form = await checked_form(request, user)
    token = field(form, "token")
    found = await call_engine(book(request).upload, token)
    name, _, lang = field(form, "template").partition(":")
    template = by_name(await all_templates(request)).get(f"{name}:{lang}")
    if found is None or template is None:
        return await _first_step(request, "file: the upload expired; upload the CSV again")
    columns, rows = read_csv(found[1])
    chosen = {k[4:]: field(form, k) for k in form if k.startswith("map.")}
    chosen["__to"] = field(form, "to_column")
    chosen["__id"] = field(form, "campaign_id")
    chosen["__number"] = field(form, "number")
    chosen["__start_at"] = field(form, "start_at")
    if field(form, "action") != "start":
        return await _mapping(request, token, template, columns, rows, chosen, "")
    phone_col = chosen["__to"]
    mapping = {k: v for k, v in chosen.items() if not k.startswith("__") and v}
    recipients = [{"to": row.get(phone_col, "") or "-", "values": {k: row.get(col, "") for k, col in mapping.items()}}
                  for row in rows]
    body: dict[str, Any] = {"template": name, "language": lang, "recipients": recipients, "skip_invalid": True}
    if chosen["__id"]:
        body["id"] = chosen["__id"]
    lane = lane_of(gateway(request), user, chosen["__number"])
    try:
        start_at = schedule_time(chosen["__start_at"])
    except ValueError as exc:
        return await _mapping(request, token, template, columns, rows, chosen, f"start_at: {exc}")
    if start_at is not None:
        body["start_at"] = start_at
    if lane is None:
        return await _mapping(request, token, template, columns, rows, chosen,
                              "number: this key may use none of the numbers served")
    try:
        campaign = CampaignIn.model_validate(body)
        result = await campaigns.start(gateway(request), campaign, lane)
    except PydanticError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return await _mapping(request, token, template, columns, rows, chosen, f"{where}: {first.get('msg')}")
    except ApiError as exc:
        reason = exc.body.get("reason", "refused")
        where = exc.body.get("field") or "campaign"
        return await _mapping(request, token, template, columns, rows, chosen, f"{where}: {reason}")
    await call_engine(book(request).started, result["id"], name, len(rows), user.key.name)
    when = f", from {datetime.fromtimestamp(start_at, UTC):%Y-%m-%d %H:%M} UTC" if start_at else ""
    await audit(request, user, "start campaign", result["id"], f"{name}, {len(rows)} recipients{when}")
    return RedirectResponse(f"{PREFIX}/campaigns/{result['id']}?number={lane.phone_number_id}", status_code=303)
