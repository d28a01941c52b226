"""Template operations of the sandbox beyond create/edit/delete: a small template library, creating a
template from it, archive/unarchive, unpause, compare and migrate.

The library is sandbox data (a few utility templates in the shape Meta's library answers), not Meta's
catalogue. The sandbox keeps one template store for all its WABAs, so a migration reports what Meta would
migrate (approved, non-authentication templates) without copying them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from wacloud.sandbox._errors import GraphError
from wacloud.sandbox._templates import make_template, set_status

if TYPE_CHECKING:
    from wacloud.sandbox._model import Template
    from wacloud.sandbox._state import SandboxState

_WINDOWS_S = frozenset({7 * 86400, 30 * 86400, 60 * 86400, 90 * 86400})

#: The sandbox's template library (``GET /message_template_library``).
LIBRARY: list[dict[str, Any]] = [
    {
        "name": "delivery_update_1",
        "language": "en_US",
        "category": "UTILITY",
        "topic": "ORDER_MANAGEMENT",
        "usecase": "DELIVERY_UPDATE",
        "industry": ["E_COMMERCE"],
        "body": "Good news {{1}}! Your order {{2}} is on its way.",
        "body_params": ["Ana", "#1234"],
        "buttons": [{"type": "URL", "text": "Track order", "url": "https://www.example.com/{{1}}"}],
        "id": "7001000000000001",
    },
    {
        "name": "appointment_reminder_1",
        "language": "en_US",
        "category": "UTILITY",
        "topic": "CUSTOMER_CARE",
        "usecase": "APPOINTMENT_REMINDER",
        "industry": ["HEALTH"],
        "body": "Hi {{1}}, this is a reminder of your appointment on {{2}}.",
        "body_params": ["Ana", "Monday 10:00"],
        "buttons": [{"type": "PHONE_NUMBER", "text": "Call us"}, {"type": "QUICK_REPLY", "text": "Cancel"}],
        "id": "7001000000000002",
    },
    {
        "name": "payment_reminder_1",
        "language": "es_ES",
        "category": "UTILITY",
        "topic": "PAYMENTS",
        "usecase": "PAYMENT_REMINDER",
        "industry": ["FINANCIAL_SERVICES"],
        "body": "Hola {{1}}, tu pago de {{2}} vence pronto.",
        "body_params": ["Ana", "10 EUR"],
        "buttons": [],
        "id": "7001000000000003",
    },
]


def _param(details: str, subcode: int | None = None) -> GraphError:
    return GraphError(100, details, subcode=subcode, message=f"(#100) {details}")


def browse(query: dict[str, str]) -> list[dict[str, Any]]:
    """The library entries matching ``search`` (in name or body), ``topic``, ``usecase``, ``industry``, ``language``."""
    out = []
    for item in LIBRARY:
        text = query.get("search", "").lower()
        if text and text not in item["name"] and text not in item["body"].lower():
            continue
        if any(query.get(k) and query[k].upper() != item[k] for k in ("topic", "usecase")):
            continue
        if query.get("industry") and query["industry"].upper() not in item["industry"]:
            continue
        if query.get("language") and query["language"] != item["language"]:
            continue
        out.append(item)
    return out


def create_from_library(state: SandboxState, data: dict[str, Any]) -> Template:
    """``POST /{waba}/message_templates`` with ``library_template_name``: pre-approved, category fixed."""
    lib_name = data.get("library_template_name")
    item = next((i for i in LIBRARY if i["name"] == lib_name and i["language"] == data.get("language")), None)
    if item is None:
        raise _param(f"No library template {lib_name!r} in language {data.get('language')!r}.")
    if str(data.get("category", "")).upper() != item["category"]:
        raise _param(f"Library template {lib_name!r} is a {item['category']} template; its category is fixed.")
    inputs = data.get("library_template_button_inputs") or []
    if not isinstance(inputs, list):
        raise _param("Param library_template_button_inputs must be an array.")
    buttons = []
    for button in item["buttons"]:
        btype = button["type"]
        given = next((i for i in inputs if isinstance(i, dict) and str(i.get("type", "")).upper() == btype), None)
        out = dict(button)
        if btype == "URL":
            url = (given or {}).get("url")
            base = url.get("base_url") if isinstance(url, dict) else None
            if not isinstance(url, dict) or not isinstance(base, str) or not base.startswith(("https://", "http://")):
                raise _param("The library template's URL button needs library_template_button_inputs url.base_url.")
            out["url"] = base.rstrip("/") + "/{{1}}"
            out["example"] = [base.rstrip("/") + "/" + str(url.get("url_suffix_example", "x"))]
        elif btype == "PHONE_NUMBER":
            phone = (given or {}).get("phone_number")
            if not isinstance(phone, str) or not phone.strip():
                raise _param("The library template's PHONE_NUMBER button needs library_template_button_inputs "
                             "phone_number.")
            out["phone_number"] = phone
        buttons.append(out)
    components: list[dict[str, Any]] = [
        {"type": "BODY", "text": item["body"], "example": {"body_text": [item["body_params"]]}}
    ]
    if buttons:
        components.append({"type": "BUTTONS", "buttons": buttons})
    body = {"name": data.get("name"), "language": item["language"], "category": item["category"],
            "components": components}
    tpl = make_template(state, body, status="APPROVED")  # library templates are pre-approved
    tpl.library_template_name = item["name"]
    return tpl


def template_of(state: SandboxState, template_id: str, method: str) -> Template:
    """The template with this id, or Meta's 100/33 for an unknown object."""
    tpl = state.templates.get(template_id)
    if tpl is None:
        raise GraphError(100, f"Unsupported {method.lower()} request. Object with ID '{template_id}' does not exist, "
                         "cannot be loaded due to missing permissions, or does not support this operation.",
                         subcode=33)
    return tpl


