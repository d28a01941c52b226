"""Sandbox routes for the management endpoints: business profile, phone numbers, registration, two-step
PIN, block users, QR codes, subscribed apps, flows and the resumable upload API.

``ROUTES`` are the Starlette routes of every family (one module each, ``_routes_*``), with paths *after*
the version prefix (the app strips the version, applies auth, and falls through to these routes for
paths its own routes do not take). Endpoints are module-level and read ``request.app.state.sandbox``.
Single-segment node paths (``/{phone-number-id}``, ``/{flow-id}``, ``/upload:{id}``) use
``_mgmt_http.NodeRoute``, which matches only ids its family owns.

WABA-level management calls count against a rolling-hour budget per WABA
(``_state.ManagementState.calls_per_hour``; by default Meta's 200, or 5,000 while a number is registered).
Over it they answer 80007; every such answer carries Meta's ``X-Business-Use-Case-Usage`` header. The
template routes of ``_routes_graph`` charge the same budget (``ManagementState.charge``), and
sends from a deregistered number answer 133010 (``ManagementState.is_registered``, read by ``sending``).
A sandbox reset renews this state through ``SandboxState.on_reset``.
The verification code the sandbox "sends" is ``ManagementState.verification_code`` ("123456").
"""

from __future__ import annotations

from starlette.routing import BaseRoute

import wacloud.sandbox._routes_apps as _routes_apps
import wacloud.sandbox._routes_blocked as _routes_blocked
import wacloud.sandbox._routes_flows as _routes_flows
import wacloud.sandbox._routes_identity as _routes_identity
import wacloud.sandbox._routes_phones as _routes_phones
import wacloud.sandbox._routes_profile as _routes_profile
import wacloud.sandbox._routes_qr as _routes_qr
import wacloud.sandbox._routes_uploads as _routes_uploads

#: Upload sessions and phone numbers first: their ``/{node_id}`` routes match only the ids they own.
ROUTES: list[BaseRoute] = [
    *_routes_uploads.ROUTES,
    *_routes_phones.ROUTES,
    *_routes_flows.ROUTES,
    *_routes_profile.ROUTES,
    *_routes_blocked.ROUTES,
    *_routes_qr.ROUTES,
    *_routes_apps.ROUTES,
    *_routes_identity.ROUTES,
]
