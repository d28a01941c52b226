"""Message templates: the stored definitions, creation rules, send-time checks and the seeded samples."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import wacloud.sandbox._pacing as _pacing
import wacloud.sandbox._template_rules as _template_rules
from wacloud.limits import LIMITS
from wacloud.sandbox._errors import GraphError, param
from wacloud.sandbox._model import Template
from wacloud.sandbox._validate_base import ParsedSend, TemplateComponentSend

if TYPE_CHECKING:
    from wacloud.sandbox._state import SandboxState

CATEGORIES = frozenset({"MARKETING", "UTILITY", "AUTHENTICATION"})
STATUSES = frozenset(
    {
        "APPROVED",
        "PENDING",
        "REJECTED",
        "PAUSED",
        "DISABLED",
        "IN_APPEAL",
        "FLAGGED",
        "PENDING_DELETION",
        "ARCHIVED",
        "LIMIT_EXCEEDED",
        "LOCKED",
        "REINSTATED",
    }
)
_NAME = re.compile(r"^[a-z0-9_]+$")
_VAR = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_NAMED_VAR = re.compile(r"^[a-z_][a-z0-9_]*$")
_HEADER_FORMATS = _template_rules.HEADER_FORMATS
_BUTTON_TYPES = _template_rules.BUTTON_TYPES
#: Which send ``sub_type`` fits which button type of the template.
_SUB_TYPES = {
    "quick_reply": {"QUICK_REPLY"},
    "url": {"URL", "OTP"},
    "copy_code": {"COPY_CODE", "OTP"},
    "flow": {"FLOW"},
    "catalog": {"CATALOG"},
    "mpm": {"MPM"},
    "spm": {"SPM"},
    "voice_call": {"VOICE_CALL"},
    "phone_number": {"PHONE_NUMBER"},
}
_BAD_TEXT = re.compile(r"[\n\t]| {5,}")


def _tpl_error(subcode: int, details: str) -> GraphError:
    return GraphError(100, details, subcode=subcode)


def analyse(components: Any, category: str, parameter_format: str) -> dict[str, Any]:
    """Check creation-format components (Meta's rules and subcodes) and derive what sends need."""
    if not isinstance(components, list) or not components:
        raise _tpl_error(2388039, "Param components must be a non-empty array.")
    out: dict[str, Any] = {
        "header_format": None,
        "header_vars": [],
        "header_text": "",
        "body_text": "",
        "body_vars": [],
        "buttons": [],
    }
    seen: set[str] = set()
    named = parameter_format == "NAMED"
    for i, comp in enumerate(components):
        if not isinstance(comp, dict) or not isinstance(comp.get("type"), str):
            raise _tpl_error(2388039, f"components[{i}] must be an object with a type.")
        ctype = comp["type"].upper()
        if ctype in seen:
            raise _tpl_error(2388039, f"components: more than one {ctype} component.")
        seen.add(ctype)
        if ctype == "HEADER":
            fmt = str(comp.get("format", "")).upper()
            if fmt not in _HEADER_FORMATS:
                raise _tpl_error(2388047, f"Invalid header format {comp.get('format')!r}.")
            out["header_format"] = fmt
            if fmt == "TEXT":
                text = comp.get("text")
                if not isinstance(text, str) or not text:
                    raise _tpl_error(2388047, "A TEXT header needs text.")
                if len(text) > LIMITS["template.header.text"].max:
                    raise _tpl_error(2388040, f"Header text is longer than {LIMITS['template.header.text'].max}.")
                out["header_vars"] = _vars(text, named, "header")
                if len(out["header_vars"]) > 1:
                    raise _tpl_error(2388047, "A header may have at most one variable.")
                out["header_text"] = text
        elif ctype == "BODY":
            text = comp.get("text")
            if text is None and category == "AUTHENTICATION":
                text = "{{1}} is your verification code."
            if not isinstance(text, str) or not text:
                raise _tpl_error(2388072, "The BODY component needs text.")
            if len(text) > LIMITS["template.body.text"].max:
                raise _tpl_error(2388040, f"Body text is longer than {LIMITS['template.body.text'].max}.")
            stripped = text.strip()
            at_edge = _VAR.match(stripped) or re.search(r"\{\{\s*[A-Za-z0-9_]+\s*\}\}$", stripped)
            if at_edge and category != "AUTHENTICATION":
                raise _tpl_error(2388299, "Variables can't be at the start or end of the body.")
            out["body_vars"] = _vars(text, named, "body")
            out["body_text"] = text
        elif ctype == "FOOTER":
            text = comp.get("text")
            if text is None and category == "AUTHENTICATION" and "code_expiration_minutes" in comp:
                continue  # authentication footers carry only the code expiry
            if not isinstance(text, str) or not text or _VAR.search(text):
                raise _tpl_error(2388073, "The FOOTER needs text without variables.")
            if len(text) > LIMITS["template.footer.text"].max:
                raise _tpl_error(2388040, f"Footer text is longer than {LIMITS['template.footer.text'].max}.")
        elif ctype == "BUTTONS":
            buttons = comp.get("buttons")
            if not isinstance(buttons, list) or not buttons:
                raise _tpl_error(2388039, "BUTTONS needs a non-empty buttons array.")
            if len(buttons) > LIMITS["template.buttons"].max:
                raise _tpl_error(2388039, f"At most {LIMITS['template.buttons'].max} buttons.")
            for j, button in enumerate(buttons):
                if not isinstance(button, dict) or str(button.get("type", "")).upper() not in _BUTTON_TYPES:
                    raise _tpl_error(2388039, f"buttons[{j}] has an invalid type.")
                btype = str(button["type"]).upper()
                url = button.get("url")
                out["buttons"].append(
                    {
                        "type": btype,
                        "text": button.get("text"),
                        "dynamic": btype == "URL" and isinstance(url, str) and bool(_VAR.search(url)),
                    }
                )
        elif ctype not in ("CAROUSEL", "LIMITED_TIME_OFFER", "CALL_PERMISSION_REQUEST"):
            raise _tpl_error(2388039, f"Invalid component type {comp['type']!r}.")
    if "BODY" not in seen and category != "AUTHENTICATION":
        raise _tpl_error(2388039, "A template needs a BODY component.")
    return out


def _vars(text: str, named: bool, where: str) -> list[str]:
    found = _VAR.findall(text)
    if named:
        for name in found:
            if not _NAMED_VAR.match(name):
                raise _tpl_error(2388072, f"{where}: {{{{{name}}}}} is not a valid named parameter.")
        return list(dict.fromkeys(found))
    for name in found:
        if not name.isdigit():
            raise _tpl_error(2388072, f"{where}: {{{{{name}}}}} needs parameter_format NAMED.")
    numbers = sorted({int(n) for n in found})
    if numbers != list(range(1, len(numbers) + 1)):
        raise _tpl_error(2388072, f"{where}: variables must be numbered {{{{1}}}} to {{{{n}}}} in sequence.")
    return [str(n) for n in numbers]


def make_template(state: SandboxState, data: Any, *, status: str | None = None, strict: bool = False) -> Template:
    """Validate a ``POST /{waba}/message_templates`` body and store the new template.

    ``strict`` applies every creation rule of Meta's (``template_rules``: locale, examples, button
    rules…), as the Graph route does; the control API and the seeds store looser test fixtures.
    """
    if not isinstance(data, dict):
        raise param("The request body must be a JSON object.")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise param("The parameter name is required.")
    if len(name) > LIMITS["template.name"].max or not _NAME.match(name):
        raise param(
            "Param name must be lower-case letters, digits and underscores, at most "
            f"{LIMITS['template.name'].max} characters."
        )
    language = data.get("language")
    if not isinstance(language, str) or not language:
        raise param("The parameter language is required.")
    if strict:
        _template_rules.check_language(language)
    category = data.get("category")
    if not isinstance(category, str) or category.upper() not in CATEGORIES:
        raise param("Param category must be one of {AUTHENTICATION, MARKETING, UTILITY}.")
    category = category.upper()
    parameter_format = str(data.get("parameter_format", "POSITIONAL")).upper()
    if parameter_format not in ("POSITIONAL", "NAMED"):
        raise param("Param parameter_format must be one of {NAMED, POSITIONAL}.")
    if strict:
        _template_rules.check_components(data.get("components"), category, parameter_format)
    derived = analyse(data.get("components"), category, parameter_format)
    for tpl in state.templates.values():
        if tpl.name == name and tpl.language == language:
            raise _tpl_error(2388024, f"Content in this language already exists for template {name!r}.")
    if len(state.templates) >= LIMITS["template.per_waba"].max:
        raise GraphError(2388019, f"The WABA already has {LIMITS['template.per_waba'].max} templates.")
    if status is None:
        # Authentication templates may be approved at once, as Meta does.
        status = "APPROVED" if category == "AUTHENTICATION" else "PENDING"
    tpl = Template(
        id=state.ids.object_id(),
        name=name,
        language=language,
        category=category,
        components=data["components"],
        parameter_format=parameter_format,
        status=status,
        created_at=state.clock.now(),
        **derived,
    )
    if strict and state.config.pace_new_templates and category in _pacing.PACED_CATEGORIES:
        tpl.pacing.start()  # Meta paces newly created marketing and utility templates
    state.templates[tpl.id] = tpl
    return tpl


def edit_template(tpl: Template, data: Any, *, strict: bool = False) -> None:
    """``POST /{template-id}``: replace the components and/or the category (``strict`` as in creation)."""
    if not isinstance(data, dict):
        raise param("The request body must be a JSON object.")
    if tpl.status not in ("APPROVED", "REJECTED", "PAUSED"):
        raise param(f"A template in status {tpl.status} can't be edited.")
    unknown = set(data) - {"components", "category", "message_send_ttl_seconds", "parameter_format"}
    if unknown:
        raise param(f'Unexpected key "{sorted(unknown)[0]}" on param "template".')
    category = tpl.category
    if "category" in data:
        new = str(data["category"]).upper()
        if new not in CATEGORIES:
            raise param("Param category must be one of {AUTHENTICATION, MARKETING, UTILITY}.")
        if tpl.status == "APPROVED" and new != tpl.category:
            raise param("The category of an approved template can't be edited.")
        category = new
    parameter_format = str(data.get("parameter_format", tpl.parameter_format)).upper()
    if parameter_format not in ("POSITIONAL", "NAMED"):
        raise param("Param parameter_format must be one of {NAMED, POSITIONAL}.")
    components = data.get("components", tpl.components)
    if strict and "components" in data:
        _template_rules.check_components(components, category, parameter_format)
    derived = analyse(components, category, parameter_format)
    tpl.components = components
    tpl.category = category
    tpl.parameter_format = parameter_format
    for key, value in derived.items():
        setattr(tpl, key, value)
    tpl.edits += 1


def find_for_send(state: SandboxState, name: str, language: str) -> Template:
    """The template a send names, or Meta's error for a missing/unusable one."""
    match = None
    for tpl in state.templates.values():
        if tpl.name == name and tpl.language == language:
            match = tpl
            break
    if match is None:
        raise GraphError(132001, f"template name ({name}) does not exist in {language}")
    if match.status == "PAUSED":
        raise GraphError(132015, f"Template {name} is paused because of low quality.")
    if match.status == "DISABLED":
        raise GraphError(132016, f"Template {name} is disabled.")
    if match.status != "APPROVED":
        raise GraphError(132001, f"template name ({name}) is not approved in {language} (status {match.status})")
    return match


def check_send(tpl: Template, req: ParsedSend, version: tuple[int, int]) -> str:
    """Match the send's components against the template; return the hydrated body text."""
    header = [c for c in req.template_components if c.type == "header"]
    body = [c for c in req.template_components if c.type == "body"]
    buttons = [c for c in req.template_components if c.type == "button"]
    # Header.
    fmt = tpl.header_format
    header_params = [p for c in header for p in c.params]
    if fmt in ("IMAGE", "VIDEO", "DOCUMENT", "LOCATION"):
        got = header_params[0].type.upper() if header_params else "UNKNOWN"
        if len(header_params) != 1 or got != fmt:
            raise GraphError(132012, f"header: Format mismatch, expected {fmt}, received {got}")
    else:
        _check_count("header", header_params, len(tpl.header_vars))
        _check_types("header", header_params, {"text"})
    # Body.
    body_params = [p for c in body for p in c.params]
    _check_count("body", body_params, len(tpl.body_vars))
    _check_types("body", body_params, {"text", "currency", "date_time"})
    values: dict[str, str] = {}
    if tpl.parameter_format == "NAMED":
        for p in body_params:
            if p.name is None:
                raise GraphError(
                    132012,
                    f"body: parameter {p.path} needs a parameter_name (the template uses NAMED parameters)",
                )
            values[p.name] = _text_of(p)
        missing_names = set(tpl.body_vars) - set(values)
        extra = set(values) - set(tpl.body_vars)
        if missing_names or extra:
            raise GraphError(
                132000,
                f"body: named parameters {sorted(values)} do not match the template's {sorted(tpl.body_vars)}",
            )
    else:
        for i, p in enumerate(body_params):
            if p.name is not None:
                raise GraphError(
                    132012,
                    f"body: parameter {p.path} has a parameter_name but the template uses POSITIONAL parameters",
                )
            values[str(i + 1)] = _text_of(p)
    for p in header_params + body_params:
        if p.type == "text" and _BAD_TEXT.search(p.value):
            code = 132018 if version >= (23, 0) else 132007
            raise GraphError(
                code,
                f"{p.path}: Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
            )
    # Buttons.
    given: dict[int, TemplateComponentSend] = {}
    for comp in buttons:
        if comp.index is None or comp.index >= len(tpl.buttons):
            raise GraphError(131009, f"{comp.path}: the template has no button at index {comp.index}")
        if comp.index in given:
            raise GraphError(131009, f"{comp.path}: button index {comp.index} is given twice")
        given[comp.index] = comp
        button = tpl.buttons[comp.index]
        if button["type"] not in _SUB_TYPES.get(comp.sub_type or "", set()):
            raise GraphError(
                132012,
                f"{comp.path}: sub_type {comp.sub_type} does not match the template's {button['type']} button",
            )
        needs = 1 if button["dynamic"] or button["type"] in ("OTP", "COPY_CODE") else 0
        if needs and len(comp.params) != needs:
            raise GraphError(
                132000,
                f"{comp.path}: number of params ({len(comp.params)}) does not match the "
                f"expected number of params ({needs})",
            )
        if button["type"] == "URL" and not button["dynamic"] and comp.params:
            raise GraphError(132000, f"{comp.path}: the template's URL button has no variable")
    for i, button in enumerate(tpl.buttons):
        if (button["dynamic"] or button["type"] in ("OTP", "COPY_CODE")) and i not in given:
            raise GraphError(
                132000, f"button {i}: number of params (0) does not match the expected number of params (1)"
            )
    # Hydration: the rendered text must still fit.
    text = _VAR.sub(lambda m: values.get(m.group(1), m.group(0)), tpl.body_text)
    if len(text) > LIMITS["template.body.text"].max:
        raise GraphError(
            132005,
            f"body: the hydrated text has {len(text)} characters, more than {LIMITS['template.body.text'].max}",
        )
    if fmt == "TEXT" and header_params:
        htext = _VAR.sub(lambda m: _text_of(header_params[0]), tpl.header_text)
        if len(htext) > LIMITS["template.header.text"].max:
            raise GraphError(
                132005,
                f"header: the hydrated text has {len(htext)} characters, more than "
                f"{LIMITS['template.header.text'].max}",
            )
    return text


def _check_count(where: str, params: list[Any], expected: int) -> None:
    if len(params) != expected:
        raise GraphError(
            132000,
            f"{where}: number of localizable_params ({len(params)}) does not match the "
            f"expected number of params ({expected})",
        )


def _check_types(where: str, params: list[Any], allowed: set[str]) -> None:
    for p in params:
        if p.type not in allowed:
            raise GraphError(
                132012,
                f"{where}: parameter {p.path} of type {p.type} does not match the format of the template",
            )


def _text_of(p: Any) -> str:
    if p.type == "text":
        return str(p.value)
    if isinstance(p.value, dict):
        return str(p.value.get("fallback_value", ""))
    return str(p.value)


# --- seeds ----------------------------------------------------------------------------------------

SAMPLE_TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "hello_world",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
            {
                "type": "BODY",
                "text": "Welcome and congratulations!! This message demonstrates your "
                "ability to send a WhatsApp message notification from the Cloud "
                "API, hosted by Meta. Thank you for taking the time to test with "
                "us.",
            },
            {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
        ],
    },
    {
        "name": "order_shipped",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{first_name}}, your order {{order_id}} is confirmed. Thank you!",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "first_name", "example": "Pablo"},
                        {"param_name": "order_id", "example": "860198-230332"},
                    ]
                },
            }
        ],
    },
    {
        "name": "seasonal_promotion",
        "language": "en_US",
        "category": "MARKETING",
        "components": [
            {
                "type": "HEADER",
                "format": "IMAGE",
                "example": {"header_handle": ["https://example.com/promo.jpg"]},
            },
            {
                "type": "BODY",
                "text": "Our {{1}} sale is on! Use code {{2}} for {{3}} off.",
                "example": {"body_text": [["summer", "SUMMER25", "25%"]]},
            },
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Shop now"},
                    {"type": "QUICK_REPLY", "text": "Stop promotions"},
                ],
            },
        ],
    },
    {
        "name": "appointment_reminder",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{1}}, this is a reminder of your appointment on {{2}}.",
                "example": {"body_text": [["Ana", "May 3 at 10:00"]]},
            },
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Confirm"},
                    {"type": "QUICK_REPLY", "text": "Reschedule"},
                    {
                        "type": "URL",
                        "text": "Details",
                        "url": "https://example.com/appointments/{{1}}",
                        "example": ["https://example.com/appointments/123"],
                    },
                ],
            },
        ],
    },
    {
        "name": "verification_code",
        "language": "en_US",
        "category": "AUTHENTICATION",
        "components": [
            {"type": "BODY", "add_security_recommendation": True},
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]},
        ],
    },
]


