"""Block users: ``GET``/``POST``/``DELETE /{phone-number-id}/block_users``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from wacloud import limits
from wacloud.sandbox._errors import GraphError
from wacloud.sandbox._http import (
    answer,
    json_body,
    param,
    require_phone,
    sandbox_of,
    wa_id,
)
from wacloud.sandbox._state import ManagementState


def users_of(body: Mapping[str, Any]) -> list[str]:
    if body.get("messaging_product") != "whatsapp":
        raise GraphError(131008, "The parameter messaging_product is required and must be 'whatsapp'.")
    items = body.get("block_users")
    if items is None:
        raise GraphError(131008, "The parameter block_users is required.")
    lim = limits.limit("block_users.per_request")
    if not isinstance(items, list) or not lim.min <= len(items) <= lim.max:
        raise param(f"Param block_users must be an array of {lim.min} to {lim.max} users.")
    users = []
    for i, item in enumerate(items):
        user = item.get("user") if isinstance(item, dict) else None
        if not isinstance(user, str) or not user.strip():
            raise GraphError(131009, f"Param block_users[{i}].user must be a phone number or wa_id.")
        users.append(user)
    return users


def failed(user: str, details: str) -> dict[str, Any]:
    return {
        "input": user,
        "wa_id": wa_id(user),
        "errors": [{"message": "(#139100) Bulk block failed", "code": 139100, "error_data": {"details": details}}],
    }


async def list_blocked(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    require_phone(state, request)
    data = [{"messaging_product": "whatsapp", "wa_id": c.wa_id} for c in state.customers.values() if c.blocked]
    try:
        limit = int(request.query_params.get("limit", "100"))
        offset = int(request.query_params.get("after", "0") or 0)
    except ValueError:
        raise param("Params limit and after must be integers.") from None
    page = data[offset : offset + max(1, limit)]
    paging: dict[str, Any] = {"cursors": {"before": str(offset), "after": str(offset + len(page))}}
    if offset + len(page) < len(data):
        paging["next"] = str(request.url.include_query_params(after=offset + len(page)))
    return {"data": page, "paging": paging}


async def block(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    require_phone(state, request)
    users = users_of(await json_body(request))
    now = state.clock.now()
    total = sum(1 for c in state.customers.values() if c.blocked)
    cap = limits.limit("block_users.total").max
    added, failures = [], []
    for user in users:
        customer = state.customers.get(wa_id(user))
        if customer is None or not customer.window_open(now):
            # Meta: only users who messaged the business in the last 24 hours can be blocked.
            failures.append(failed(user, "Only users who messaged you in the last 24 hours can be blocked."))
            continue
        if not customer.blocked:
            if total >= cap:
                raise GraphError(139101, f"The blocklist already holds {cap} users.")
            customer.blocked = True
            total += 1
        added.append({"input": user, "wa_id": customer.wa_id})
    result: dict[str, Any] = {"added_users": added}
    if failures:
        result["failed_users"] = failures
    return {"messaging_product": "whatsapp", "block_users": result}


async def unblock(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    require_phone(state, request)
    users = users_of(await json_body(request))
    removed, failures = [], []
    for user in users:
        customer = state.customers.get(wa_id(user))
        if customer is None or not customer.blocked:
            failures.append(failed(user, "This user is not blocked."))
            continue
        customer.blocked = False
        removed.append({"input": user, "wa_id": customer.wa_id})
    result: dict[str, Any] = {"removed_users": removed}
    if failures:
        result["failed_users"] = failures
    return {"messaging_product": "whatsapp", "block_users": result}


path = "/{phone_id}/block_users"


_PATH = "/{phone_id}/block_users"
ROUTES: list[BaseRoute] = [
    Route(_PATH, answer(list_blocked), methods=["GET"]),
    Route(_PATH, answer(block), methods=["POST"]),
    Route(_PATH, answer(unblock), methods=["DELETE"]),
]
