"""The control API's customers and messages: the simulated users, what they received and sent, and
injected inbound messages."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

import wacloud.sandbox._payloads as _payloads
from wacloud.sandbox._control_http import P, _body, _int, _obj, control_endpoint, customer
from wacloud.sandbox._errors import ControlError
from wacloud.sandbox._http import sandbox_of
from wacloud.sandbox._inbound import inject
from wacloud.sandbox._statuses import emit_status


async def customers(request: Request) -> Any:
    """GET/POST /_sandbox/customers."""
    state = sandbox_of(request)
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
    state = sandbox_of(request)
    wa_id = request.path_params["wa_id"]
    found = customer(state, wa_id)
    if request.method == "DELETE":
        del state.customers[found.wa_id]
        return {"success": True}
    if request.method in ("PATCH", "POST"):
        before = found.marketing_opt_out
        found.update(_obj(await _body(request)))
        if found.marketing_opt_out != before:
            # The user tapped "stop promotions" (or resumed): Meta tells the business.
            value = _payloads.user_preferences_value(state, found, state.clock.now())
            state.dispatcher.emit(found.wa_id, "user_preferences", value)
    return found.to_dict(state.clock.now())


async def change_number(request: Request) -> Any:
    """POST /_sandbox/customers/{wa_id}/number ``{"wa_id": "<new number>"}``: the customer changes number.

    The business gets Meta's ``user_changed_number`` system message; the customer gets a new BSUID."""
    state = sandbox_of(request)
    found = customer(state, request.path_params["wa_id"])
    new = _obj(await _body(request)).get("wa_id")
    system = {"type": "user_changed_number", "wa_id": new}
    sent = inject(state, {"from": found.phone or found.user_id, "system": system})
    return {**found.to_dict(state.clock.now()), "message_id": sent["id"]}


async def customer_messages(request: Request) -> Any:
    """GET /_sandbox/customers/{wa_id}/messages."""
    state = sandbox_of(request)
    wa_id = request.path_params["wa_id"]
    found = state.customers.get(wa_id) or state.customer_by_user_id(wa_id)
    wa_id = found.wa_id if found is not None else wa_id  # a customer may be named by BSUID
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
    state = sandbox_of(request)
    limit = _int(request, "limit", 1000)
    wa_id = request.query_params.get("wa_id")
    items = [m for m in state.messages.values() if wa_id is None or m.wa_id == wa_id]
    return {"messages": [m.to_dict() for m in items[-limit:]]}


async def one_message(request: Request) -> Any:
    """GET /_sandbox/messages/{wamid}."""
    state = sandbox_of(request)
    msg = state.messages.get(request.path_params["wamid"])
    if msg is None:
        raise ControlError("no such message", 404)
    return msg.to_dict()


async def read_message(request: Request) -> Any:
    """POST /_sandbox/messages/{wamid}/read: the customer opens a message now (its ``read`` status webhook).

    For customers with read receipts off (``read_receipts: false``), whose messages are not read by
    themselves: the sandbox phone's "mark read"."""
    state = sandbox_of(request)
    msg = state.messages.get(request.path_params["wamid"])
    if msg is None:
        raise ControlError("no such message", 404)
    if not any(s.get("status") in ("read", "played") for s in msg.statuses):
        if not any(s.get("status") == "delivered" for s in msg.statuses):
            emit_status(state, msg, "delivered")
        emit_status(state, msg, "read")
    return msg.to_dict()


async def inbound(request: Request) -> Any:
    """POST /_sandbox/inbound."""
    state = sandbox_of(request)
    return inject(state, _obj(await _body(request)))


ROUTES: list[BaseRoute] = [
    Route(f"{P}/customers", control_endpoint(customers), methods=["GET", "POST"]),
    Route(f"{P}/customers/{{wa_id}}", control_endpoint(one_customer), methods=["GET", "PATCH", "POST", "DELETE"]),
    Route(f"{P}/customers/{{wa_id}}/messages", control_endpoint(customer_messages), methods=["GET"]),
    Route(f"{P}/customers/{{wa_id}}/number", control_endpoint(change_number), methods=["POST"]),
    Route(f"{P}/messages", control_endpoint(messages), methods=["GET"]),
    Route(f"{P}/messages/{{wamid}}", control_endpoint(one_message), methods=["GET"]),
    Route(f"{P}/messages/{{wamid}}/read", control_endpoint(read_message), methods=["POST"]),
    Route(f"{P}/inbound", control_endpoint(inbound), methods=["POST"]),
]
