"""The control API under ``/_sandbox/…``: customers, inbound messages, records, faults, clock, reset.

One module per family (``_control_core``, ``_control_customers``, ``_control_templates``); endpoints are
module-level functions reading ``request.app.state.sandbox``.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

import wacloud.sandbox._control_calls as _control_calls
import wacloud.sandbox._control_coexistence as _control_coexistence
import wacloud.sandbox._control_core as _control_core
import wacloud.sandbox._control_customers as _control_customers
import wacloud.sandbox._control_groups as _control_groups
import wacloud.sandbox._control_identity as _control_identity
import wacloud.sandbox._control_limits as _control_limits
import wacloud.sandbox._control_templates as _control_templates

ROUTES: list[BaseRoute] = [
    *_control_core.ROUTES,
    *_control_customers.ROUTES,
    *_control_templates.ROUTES,
    *_control_limits.ROUTES,
    *_control_calls.ROUTES,
    *_control_groups.ROUTES,
    *_control_identity.ROUTES,
    *_control_coexistence.ROUTES,
]
