"""Templates: the WABA's templates with status, quality and category (live), and a creation form with
a phone-like preview; Meta's creation rules (``wacloud.templates.check_definition``) are checked as you
type and their errors shown on the field they concern."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from wacloud import errors
from wacloud.gateway.console._catalog import all_templates, forget
from wacloud.gateway.console._render import PREFIX, page
from wacloud.gateway.console._session import audit, checked_form, current_user, field, gateway
from wacloud.templates import TemplateDefinitionError, check_definition

router = APIRouter(prefix=PREFIX, include_in_schema=False)

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_INDEX = re.compile(r"^components\[(\d+)\]")
CATEGORIES = ("UTILITY", "MARKETING", "AUTHENTICATION")


def definition(form: FormData) -> tuple[dict[str, Any], list[str]]:
    """The create body from the form, and which form field each component came from (by index)."""
    comps: list[dict[str, Any]] = []
    fields: list[str] = []
    header = field(form, "header")
    if header:
        comp: dict[str, Any] = {"type": "HEADER", "format": "TEXT", "text": header}
        if _VARIABLE.search(header):
            comp["example"] = {"header_text": [_examples(form, 1)[0]]}
        comps.append(comp)
        fields.append("header")
    body = field(form, "body")
    comp = {"type": "BODY", "text": body}
    names = _VARIABLE.findall(body)
    if names:
        comp["example"] = {"body_text": [_examples(form, len(names))]}
    comps.append(comp)
    fields.append("body")
    if field(form, "footer"):
        comps.append({"type": "FOOTER", "text": field(form, "footer")})
        fields.append("footer")
    buttons = [line.strip() for line in field(form, "buttons").splitlines() if line.strip()]
    if buttons:
        comps.append({"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": b} for b in buttons]})
        fields.append("buttons")
    body_out = {
        "name": field(form, "name"),
        "language": field(form, "language", "en_US") or "en_US",
        "category": field(form, "category", "UTILITY"),
        "components": comps,
    }
    return body_out, fields


def _examples(form: FormData, n: int) -> list[str]:
    given = [v.strip() for v in field(form, "examples").split(",") if v.strip()]
    return (given + [f"example {i + 1}" for i in range(len(given), n)])[:n]


def field_of(error: errors.ValidationError, fields: list[str]) -> str:
    """The form field a rule error concerns (``components[1].text`` → the body's field)."""
    match = _INDEX.match(error.field or "")
    if match and int(match.group(1)) < len(fields):
        return fields[int(match.group(1))]
    top = (error.field or "").split(".")[0].split("[")[0]
    return top if top in ("name", "language", "category") else "body"


def check(form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """The create body and the rule errors by form field (empty: it would be accepted)."""
    body, fields = definition(form)
    try:
        check_definition(body)
    except TemplateDefinitionError as exc:
        return body, {field_of(exc, fields): exc.reason}
    return body, {}


@router.get("/templates", response_class=HTMLResponse)
async def templates_page(request: Request, created: str = "") -> Response:
    """The list and the creation form."""
    user = await current_user(request)
    items = await all_templates(request, fresh=True)
    return page(request, "templates.html", user, items=items, errors={}, values={}, created=created[:512],
                categories=CATEGORIES)


@router.get("/templates/list", response_class=HTMLResponse)
async def templates_list(request: Request) -> Response:
    """The list fragment (polled: review status changes show by themselves)."""
    user = await current_user(request)
    return page(request, "templates_list.html", user, items=await all_templates(request))


@router.post("/templates/check", response_class=HTMLResponse)
async def check_fragment(request: Request) -> Response:
    """The rule errors of the form as it is now (the out-of-band swap puts each on its field)."""
    user = await current_user(request)
    form = await checked_form(request, user)
    _, found = check(form)
    return page(request, "templates_errors.html", user, errors=found)


@router.post("/templates", response_class=HTMLResponse)
async def create(request: Request) -> Response:
    """Create the template (after the local rule check); then back to the list, where it shows PENDING."""
    user = await current_user(request)
    form = await checked_form(request, user)
    body, found = check(form)
    client = gateway(request).client
    if not found and client is not None:
        try:
            await client.create_template(body)
        except errors.ValidationError as exc:
            found = {field_of(exc, definition(form)[1]): exc.reason}
        except errors.WhatsAppError as exc:
            found = {"name": f"Meta refused it: {exc}"[:300]}
    if found:
        items = await all_templates(request)
        values = {k: field(form, k) for k in ("name", "language", "category", "header", "body", "footer",
                                              "buttons", "examples")}
        return page(request, "templates.html", user, items=items, errors=found, values=values, created="",
                    categories=CATEGORIES, status=422)
    forget(request)
    await audit(request, user, "create template", body["name"])
    return RedirectResponse(f"{PREFIX}/templates?created={body['name']}", status_code=303)
