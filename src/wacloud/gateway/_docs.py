"""The interactive API docs page, served with Swagger UI from the installed package, not a CDN.

FastAPI's default ``/docs`` loads Swagger UI from a CDN, so the page is blank on a machine with no
internet access: exactly where a newcomer runs the sandbox-mode gateway first. The assets come from
the ``fastapi-offline`` package, which ships Swagger UI 5 (4.x cannot render FastAPI's OpenAPI 3.1).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC = "/docs/static"


def swagger_ui_dir() -> Path:
    """The installed Swagger UI 5 assets (``swagger-ui-bundle.js``, ``swagger-ui.css``, ``favicon.png``)."""
    return Path(str(files("fastapi_offline") / "static"))


def mount_docs(app: FastAPI, *, openapi_url: str = "/openapi.json") -> None:
    """Serve ``/docs`` (Swagger UI) and its assets from this machine."""
    app.mount(STATIC, StaticFiles(directory=swagger_ui_dir()), name="swagger-ui")

    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} – API docs",
            swagger_js_url=f"{root}{STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC}/favicon.png",
        )

    app.add_route("/docs", docs, include_in_schema=False)
