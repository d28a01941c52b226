"""Rendering: the Jinja2 templates of the console and the helpers the pages share."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from wacloud import errors
from wacloud.gateway.console._session import ConsoleUser, gateway

HERE = Path(__file__).parent
PREFIX = "/console"
templates = Jinja2Templates(directory=str(HERE / "templates"))

#: The ticks WhatsApp shows for an outgoing message's status, with the words a screen reader says.
TICKS: dict[str, tuple[str, str]] = {
    "queued": ("🕓", "queued"),
    "claimed": ("🕓", "queued"),
    "sending": ("🕓", "sending"),
    "accepted": ("✓", "accepted"),
    "sent": ("✓", "sent"),
    "delivered": ("✓✓", "delivered"),
    "read": ("✓✓", "read"),
    "played": ("✓✓", "played"),
    "failed": ("⚠", "failed"),
    "dead": ("⚠", "failed after retries"),
    "uncertain": ("?", "uncertain"),
}


def ticks(status: str | None) -> dict[str, str]:
    """The tick symbol, its words and a CSS class for ``status``."""
    symbol, words = TICKS.get(status or "", ("", status or ""))
    return {"symbol": symbol, "words": words, "cls": f"tick-{status or 'none'}"}


def error_words(code: int | None) -> str:
    """A failure code in words (Meta's title for it), e.g. 131047 → "Re-engagement message"."""
    if code is None:
        return ""
    known = errors.ERROR_CODES.get(int(code))
    return f"{known.title} ({code})" if known is not None else f"error {code}"


def when(ts: float | None) -> str:
    """A timestamp as the console shows it (UTC, to the minute, with the day when not today)."""
    if not ts:
        return ""
    t = time.gmtime(ts)
    today = time.gmtime()
    return time.strftime("%H:%M" if t[:3] == today[:3] else "%d %b %H:%M", t)


templates.env.globals.update(ticks=ticks, when=when, error_words=error_words, prefix=PREFIX)


def page(request: Request, tpl: str, user: ConsoleUser | None, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``templates/tpl`` with the user, the CSRF token and whether the gateway is a sandbox."""
    gw = gateway(request)
    context.update(
        user=user,
        csrf=user.csrf if user is not None else "",
        sandbox=gw.sandbox_app is not None,
        path=request.url.path,
        now=time.time(),
    )
    return templates.TemplateResponse(request, tpl, context, status_code=status)
