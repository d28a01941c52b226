"""The web console, served by ``wacloud serve`` under ``/console`` (``/`` redirects there).

Server-rendered pages (Jinja2) made live with htmx, charts with uPlot; both vendored under ``static/``
with their licences, so the console works offline from the wheel. Pages: sign-in, inbox, the sandbox
phone, templates, campaigns and operations. Private modules, one page family each.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

import wacloud.gateway.console._campaign_page as _campaign_page
import wacloud.gateway.console._campaigns as _campaigns
import wacloud.gateway.console._inbox as _inbox
import wacloud.gateway.console._live as _live
import wacloud.gateway.console._ops as _ops
import wacloud.gateway.console._phone as _phone
import wacloud.gateway.console._signin as _signin
import wacloud.gateway.console._subs as _subs
import wacloud.gateway.console._templates as _templates
from wacloud.gateway.console._render import HERE, PREFIX, page
from wacloud.gateway.console._session import NeedSignIn, Refused


async def _to_signin(request: Request, exc: Exception) -> Response:
    """No session: htmx follows ``HX-Redirect``, a browser the 303."""
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": f"{PREFIX}/signin"})
    return RedirectResponse(f"{PREFIX}/signin", status_code=303)


async def _refused(request: Request, exc: Exception) -> Response:
    """A role or CSRF refusal: a 403 page (htmx swaps it in where the answer was expected)."""
    reason = exc.reason if isinstance(exc, Refused) else "not allowed"
    if request.headers.get("hx-request"):
        return HTMLResponse(f'<p class="error" role="alert">{_escape(reason)}</p>', status_code=403)
    return page(request, "refused.html", None, status=403, reason=reason)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def _root() -> Response:
    return RedirectResponse(f"{PREFIX}/", status_code=307)


def mount_console(app: FastAPI) -> None:
    """Add the console's pages, its static files and the ``/`` redirect to the gateway ``app``."""
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="console-static")
    for module in (_signin, _inbox, _live, _phone, _templates, _ops, _subs, _campaigns, _campaign_page):
        app.include_router(module.router)
    app.add_api_route("/", _root, methods=["GET"], include_in_schema=False)
    app.add_exception_handler(NeedSignIn, _to_signin)
    app.add_exception_handler(Refused, _refused)


__all__ = ["mount_console"]
