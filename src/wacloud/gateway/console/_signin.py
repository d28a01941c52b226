"""The sign-in and sign-out pages, and the console's home (which page to open first)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from wacloud.gateway._calls import call_engine
from wacloud.gateway.console._render import PREFIX, page
from wacloud.gateway.console._session import COOKIE, SESSION_S, NeedSignIn, current_user, gateway, sessions

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request) -> Response:
    """The sign-in form: one field, the API key."""
    return page(request, "signin.html", None)


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request) -> Response:
    """Check the key; on success open a session (cookie) and go to the console."""
    form = await request.form()
    key = form.get("api_key")
    gw = gateway(request)
    info = await call_engine(gw.keys.verify, key.strip()) if isinstance(key, str) and key.strip() else None
    if info is None:
        return page(request, "signin.html", None, status=401, error="That API key is not valid (or was revoked).")
    token = await call_engine(sessions(request).open, info)
    if gw.audit is not None:
        await call_engine(gw.audit.record, info, "console: sign in", "", "ok")
    response = RedirectResponse(f"{PREFIX}/", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    """Close the session (no CSRF check needed to sign out: the worst a forged one does is sign you out)."""
    token = request.cookies.get(COOKIE)
    if token:
        await call_engine(sessions(request).close, token)
    response = RedirectResponse(f"{PREFIX}/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/")
async def home(request: Request) -> Response:
    """The inbox, or the sign-in page."""
    try:
        await current_user(request)
    except NeedSignIn:
        return RedirectResponse(f"{PREFIX}/signin", status_code=303)
    return RedirectResponse(f"{PREFIX}/inbox", status_code=303)
