"""The control API under ``/_sandbox/…``: customers, inbound messages, records, faults, clock, reset."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from wacloud.sandbox import payloads
from wacloud.sandbox.config import MUTABLE_SETTINGS, check_setting
from wacloud.sandbox.errors import GraphError
from wacloud.sandbox.templates import STATUSES, make_template, set_status

if TYPE_CHECKING:
    from wacloud.sandbox.state import SandboxState

P = "/_sandbox"


class ControlError(Exception):
    """A bad control request (answered 400 with a reason, or 404)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: hostile deep nesting
        raise ControlError("the body is not valid JSON") from None


def _obj(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def _int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        raise ControlError(f"query parameter {name} must be an integer") from None


def _threshold(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ControlError("the pacing threshold must be a whole number of sends (0 or more) or null")
    return value if value is None else int(value)


def control_routes(state: SandboxState) -> list[BaseRoute]:
    """The control routes bound to ``state``."""

    def handler(fn: Any) -> Any:
        """Wrap an endpoint: control errors become 400/404 with a reason."""

        async def endpoint(request: Request) -> Response:
            """The wrapped endpoint."""
            try:
                result = await fn(request)
            except ControlError as exc:
                return JSONResponse({"error": exc.reason}, status_code=exc.status)
            except GraphError as exc:
                return JSONResponse({"error": exc.details, "code": exc.code}, status_code=400)
            except (ValueError, KeyError, TypeError) as exc:
                return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)
            return result if isinstance(result, Response) else JSONResponse(result)

        return endpoint

    def customer(wa_id: str) -> Any:
        """The customer ``wa_id`` or a 404."""
        found = state.customers.get(wa_id)
        if found is None:
            raise ControlError(f"no customer {wa_id}", 404)
        return found

    async def info(request: Request) -> Any:
        """GET /_sandbox/: ids, clock and counts."""
        cfg = state.config
        return {
            "phone_number_id": cfg.phone_number_id,
            "display_phone_number": cfg.display_phone_number,
            "waba_id": cfg.waba_id,
            "phone_numbers": cfg.numbers,
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
        state.reset()
        await state.dispatcher.settle()
        return {"success": True}

    async def config(request: Request) -> Any:
        """GET/POST /_sandbox/config."""
        if request.method == "POST":
            data = _obj(await _body(request))
            from wacloud.sandbox.runner import build_config

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
        if request.method == "POST":
            data = _obj(await _body(request))
            try:
                state.config.faults.update(data)
            except KeyError as exc:
                raise ControlError(f"unknown fault {exc.args[0]!r}") from None
            except ValueError as exc:
                raise ControlError(str(exc)) from None
        elif request.method == "DELETE":
            from wacloud.sandbox.config import Faults

            state.config.faults = Faults()
        return state.config.faults.as_dict()

    async def clock(request: Request) -> Any:
        """GET /_sandbox/clock."""
        return {"now": state.clock.now(), "frozen": state.clock.frozen}

    async def clock_advance(request: Request) -> Any:
        """POST /_sandbox/clock/advance."""
        data = _obj(await _body(request))
        seconds = data.get("seconds", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ControlError("seconds must be a number >= 0")
        state.clock.advance(float(seconds))
        state.scheduler.run_due()
        return {"now": state.clock.now(), "frozen": state.clock.frozen}

    async def clock_freeze(request: Request) -> Any:
        """POST /_sandbox/clock/freeze."""
        state.clock.freeze()
        return {"now": state.clock.now(), "frozen": True}

    async def clock_unfreeze(request: Request) -> Any:
        """POST /_sandbox/clock/unfreeze."""
        state.clock.unfreeze()
        return {"now": state.clock.now(), "frozen": False}

    async def customers(request: Request) -> Any:
        """GET/POST /_sandbox/customers."""
        now = state.clock.now()
        if request.method == "POST":
            data = await _body(request)
            items = data.get("customers") if isinstance(data, dict) and "customers" in data else data
            items = items if isinstance(items, list) else [items]
            created = [state.add_customer(_obj(item)).to_dict(now) for item in items]
            return (
                created[0]
                if len(created) == 1 and not isinstance(data, list) and "customers" not in data
                else {"customers": created}
            )
        return {"customers": [c.to_dict(now) for c in state.customers.values()]}

    async def one_customer(request: Request) -> Any:
        """GET/PATCH/POST/DELETE /_sandbox/customers/{wa_id}."""
        wa_id = request.path_params["wa_id"]
        found = customer(wa_id)
        if request.method == "DELETE":
            del state.customers[wa_id]
            return {"success": True}
        if request.method in ("PATCH", "POST"):
            before = found.marketing_opt_out
            found.update(_obj(await _body(request)))
            if found.marketing_opt_out != before:
                # The user tapped "stop promotions" (or resumed): Meta tells the business.
                value = payloads.user_preferences_value(state, found, state.clock.now())
                state.dispatcher.emit(found.wa_id, "user_preferences", value)
        return found.to_dict(state.clock.now())

    async def customer_messages(request: Request) -> Any:
        """GET /_sandbox/customers/{wa_id}/messages."""
        wa_id = request.path_params["wa_id"]
        ids = state.by_customer.get(wa_id, [])
        received = [state.messages[i].to_dict() for i in ids if i in state.messages]
        sent = [
            {"id": m.id, "type": m.type, "timestamp": m.timestamp, "read": m.read, "message": m.message}
            for m in state.inbound.values()
            if m.wa_id == wa_id
        ]
        return {"wa_id": wa_id, "received": received, "sent": sent}

    async def messages(request: Request) -> Any:
        """GET /_sandbox/messages."""
        limit = _int(request, "limit", 1000)
        wa_id = request.query_params.get("wa_id")
        items = [m for m in state.messages.values() if wa_id is None or m.wa_id == wa_id]
        return {"messages": [m.to_dict() for m in items[-limit:]]}

    async def one_message(request: Request) -> Any:
        """GET /_sandbox/messages/{wamid}."""
        msg = state.messages.get(request.path_params["wamid"])
        if msg is None:
            raise ControlError("no such message", 404)
        return msg.to_dict()

    async def log(request: Request) -> Any:
        """GET /_sandbox/log."""
        since = _int(request, "since", 0)
        limit = _int(request, "limit", 100_000)
        items = [a.to_dict() for a in state.attempts if a.seq > since]
        return {"attempts": items[:limit], "last_seq": state.attempt_seq}

    async def stats(request: Request) -> Any:
        """GET /_sandbox/stats."""
        return state.stats()

    async def webhooks(request: Request) -> Any:
        """GET /_sandbox/webhooks."""
        since = _int(request, "since", 0)
        return {
            "deliveries": [d for d in state.webhook_log if d["id"] > since],
            "stats": dict(state.webhook_stats),
            "pending": state.dispatcher.pending(),
        }

    async def templates(request: Request) -> Any:
        """GET/POST /_sandbox/templates."""
        if request.method == "POST":
            data = _obj(await _body(request))
            status = str(data.pop("status", "APPROVED")).upper()
            if status not in STATUSES:
                raise ControlError(f"status must be one of {sorted(STATUSES)}")
            paced = data.pop("pacing", False)
            threshold = data.pop("pacing_threshold", None)
            if not isinstance(paced, bool):
                raise ControlError("pacing must be true or false")
            _threshold(threshold)
            # Upsert: replace any template with the same name and language.
            for tpl_id, tpl in list(state.templates.items()):
                if tpl.name == data.get("name") and tpl.language == data.get("language"):
                    del state.templates[tpl_id]
            created = make_template(state, data, status=status)
            created.pacing.threshold = threshold
            if paced:
                created.pacing.start()
            return created.to_graph()
        return {"templates": [t.to_graph() for t in state.templates.values()]}

    async def template_status(request: Request) -> Any:
        """POST /_sandbox/templates/{template_id}/status."""
        tpl = state.templates.get(request.path_params["template_id"])
        if tpl is None:
            raise ControlError("no such template", 404)
        data = _obj(await _body(request))
        status = data.get("status")
        if not isinstance(status, str):
            raise ControlError("status is required")
        set_status(state, tpl, status, data.get("reason"))
        return tpl.to_graph()

    async def template_pacing(request: Request) -> Any:
        """GET/POST /_sandbox/templates/{template_id}/pacing: pace a template, or give its quality signal."""
        from wacloud.sandbox import pacing

        tpl = state.templates.get(request.path_params["template_id"])
        if tpl is None:
            raise ControlError("no such template", 404)
        if request.method == "GET":
            return tpl.pacing.view(state)
        data = _obj(await _body(request))
        unknown = set(data) - {"pacing", "threshold", "assessment"}
        if unknown:
            raise ControlError(f"unknown key(s) {sorted(unknown)}; use pacing, threshold, assessment")
        if "threshold" in data:
            tpl.pacing.threshold = _threshold(data["threshold"])
        if "pacing" in data:
            if not isinstance(data["pacing"], bool):
                raise ControlError("pacing must be true or false")
            if data["pacing"]:
                tpl.pacing.start()
            else:
                tpl.pacing.enabled = False
        assessment = data.get("assessment")
        if assessment == "good":
            pacing.release(state, tpl)
        elif assessment == "bad":
            set_status(state, tpl, "PAUSED", "LOW_QUALITY")  # drops the held messages with 132015
        elif assessment is not None:
            raise ControlError('assessment must be "good" or "bad"')
        return tpl.pacing.view(state)

    async def inbound(request: Request) -> Any:
        """POST /_sandbox/inbound."""
        from wacloud.sandbox.inbound import inject

        return inject(state, _obj(await _body(request)))

    async def system_error(request: Request) -> Any:
        """POST /_sandbox/errors: an out-of-band ``errors`` webhook (system, app or account problems)."""
        data = _obj(await _body(request))
        code = data.get("code")
        if isinstance(code, bool) or not isinstance(code, int):
            raise ControlError("code (an integer error code) is required")
        details = data.get("details")
        value = {
            "messaging_product": "whatsapp",
            "metadata": payloads.metadata(state),
            "errors": [payloads.error_item(code, details if isinstance(details, str) else None)],
        }
        state.dispatcher.emit("errors", "messages", value)
        return {"payload": payloads.envelope(state, "messages", value)}

    async def verify_webhook(request: Request) -> Any:
        """POST /_sandbox/verify-webhook: Meta's GET handshake against the webhook URL.

        The answer is the outcome only (status, whether the challenge came back), never the fetched
        body: the control API must not become a way to read arbitrary URLs from the sandbox's host."""
        import httpx

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
            async with httpx.AsyncClient(timeout=state.config.webhook_timeout_s) as client, \
                    client.stream("GET", url, params=params) as answer:
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

    def _r(path: str, fn: Any, methods: list[str]) -> BaseRoute:
        return Route(path, handler(fn), methods=methods)

    routes: list[BaseRoute] = [
        _r(f"{P}/", info, methods=["GET"]),
        _r(f"{P}", info, methods=["GET"]),
        _r(f"{P}/health", health, methods=["GET"]),
        _r(f"{P}/reset", reset, methods=["POST"]),
        _r(f"{P}/config", config, methods=["GET", "POST"]),
        _r(f"{P}/faults", faults, methods=["GET", "POST", "DELETE"]),
        _r(f"{P}/clock", clock, methods=["GET"]),
        _r(f"{P}/clock/advance", clock_advance, methods=["POST"]),
        _r(f"{P}/clock/freeze", clock_freeze, methods=["POST"]),
        _r(f"{P}/clock/unfreeze", clock_unfreeze, methods=["POST"]),
        _r(f"{P}/customers", customers, methods=["GET", "POST"]),
        _r(f"{P}/customers/{{wa_id}}", one_customer, methods=["GET", "PATCH", "POST", "DELETE"]),
        _r(f"{P}/customers/{{wa_id}}/messages", customer_messages, methods=["GET"]),
        _r(f"{P}/messages", messages, methods=["GET"]),
        _r(f"{P}/messages/{{wamid}}", one_message, methods=["GET"]),
        _r(f"{P}/log", log, methods=["GET"]),
        _r(f"{P}/stats", stats, methods=["GET"]),
        _r(f"{P}/webhooks", webhooks, methods=["GET"]),
        _r(f"{P}/templates", templates, methods=["GET", "POST"]),
        _r(f"{P}/templates/{{template_id}}/status", template_status, methods=["POST"]),
        _r(f"{P}/templates/{{template_id}}/pacing", template_pacing, methods=["GET", "POST"]),
        _r(f"{P}/inbound", inbound, methods=["POST"]),
        _r(f"{P}/errors", system_error, methods=["POST"]),
        _r(f"{P}/verify-webhook", verify_webhook, methods=["POST"]),
    ]
    return routes