def archive(state: SandboxState, tpl: Template) -> None:
    """Archive: remember the status to go back to; a DISABLED or already archived template is refused."""
    if tpl.status in ("ARCHIVED", "DISABLED", "PENDING_DELETION"):
        raise _param(f"Template {tpl.name} is {tpl.status} and can't be archived.")
    tpl.archived_from = tpl.status
    set_status(state, tpl, "ARCHIVED")


def unarchive(state: SandboxState, tpl: Template) -> None:
    """Unarchive: back to the status the template had."""
    if tpl.status != "ARCHIVED":
        raise _param(f"Template {tpl.name} is not archived.")
    set_status(state, tpl, tpl.archived_from or "APPROVED")
    tpl.archived_from = None


def unpause(state: SandboxState, tpl: Template) -> None:
    """A PAUSED template goes back to APPROVED (and is paced again, as Meta does)."""
    if tpl.status != "PAUSED":
        raise _param(f"Template {tpl.name} is {tpl.status}, not PAUSED; only a paused template can be unpaused.")
    set_status(state, tpl, "APPROVED")


def compare(state: SandboxState, tpl: Template, query: dict[str, str]) -> dict[str, Any]:
    """``GET /{template-id}/compare``: exactly one other template of the WABA and a 7/30/60/90-day window."""
    try:
        others = [str(i) for i in json.loads(query.get("template_ids", ""))]
        start, end = int(query["start"]), int(query["end"])
    except (ValueError, KeyError, TypeError):
        raise _param("Params template_ids (a JSON array), start and end (Unix seconds) are required.") from None
    if len(others) != 1:
        raise _param("Param template_ids must contain exactly one template id.")
    other = template_of(state, others[0], "GET")
    if other.id == tpl.id:
        raise _param("Compare a template with another template.")
    if end - start not in _WINDOWS_S:
        raise _param("The timeframe (end - start) must be exactly 7, 30, 60 or 90 days.")
    ids = [tpl.id, other.id]
    # The sandbox keeps no block statistics: both rank equal, with no sends and no block reason.
    return {
        "data": [
            {"metric": "BLOCK_RATE", "type": "RELATIVE", "order_by_relative_metric": ids},
            {"metric": "MESSAGE_SENDS", "type": "NUMBER_VALUES",
             "number_values": [{"key": i, "value": 0} for i in ids]},
            {"metric": "TOP_BLOCK_REASON", "type": "STRING_VALUES",
             "string_values": [{"key": i, "value": "NO_DATA"} for i in ids]},
        ]
    }


def migrate(state: SandboxState, dest: str, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /{dest-waba}/migrate_message_templates``: what would move from ``source_waba_id``."""
    source = body.get("source_waba_id")
    if not isinstance(source, str) or not source:
        raise GraphError(131008, "The parameter source_waba_id is required.")
    if source not in state.config.wabas:
        raise _param(f"Unknown source WhatsApp Business Account {source!r}.")
    if source == dest:
        raise _param("The source and destination WhatsApp Business Accounts must differ.")
    page = body.get("page_number", 0)
    if not isinstance(page, int) or isinstance(page, bool) or page < 0:
        raise _param("Param page_number must be a non-negative integer.")
    migrated: list[str] = []
    failed: dict[str, str] = {}
    for tpl in list(state.templates.values())[page * 500 : (page + 1) * 500]:
        if tpl.status != "APPROVED":
            failed[tpl.id] = f"Only approved templates can be migrated (this one is {tpl.status})."
        elif tpl.category == "AUTHENTICATION":
            failed[tpl.id] = "Authentication templates can't be migrated."
        else:
            migrated.append(tpl.id)
    return {"migrated_templates": migrated, "failed_templates": failed}
