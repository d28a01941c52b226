"""``create_sandbox_app(config)``: the ASGI app. A thin gate (version prefix, auth, faults, the send fast path)
in front of Starlette routers for the rest of the Graph API, the management routes and the control API."""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

import wacloud.sandbox._control as _control
import wacloud.sandbox._faults as _faults
import wacloud.sandbox._management as _management
import wacloud.sandbox._routes_calls as _routes_calls
import wacloud.sandbox._routes_groups as _routes_groups
import wacloud.sandbox._routes_objects as _routes_objects
import wacloud.sandbox._sending as _sending
from wacloud import limits
from wacloud.sandbox._config import SandboxConfig, build_config
from wacloud.sandbox._dispatch import WebhookQueue
from wacloud.sandbox._errors import GraphError
from wacloud.sandbox._state import SandboxState
from wacloud.sandbox._templates import seed_templates

_VERSION = re.compile(r"^/v(\d+)\.(\d+)(/.*)?$")
_MESSAGES = re.compile(r"^/([^/]+)/(messages|marketing_messages)/?$")
_JSON_HEADERS = [(b"content-type", b"application/json")]
CONTROL_PREFIX = "/_sandbox"


def _parse_version(text: str) -> tuple[int, int]:
    m = re.match(r"^v(\d+)\.(\d+)$", text)
    if not m:
        raise ValueError(f"not a Graph API version: {text!r}")
    return int(m.group(1)), int(m.group(2))


def relative_path(scope: Scope) -> str:
    """The request path below the mount point (the gateway mounts us at /sandbox): what we route on."""
    root: str = scope.get("root_path", "")
    path: str = scope["path"]
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        path = path[len(root) :] or "/"
    return path


def is_control(scope: Scope) -> bool:
    """True when this request goes to the control API (``/_sandbox…``), so a host can guard exactly that."""
    return relative_path(scope).startswith(CONTROL_PREFIX)


def new_state(config: SandboxConfig) -> SandboxState:
    """A sandbox state with its services attached: the webhook dispatcher and the seed templates (again
    after every reset). The state itself imports no service; this is where they meet it."""
    state = SandboxState(config)
    state.dispatcher = WebhookQueue(state)
    seed_templates(state)
    state.on_reset(lambda: seed_templates(state))
    return state


async def _unknown(scope: Scope, receive: Receive, send: Send) -> None:
    """A path nobody serves: Graph error 100."""
    state: SandboxState = scope["app"].state.sandbox
    err = GraphError(100, f"Unknown path components: {scope['path']}")
    await _send_json(send, err.http_status, err.body(state.ids.fbtrace_id()))


