"""Hypothesis against the sandbox's management routes: any body or query gets a Meta-shaped answer,
never a 500 (in-process over ASGI, like the gateway's schema fuzzing)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wacloud.sandbox import create_sandbox_app
from wacloud.sandbox._state import management_state

APP = create_sandbox_app(template_review_s=None)
CFG = APP.state.config
PID, WABA = CFG.phone_number_id, CFG.waba_id
_KEYS = [
    "messaging_product",
    "about",
    "address",
    "description",
    "email",
    "websites",
    "vertical",
    "profile_picture_handle",
    "pin",
    "code",
    "code_method",
    "language",
    "block_users",
    "user",
    "prefilled_message",
    "generate_qr_image",
    "override_callback_uri",
    "verify_token",
    "name",
    "categories",
    "flow_json",
    "publish",
    "clone_flow_id",
    "endpoint_uri",
    "webhook_configuration",
    "data_localization_region",
    "asset_type",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["whatsapp", "123456", "SMS", "en_US", "SVG", "https://x.example/h", "RETAIL", '["OTHER"]']),
)
bodies = st.recursive(
    scalars,
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(st.sampled_from(_KEYS), kids, max_size=5)),
    max_leaves=15,
)
ROUTES = [
    ("GET", f"{PID}/whatsapp_business_profile"),
    ("POST", f"{PID}/whatsapp_business_profile"),
    ("GET", f"{WABA}/phone_numbers"),
    ("GET", PID),
    ("POST", PID),
    ("POST", f"{PID}/register"),
    ("POST", f"{PID}/deregister"),
    ("POST", f"{PID}/request_code"),
    ("POST", f"{PID}/verify_code"),
    ("GET", f"{PID}/block_users"),
    ("POST", f"{PID}/block_users"),
    ("DELETE", f"{PID}/block_users"),
    ("GET", f"{PID}/message_qrdls"),
    ("POST", f"{PID}/message_qrdls"),
    ("GET", f"{PID}/message_qrdls/ABCDEFGHIJKLMN"),
    ("DELETE", f"{PID}/message_qrdls/ABCDEFGHIJKLMN"),
    ("GET", f"{WABA}/subscribed_apps"),
    ("POST", f"{WABA}/subscribed_apps"),
    ("GET", f"{WABA}/flows"),
    ("POST", f"{WABA}/flows"),
    ("POST", "1000000000000001/uploads"),
]


async def _call(method: str, path: str, body: Any, params: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        return await http.request(
            method, f"/v23.0/{path}", json=body, params=params, headers={"Authorization": f"Bearer {CFG.access_token}"}
        )


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_management_routes_never_answer_500(route: tuple[str, str]) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    @given(
        body=bodies,
        params=st.dictionaries(
            st.sampled_from(["fields", "limit", "after", "code", "file_name", "file_length", "file_type"]),
            st.text(max_size=12),
            max_size=3,
        ),
    )
    def fuzz(body: Any, params: dict[str, str]) -> None:
        management_state(APP.state).calls_per_hour = 10**9  # the budget is tested elsewhere
        method, path = route
        resp = asyncio.run(_call(method, path, body, params))
        assert resp.status_code < 500, (method, path, body, params, resp.text[:300])
        if resp.status_code >= 400:
            assert isinstance(resp.json()["error"]["code"], int)

    fuzz()
