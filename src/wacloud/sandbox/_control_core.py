"""The control API's sandbox-wide endpoints: info, health, reset, settings, faults, the clock, the attempt
log, stats, webhooks, out-of-band errors and the webhook handshake check."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

import wacloud.sandbox._payloads as _payloads
from wacloud.sandbox._config import MUTABLE_SETTINGS, Faults, build_config, check_setting
from wacloud.sandbox._control_http import P, _body, _int, _obj, control_endpoint
from wacloud.sandbox._errors import ControlError
from wacloud.sandbox._http import sandbox_of


async def info(request: Request) -> Any:
    """GET /_sandbox/: ids, clock and counts."""
    state = sandbox_of(request)
    cfg = state.config
    return {
        "phone_number_id": cfg.phone_number_id,
        "display_phone_number": cfg.display_phone_number,
        "waba_id": cfg.waba_id,
        "phone_numbers": cfg.numbers,
        "phone_number_wabas": {pid: cfg.waba_of(pid) for pid in cfg.numbers},
        "version": cfg.default_version,
        "now": state.clock.now(),
        "frozen": state.clock.frozen,
        "customers": len(state.customers),
        "messages": len(state.messages),
        "templates": len(state.templates),
        "pending_callbacks": state.scheduler.pending(),
        "due_callbacks": state.scheduler.due(),
        "due_soon_callbacks": state.scheduler.due(within=2.0),
        "pending_webhooks": state.dispatcher.pending(),
    }


async def health(request: Request) -> Any:
    """GET /_sandbox/health."""
    return {"status": "ok"}


async def reset(request: Request) -> Any:
    """POST /_sandbox/reset."""
    state = sandbox_of(request)
    state.reset()
    await state.dispatcher.settle()
    return {"success": True}


async def config(request: Request) -> Any:
    """GET/POST /_sandbox/config."""
    state = sandbox_of(request)
    if request.method == "POST":
        data = _obj(await _body(request))
        bad = sorted(set(data) - MUTABLE_SETTINGS)
        if bad:
            raise ControlError(f"settings that can't be changed at run time: {bad}")
        try:
            for key, value in data.items():
                check_setting(key, value)
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        new = build_config(state.config, **data)
        for key in data:
            setattr(state.config, key, getattr(new, key))
        state.reconfigure_limits()
    return state.config.public_dict()


async def faults(request: Request) -> Any:
    """GET/POST/DELETE /_sandbox/faults."""
    state = sandbox_of(request)
    if request.method == "POST":
        data = _obj(await _body(request))
        try:
            state.config.faults.update(data)
        except KeyError as exc:
            raise ControlError(f"unknown fault {exc.args[0]!r}") from None
        except ValueError as exc:
            raise ControlError(str(exc)) from None
    elif request.method == "DELETE":
        state.config.faults = Faults()
    return state.config.faults.as_dict()


async def clock(request: Request) -> Any:
    """GET /_sandbox/clock."""
    state = sandbox_of(request)
    return {"now": state.clock.now(), "frozen": state.clock.frozen}


async def clock_advance(request: Request) -> Any:
    """POST /_sandbox/clock/advance."""
    state = sandbox_of(request)
    data = _obj(await _body(request))
    seconds = data.get("seconds", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise ControlError("seconds must be a number >= 0")
    state.clock.advance(float(seconds))
    state.scheduler.run_due()
    return {"now": state.clock.now(), "frozen": state.clock.frozen}


async def clock_freeze(request: Request) -> Any:
    """POST /_sandbox/clock/freeze."""
    state = sandbox_of(request)
    state.clock.freeze()
    return {"now": state.clock.now(), "frozen": True}


async def clock_unfreeze(request: Request) -> Any:
    """POST /_sandbox/clock/unfreeze."""
    state = sandbox_of(request)
    state.clock.unfreeze()
    return {"now": state.clock.now(), "frozen": False}


async def log(request: Request) -> Any:
    """GET /_sandbox/log."""
    state = sandbox_of(request)
    since = _int(request, "since", 0)
    limit = _int(request, "limit", 100_000)
    items = [a.to_dict() for a in state.attempts if a.seq > since]
    return {"attempts": items[:limit], "last_seq": state.attempt_seq}


async def stats(request: Request) -> Any:
    """GET /_sandbox/stats."""
    state = sandbox_of(request)
    return state.stats()


async def webhooks(request: Request) -> Any:
    """GET /_sandbox/webhooks."""
    state = sandbox_of(request)
    since = _int(request, "since", 0)
    return {
        "deliveries": [d for d in state.webhook_log if d["id"] > since],
        "stats": dict(state.webhook_stats),
        "pending": state.dispatcher.pending(),
    }


async def system_error(request: Request) -> Any:
    """POST /_sandbox/errors: an out-of-band ``errors`` webhook (system, app or account problems)."""
    state = sandbox_of(request)
    data = _obj(await _body(request))
    code = data.get("code")
    if isinstance(code, bool) or not isinstance(code, int):
        raise ControlError("code (an integer error code) is required")
    details = data.get("details")
    value = {
        "messaging_product": "whatsapp",
        "metadata": _payloads.metadata(state),
        "errors": [_payloads.error_item(code, details if isinstance(details, str) else None)],
    }
    state.dispatcher.emit("errors", "messages", value)
    return {"payload": _payloads.envelope(state, "messages", value)}


async def verify_webhook(request: Request) -> Any:
    """POST /_sandbox/verify-webhook: Meta's GET handshake against the webhook URL.

    The answer is the outcome only (status, whether the challenge came back), never the fetched
    body: the control API must not become a way to read arbitrary URLs from the sandbox's host."""
    state = sandbox_of(request)
    data = _obj(await _body(request))
    url = data.get("url") or state.config.webhook_url
    token = data.get("verify_token")
    if not isinstance(token, str):
        raise ControlError("verify_token is required (a string)")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ControlError("url must be an http:// or https:// URL (or leave it out to use webhook_url)")
    challenge = state.ids.token(10)
    params = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": token}
    try:
        async with (
            httpx.AsyncClient(timeout=state.config.webhook_timeout_s) as client,
            client.stream("GET", url, params=params) as answer,
        ):
            # Only as much as an echoed challenge can be: a huge answer is read no further.
            head = b""
            async for chunk in answer.aiter_bytes():
                head += chunk
                if len(head) > len(challenge):
                    break
    except (httpx.HTTPError, ValueError) as exc:  # ValueError: a URL httpx cannot use
        return {"ok": False, "status": None, "challenge_matched": False, "error": type(exc).__name__}
    matched = answer.status_code == 200 and head == challenge.encode()
    return {"ok": matched, "status": answer.status_code, "challenge_matched": matched}


