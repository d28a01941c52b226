"""The control API under ``/_sandbox/…``: customers, inbound messages, records, faults, clock, reset.

One module per family (``_control_core``, ``_control_customers``, ``_control_templates``); endpoints are
module-level functions reading ``request.app.state.sandbox``.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from wacloud.sandbox import (
    _control_calls,
    _control_core,
    _control_customers,
    _control_groups,
    _control_identity,
    _control_templates,
)

ROUTES: list[BaseRoute] = [
    *_control_core.ROUTES,
    *_control_customers.ROUTES,
    *_control_templates.ROUTES,
    *_control_calls.ROUTES,
    *_control_groups.ROUTES,
    *_control_identity.ROUTES,
]
