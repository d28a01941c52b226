"""The sandbox phone (sandbox mode): be a customer and talk to the business (and its bot).

Pick or create simulated customers (phone number, name, username); write to the business, tap reply
buttons and list rows, share a location or an image, react, block, opt out of marketing, switch read
receipts off and mark messages read by hand. Everything goes through the embedded sandbox's control
API in-process (``/_sandbox/...``), exactly as a test would; the business's messages are drawn as
WhatsApp draws them.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
from fastapi import APIRouter, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import HTMLResponse, RedirectResponse, Response

from wacloud.gateway.console._bubbles import bubble
from wacloud.gateway.console._catalog import all_templates, by_name
from wacloud.gateway.console._render import PREFIX, page
from wacloud.gateway.console._session import ConsoleUser, Refused, audit, checked_form, current_user, field, gateway

router = APIRouter(prefix=PREFIX, include_in_schema=False)

#: An image the customer shares when no file is picked (a 1x1 PNG): the business gets real media.
_PIXEL = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cf"
    "c0f01f0005000201a1a6b4b40000000049454e44ae426082"
)).decode()
_MAX_IMAGE = 5 * 1024 * 1024  # WhatsApp's image limit


class PhoneError(Exception):
    """The sandbox refused what the phone asked (shown on the phone)."""


def _sandbox(request: Request) -> httpx.AsyncClient:
    """An in-process client on the embedded sandbox's control API (no socket, no key needed)."""
    app = gateway(request).sandbox_app
    if app is None:
        raise Refused("the phone needs sandbox mode (run wacloud serve without an access token)")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.local", timeout=10)


async def _call(request: Request, method: str, path: str, body: Any = None) -> Any:
    async with _sandbox(request) as sb:
        answer = await sb.request(method, f"/_sandbox{path}", json=body)
    data = answer.json() if answer.content else {}
    if answer.status_code >= 400:
        err = data.get("error") if isinstance(data, dict) else None
        raise PhoneError(str(err.get("message") if isinstance(err, dict) else err or answer.text)[:300])
    return data