ROUTES: list[BaseRoute] = [
    Route(f"{P}/", control_endpoint(info), methods=["GET"]),
    Route(f"{P}", control_endpoint(info), methods=["GET"]),
    Route(f"{P}/health", control_endpoint(health), methods=["GET"]),
    Route(f"{P}/reset", control_endpoint(reset), methods=["POST"]),
    Route(f"{P}/config", control_endpoint(config), methods=["GET", "POST"]),
    Route(f"{P}/faults", control_endpoint(faults), methods=["GET", "POST", "DELETE"]),
    Route(f"{P}/clock", control_endpoint(clock), methods=["GET"]),
    Route(f"{P}/clock/advance", control_endpoint(clock_advance), methods=["POST"]),
    Route(f"{P}/clock/freeze", control_endpoint(clock_freeze), methods=["POST"]),
    Route(f"{P}/clock/unfreeze", control_endpoint(clock_unfreeze), methods=["POST"]),
    Route(f"{P}/log", control_endpoint(log), methods=["GET"]),
    Route(f"{P}/stats", control_endpoint(stats), methods=["GET"]),
    Route(f"{P}/webhooks", control_endpoint(webhooks), methods=["GET"]),
    Route(f"{P}/errors", control_endpoint(system_error), methods=["POST"]),
    Route(f"{P}/verify-webhook", control_endpoint(verify_webhook), methods=["POST"]),
]