class SandboxApp:
    """The ASGI application; ``state`` is the sandbox's memory.

    Every route is a module-level endpoint reading ``request.app.state.sandbox``: the Graph routes
    (``_routes_objects``, falling through to the management routes of ``_management``) and the control
    API (``_control``)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.state = new_state(config)
        self.default_version = _parse_version(config.default_version)
        self.management = Router(routes=_management.ROUTES, default=_unknown, redirect_slashes=False)
        self.graph = Starlette(
            routes=[*_routes_objects.ROUTES, *_routes_calls.ROUTES, *_routes_groups.ROUTES],
            exception_handlers={HTTPException: self._http_exception, Exception: self._crash},
        )
        self.graph.state.sandbox = self.state
        self.graph.router.default = self.management
        self.graph.router.redirect_slashes = False
        self.control = Starlette(routes=_control.ROUTES, exception_handlers={Exception: self._crash})
        self.control.state.sandbox = self.state

    # --- error pages ----------------------------------------------------------------------------

    async def _http_exception(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        err = GraphError(100, f"Unsupported {request.method.lower()} request ({exc.detail}).")
        return JSONResponse(err.body(self.state.ids.fbtrace_id()), status_code=400)

    async def _crash(self, request: Request, exc: Exception) -> Response:
        # A sandbox bug still answers like Graph does for server errors, never a bare traceback.
        err = GraphError(1, f"Internal sandbox error: {type(exc).__name__}")
        return JSONResponse(err.body(self.state.ids.fbtrace_id()), status_code=500)

    # --- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        root: str = scope.get("root_path", "")
        path = relative_path(scope)
        if path.startswith(CONTROL_PREFIX):
            await self.control(scope, receive, send)
            return
        state = self.state
        version = self.default_version
        m = _VERSION.match(path)
        if m:
            version = (int(m.group(1)), int(m.group(2)))
            path = m.group(3) or "/"
            if version < limits.MIN_API_VERSION:
                old = f"v{version[0]}.{version[1]}"
                err = GraphError(
                    2635,
                    f"API version {old} is no longer available; call v21.0 or later.",
                    message=f"(#2635) You are calling a deprecated version of the Graph API ({old}). "
                    "Please update to v21.0 or later.",
                )
                await _send_json(send, 400, err.body(state.ids.fbtrace_id()))
                return
        auth_error = self._check_auth(scope, path)
        if auth_error is not None:
            await _send_json(send, auth_error.http_status, auth_error.body(state.ids.fbtrace_id()))
            return
        scope = dict(scope)
        scope["path"] = root + path
        scope["raw_path"] = (root + path).encode()
        scope["wacloud.version"] = version
        delay = _faults.latency(state)
        if delay:
            await asyncio.sleep(delay)
        sends = scope["method"] == "POST" and _MESSAGES.match(path)
        fault = _faults.pick(state, send=bool(sends))
        if fault is not None and fault.kind in ("drop", "timeout", "http500", "http503"):
            if sends:
                state.log_attempt(
                    phone_number_id=sends.group(1),
                    to=None,
                    wa_id=None,
                    type_=None,
                    code=_FAULT_CODES.get(fault.kind, 0),
                    http_status=_FAULT_STATUS.get(fault.kind, 0),
                    outcome=fault.kind,
                )
            await self._act_out(fault, scope, receive, send)
            return
        if sends:
            await self._messages(sends.group(1), version, fault, scope, receive, send,
                                 marketing=sends.group(2) == "marketing_messages")
            return
        await self.graph(scope, receive, send)

    def _check_auth(self, scope: Scope, path: str = "/") -> GraphError | None:
        token: str | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                text = value.decode("latin-1")
                # "Bearer <token>", or "OAuth <token>" (the scheme Meta's resumable-upload guide shows).
                scheme, _, rest = text.partition(" ")
                token = rest.strip() if scheme.lower() in ("bearer", "oauth") else ""
                break
        if token is None:
            qs = scope.get("query_string", b"").decode("latin-1")
            for part in qs.split("&"):
                if part.startswith("access_token="):
                    token = part[len("access_token=") :]
        if token is None:
            code = self.state.config.missing_token_code
            return _token_error(code, "An access token is required to request this resource.")
        cfg = self.state.config
        if not any(hmac.compare_digest(token.encode(), known.encode()) for known in cfg.tokens):
            return _token_error(190, "Invalid OAuth access token - Cannot parse access token")
        # A number with a token of its own (another app or system user) is reached with that token only,
        # and its token reaches no other number: Graph answers as for an object it cannot see.
        pid = path.strip("/").split("/", 1)[0]
        if pid in cfg.numbers and not hmac.compare_digest(token.encode(), cfg.token_of(pid).encode()):
            return GraphError(100, f"Unsupported request. Object with ID '{pid}' does not exist, cannot be "
                                   "loaded due to missing permissions, or does not support this operation.",
                              subcode=33)
        return None

    async def _messages(
        self,
        phone_number_id: str,
        version: tuple[int, int],
        fault: _faults.Fault | None,
        scope: Scope,
        receive: Receive,
        send: Send,
        marketing: bool = False,
    ) -> None:
        state = self.state
        if phone_number_id not in state.config.numbers:
            err = GraphError(
                100,
                f"Unsupported post request. Object with ID '{phone_number_id}' does not "
                "exist, cannot be loaded due to missing permissions, or does not support "
                "this operation.",
                subcode=33,
            )
            await _send_json(send, err.http_status, err.body(state.ids.fbtrace_id()))
            return
        raw = await _read_body(receive)
        result = _sending.process(state, phone_number_id, raw, version, fault, marketing)
        if result.fault is not None:  # accepted, then the connection is lost
            await _drop(send, receive)
            return
        await _send_json(send, result.status, result.body)

    async def _act_out(self, fault: _faults.Fault, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        if fault.kind == "timeout":
            await asyncio.sleep(state.config.faults.timeout_s)
            await _drop(send, receive)
        elif fault.kind == "drop":
            await _drop(send, receive)
        else:
            code = _FAULT_CODES[fault.kind]
            err = GraphError(code, "Injected fault", http_status=_FAULT_STATUS[fault.kind])
            body = err.body(state.ids.fbtrace_id())
            body["error"]["is_transient"] = True
            await _send_json(send, err.http_status, body)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        tasks: list[asyncio.Task[None]] = []
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:  # report the reason to the server instead of hanging
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                for task in tasks:
                    task.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        """Start the background tasks (scheduler, webhook workers)."""
        self._scheduler_task = asyncio.create_task(self.state.scheduler.run())
        await self.state.dispatcher.start()

    async def stop(self) -> None:
        """Stop the background tasks."""
        task = getattr(self, "_scheduler_task", None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.state.dispatcher.stop()


def _token_error(code: int, details: str) -> GraphError:
    """A 401 whose message says what its details say (not the code's generic "Access token has expired")."""
    return GraphError(code, details, http_status=401, message=f"(#{code}) {details}")


_FAULT_CODES = {"http500": 1, "http503": 2, "drop": 0, "timeout": 0}
_FAULT_STATUS = {"http500": 500, "http503": 503, "drop": 0, "timeout": 0}


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON_HEADERS, (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _drop(send: Send, receive: Receive) -> None:
    """Close the TCP connection without any answer.

    ASGI has no "abort" event; uvicorn's ``send`` is a bound method of its request cycle, which holds
    the transport, so closing that transport drops the connection. Elsewhere we fall back to raising.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        # In-process (httpx.ASGITransport re-raises app exceptions) this reads as a dropped connection to
        # the caller; other servers answer it with a 500.
        import httpx

        raise httpx.RemoteProtocolError("Server disconnected without sending a response (sandbox fault).")
    transport.close()
    try:
        async with asyncio.timeout(1.0):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        pass


def create_sandbox_app(config: SandboxConfig | None = None, **overrides: Any) -> SandboxApp:
    """The sandbox ASGI app for ``config`` (or the defaults), with keyword overrides."""
    return SandboxApp(build_config(config, **overrides))
