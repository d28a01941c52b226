"""The WABA's templates, fetched through the gateway's client and kept for a short while.

The inbox polls every 2 s; asking Meta for the template list on every poll would spend the WABA's
rate limit on rendering, so the list is reused for :data:`TTL_S`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.requests import Request

from wacloud import errors
from wacloud.gateway.console._session import gateway

TTL_S = 5.0
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


async def all_templates(request: Request, *, fresh: bool = False) -> list[dict[str, Any]]:
    """Every template of the number's WABA (first 250), as Graph returns them; [] when unreachable."""
    state = request.app.state
    cached = getattr(state, "console_templates", None)
    if not fresh and cached is not None and time.monotonic() - cached[0] < TTL_S:
        found: list[dict[str, Any]] = cached[1]
        return found
    client = gateway(request).client
    if client is None:
        return []
    try:
        page = await client.list_templates(limit=250)
    except (errors.WhatsAppError, errors.ValidationError):
        return cached[1] if cached is not None else []
    data = [t for t in page.data if isinstance(t, dict)]
    state.console_templates = (time.monotonic(), data)
    return data


def forget(request: Request) -> None:
    """Drop the cached list (a template was just created)."""
    request.app.state.console_templates = None


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Templates keyed by ``name:language`` and by ``name`` (for rendering sent templates)."""
    out: dict[str, dict[str, Any]] = {}
    for t in items:
        out.setdefault(str(t.get("name")), t)
        out[f"{t.get('name')}:{t.get('language')}"] = t
    return out


def parameters(template: dict[str, Any]) -> list[tuple[str, str]]:
    """The template's body and header parameters as (component, placeholder) pairs, in order."""
    out: list[tuple[str, str]] = []
    for comp in template.get("components", []):
        if not isinstance(comp, dict):
            continue
        ctype = str(comp.get("type", "")).lower()
        if ctype in ("header", "body") and isinstance(comp.get("text"), str):
            for name in _PLACEHOLDER.findall(comp["text"]):
                if (ctype, name) not in out:
                    out.append((ctype, name))
    return out


def send_components(template: dict[str, Any], values: dict[str, str]) -> list[dict[str, Any]]:
    """The send-time ``components`` filling ``template``'s parameters from ``values`` (``body.1`` → text)."""
    named = str(template.get("parameter_format", "")).upper() == "NAMED"
    comps: dict[str, list[dict[str, Any]]] = {}
    for ctype, name in parameters(template):
        param: dict[str, Any] = {"type": "text", "text": values.get(f"{ctype}.{name}", "")}
        if named:
            param["parameter_name"] = name
        comps.setdefault(ctype, []).append(param)
    return [{"type": ctype, "parameters": params} for ctype, params in comps.items()]