def _items(chat: dict[str, Any], known: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The customer's chat, oldest first: what the business sent (left) and what they sent (right)."""
    items = []
    for m in chat.get("received", []):
        b = bubble(m.get("body"), m.get("type", ""), known)
        statuses = [s.get("status") for s in m.get("statuses", [])]
        items.append({"side": "in", "ts": m.get("created_at"), "b": b, "id": m["id"], "kind": m.get("type"),
                      "read": "read" in statuses or "played" in statuses, "failed": "failed" in statuses})
    for m in chat.get("sent", []):
        b = bubble(m.get("message"), m.get("type", ""))
        items.append({"side": "out", "ts": m.get("timestamp"), "b": b, "id": m["id"], "kind": m.get("type"),
                      "read": bool(m.get("read")), "failed": False})
    items.sort(key=lambda i: float(i["ts"] or 0))
    return items


async def _chat(request: Request, wa_id: str) -> dict[str, Any]:
    found = await _call(request, "GET", f"/customers/{wa_id}")
    chat = await _call(request, "GET", f"/customers/{wa_id}/messages")
    return {"customer": found, "items": _items(chat, by_name(await all_templates(request)))}


@router.get("/phone", response_class=HTMLResponse)
async def phone(request: Request, c: str = "") -> Response:
    """The customers and, for the picked one, the phone."""
    user = await current_user(request)
    customers = (await _call(request, "GET", "/customers"))["customers"]
    info = await _call(request, "GET", "/")
    chat = None
    if c:
        try:
            chat = await _chat(request, c)
        except PhoneError as exc:
            return page(request, "phone.html", user, customers=customers, info=info, chat=None, error=str(exc))
    return page(request, "phone.html", user, customers=customers, info=info, chat=chat, c=c, error="")


@router.get("/phone/{wa_id}/chat", response_class=HTMLResponse)
async def chat_fragment(request: Request, wa_id: str) -> Response:
    """The phone's chat (polled every 2 s)."""
    user = await current_user(request)
    return await _render_chat(request, user, wa_id)


async def _render_chat(request: Request, user: ConsoleUser, wa_id: str, error: str = "") -> Response:
    try:
        chat = await _chat(request, wa_id)
    except PhoneError as exc:
        return HTMLResponse(f'<p class="error" role="alert">{_esc(str(exc))}</p>', status_code=404)
    return page(request, "phone_chat.html", user, chat=chat, c=wa_id, error=error)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@router.post("/phone/customers")
async def create_customer(request: Request) -> Response:
    """A new simulated customer: a phone number, or only a username (reached by BSUID)."""
    user = await current_user(request)
    form = await checked_form(request, user)
    number = field(form, "phone").lstrip("+").replace(" ", "")
    data: dict[str, Any] = {"profile_name": field(form, "name") or "Sandbox User"}
    if number:
        data["wa_id"] = number
    if field(form, "username"):
        data["username"] = field(form, "username")
    try:
        made = await _call(request, "POST", "/customers", data)
    except PhoneError as exc:
        customers = (await _call(request, "GET", "/customers"))["customers"]
        info = await _call(request, "GET", "/")
        return page(request, "phone.html", user, customers=customers, info=info, chat=None, c="",
                    error=f"phone: {exc}", status=422)
    await audit(request, user, "phone: new customer", made["wa_id"])
    return RedirectResponse(f"{PREFIX}/phone?c={made['wa_id']}", status_code=303)


async def _inject(request: Request, user: ConsoleUser, wa_id: str, form: FormData, message: dict[str, Any]) -> Response:
    """The customer sends ``message``; answers the refreshed chat (or the sandbox's refusal)."""
    to = field(form, "to")
    body = {"from": wa_id, **message, **({"to": to} if to else {})}
    try:
        await _call(request, "POST", "/inbound", body)
    except PhoneError as exc:
        return await _render_chat(request, user, wa_id, error=str(exc))
    return await _render_chat(request, user, wa_id)


@router.post("/phone/{wa_id}/send", response_class=HTMLResponse)
async def send(request: Request, wa_id: str) -> Response:
    """The customer writes a text message."""
    user = await current_user(request)
    form = await checked_form(request, user)
    text = field(form, "text")
    if not text:
        return await _render_chat(request, user, wa_id, error="text: write a message first")
    return await _inject(request, user, wa_id, form, {"text": text})


@router.post("/phone/{wa_id}/tap", response_class=HTMLResponse)
async def tap(request: Request, wa_id: str) -> Response:
    """The customer taps a reply button, a list row or a template's quick-reply button."""
    user = await current_user(request)
    form = await checked_form(request, user)
    reply_to = field(form, "reply_to")
    if field(form, "row_id"):
        message: dict[str, Any] = {"list_reply": {"id": field(form, "row_id")}}
    elif field(form, "button_id") and field(form, "button_id") not in ("QUICK_REPLY", "URL", "PHONE_NUMBER"):
        message = {"button_reply": {"id": field(form, "button_id")}}
    else:  # a template button: Meta sends a "button" message with the button's text and payload
        index = int(field(form, "button_index", "0") or 0)
        message = {"type": "button", "button": {"index": index, "text": field(form, "button_title")}}
    return await _inject(request, user, wa_id, form, {**message, "reply_to": reply_to})


@router.post("/phone/{wa_id}/location", response_class=HTMLResponse)
async def location(request: Request, wa_id: str) -> Response:
    """The customer shares a location."""
    user = await current_user(request)
    form = await checked_form(request, user)
    try:
        lat, lon = float(field(form, "latitude")), float(field(form, "longitude"))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError
    except ValueError:
        return await _render_chat(request, user, wa_id, error="latitude/longitude: give numbers (−90…90, −180…180)")
    loc = {"latitude": lat, "longitude": lon, "name": field(form, "place") or None}
    return await _inject(request, user, wa_id, form, {"location": {k: v for k, v in loc.items() if v is not None}})


@router.post("/phone/{wa_id}/image", response_class=HTMLResponse)
async def image(request: Request, wa_id: str) -> Response:
    """The customer shares an image (the picked file, or a tiny sample picture)."""
    user = await current_user(request)
    form = await checked_form(request, user)
    upload = form.get("file")
    spec: dict[str, Any] = {"data_base64": _PIXEL, "mime_type": "image/png"}
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(_MAX_IMAGE + 1)
        mime = upload.content_type or ""
        if len(data) > _MAX_IMAGE or mime not in ("image/jpeg", "image/png"):
            return await _render_chat(request, user, wa_id, error="image: a JPEG or PNG of at most 5 MB")
        spec = {"data_base64": base64.b64encode(data).decode(), "mime_type": mime}
    if field(form, "caption"):
        spec["caption"] = field(form, "caption")
    return await _inject(request, user, wa_id, form, {"image": spec})


@router.post("/phone/{wa_id}/react", response_class=HTMLResponse)
async def react(request: Request, wa_id: str) -> Response:
    """The customer reacts to one of the business's messages."""
    user = await current_user(request)
    form = await checked_form(request, user)
    reaction = {"message_id": field(form, "message_id"), "emoji": field(form, "emoji", "👍")}
    return await _inject(request, user, wa_id, form, {"reaction": reaction})


@router.post("/phone/{wa_id}/read", response_class=HTMLResponse)
async def read(request: Request, wa_id: str) -> Response:
    """The customer opens the business's messages they have not read (blue ticks)."""
    user = await current_user(request)
    await checked_form(request, user)
    chat = await _chat(request, wa_id)
    for item in chat["items"]:
        if item["side"] == "in" and not item["read"] and not item["failed"]:
            try:
                await _call(request, "POST", f"/messages/{item['id']}/read")
            except PhoneError:
                continue  # a message the sandbox forgot (reset) stays unread
    return await _render_chat(request, user, wa_id)


@router.post("/phone/{wa_id}/settings")
async def settings(request: Request, wa_id: str) -> Response:
    """Block the business, opt out of marketing, read receipts on or off."""
    user = await current_user(request)
    form = await checked_form(request, user)
    changes = {name: form.get(name) == "on" for name in ("blocked", "marketing_opt_out", "read_receipts")}
    try:
        await _call(request, "PATCH", f"/customers/{wa_id}", changes)
    except PhoneError as exc:
        return await _render_chat(request, user, wa_id, error=str(exc))
    await audit(request, user, "phone: settings", wa_id, ", ".join(k for k, v in changes.items() if v))
    return RedirectResponse(f"{PREFIX}/phone?c={wa_id}", status_code=303)