def seed_templates(state: SandboxState) -> None:
    """Store the sample templates, all APPROVED."""
    for sample in SAMPLE_TEMPLATES:
        make_template(state, sample, status="APPROVED")


# --- lifecycle -----------------------------------------------------------------------------------


def set_status(state: SandboxState, tpl: Template, status: str, reason: str | None = None) -> None:
    """Move a template to ``status`` and send the ``message_template_status_update`` webhook."""
    from wacloud.sandbox._payloads import template_status_value

    status = status.upper()
    if status not in STATUSES:
        raise param(f"Param status must be one of {{{', '.join(sorted(STATUSES))}}}.")
    old, tpl.status = tpl.status, status
    _pacing.on_status_change(state, tpl, old, status)
    if status == "REJECTED":
        tpl.rejected_reason = reason or "INVALID_FORMAT"
    event_reason = reason if reason is not None else ("INVALID_FORMAT" if status == "REJECTED" else "NONE")
    value = template_status_value(tpl, status, event_reason)
    state.template_webhooks.append(value)
    state.dispatcher.emit(tpl.id, "message_template_status_update", value, with_time=True)


def schedule_review(state: SandboxState, tpl: Template) -> None:
    """Approve a PENDING template after the configured review time (if any)."""
    delay = state.config.template_review_s
    if delay is None or tpl.status != "PENDING":
        return
    edits = tpl.edits

    def review() -> None:
        """Approve now if nothing changed since the review was planned."""
        if state.templates.get(tpl.id) is tpl and tpl.status == "PENDING" and tpl.edits == edits:
            set_status(state, tpl, "APPROVED")

    state.scheduler.after(delay, review)
