"""Validation of ``template`` sends, structure only (the match against the stored template is in
``_templates``)."""

from __future__ import annotations

from typing import Any

from wacloud.sandbox._errors import invalid, missing, param
from wacloud.sandbox._validate_base import (
    _MAX,
    ParsedSend,
    TemplateComponentSend,
    TemplateParam,
    _enum,
    _get_obj,
    _keys,
    _list,
    _location,
    _media,
    _obj,
    _str,
)

# --- template (structure only; the match against the stored template is in templates.py) ------

_COMPONENT_TYPES = frozenset({"header", "body", "button", "carousel", "limited_time_offer", "footer", "order_status"})
_PARAM_TYPES = frozenset(
    {
        "text",
        "currency",
        "date_time",
        "image",
        "video",
        "document",
        "location",
        "payload",
        "coupon_code",
        "action",
        "product",
        "limited_time_offer",
        "gif",
        "ttl",
    }
)


def _validate_template(obj: dict[str, Any], req: ParsedSend) -> None:
    _keys(obj, {"name", "language", "components", "namespace"}, "template")
    req.template_name = _str(obj, "name", "template", required=True, limit="template.name")
    language = _get_obj(obj, "language", "template")
    assert language is not None
    _keys(language, {"code", "policy"}, "template['language']")
    req.template_language = _str(language, "code", "template['language']", required=True, min_len=1)
    _enum(_str(language, "policy", "template['language']"), {"deterministic"}, "template['language']['policy']")
    components = obj.get("components")
    if components is None:
        return
    for i, item in enumerate(_list(components, "template['components']")):
        path = f"template['components'][{i}]"
        comp = _obj(item, path)
        _keys(comp, {"type", "sub_type", "index", "parameters", "cards"}, path)
        ctype = _str(comp, "type", path, required=True)
        assert ctype is not None
        ctype = ctype.lower()
        _enum(ctype, _COMPONENT_TYPES, f"{path}['type']")
        sub_type = None
        index = None
        if ctype == "button":
            sub_type = _str(comp, "sub_type", path, required=True)
            assert sub_type is not None
            sub_type = sub_type.lower()
            raw_index = comp.get("index")
            if raw_index is None:
                raise missing(f"{path}['index']")
            if isinstance(raw_index, bool) or not isinstance(raw_index, int | str):
                raise param(f"Param {path}['index'] must be a string.")
            if not str(raw_index).isdigit() or int(raw_index) > _MAX["template.button.index"]:
                raise invalid(f"{path}['index']", f"must be 0 to {_MAX['template.button.index']}")
            index = int(raw_index)
        params: list[TemplateParam] = []
        raw_params = comp.get("parameters")
        if raw_params is not None:
            for j, raw in enumerate(_list(raw_params, f"{path}['parameters']")):
                params.append(_template_param(raw, f"{path}['parameters'][{j}]", ctype, req))
        if ctype == "carousel" and comp.get("cards") is not None:
            _list(comp["cards"], f"{path}['cards']")
        req.template_components.append(TemplateComponentSend(ctype, sub_type, index, params, path))


def _template_param(raw: Any, path: str, component: str, req: ParsedSend) -> TemplateParam:
    obj = _obj(raw, path)
    ptype = _str(obj, "type", path, required=True)
    assert ptype is not None
    ptype = ptype.lower()
    _enum(ptype, _PARAM_TYPES, f"{path}['type']")
    _keys(obj, {"type", "parameter_name", ptype}, path)
    name = _str(obj, "parameter_name", path, min_len=1)
    value = obj.get(ptype)
    if value is None:
        raise missing(f"{path}['{ptype}']")
    where = f"{path}['{ptype}']"
    if ptype == "text":
        if component == "button" and isinstance(value, bool | int | float):
            # Meta's own spec example sends booleans here; the value is used as text.
            value = str(value).lower() if isinstance(value, bool) else str(value)
        elif not isinstance(value, str):
            raise param(f"Param {where} must be a string.")
        if len(value) > _MAX["template.parameter.text"]:
            raise param(f"Param {where} must be at most {_MAX['template.parameter.text']} characters long.")
        if not value:
            raise missing(where)
    elif ptype in ("payload", "coupon_code"):
        if not isinstance(value, str):
            raise param(f"Param {where} must be a string.")
    elif ptype == "currency":
        cur = _obj(value, where)
        _keys(cur, {"fallback_value", "code", "amount_1000"}, where)
        _str(cur, "fallback_value", where, required=True, min_len=1)
        code = _str(cur, "code", where, required=True, min_len=1)
        if code is not None and (len(code) != 3 or not code.isalpha()):
            raise invalid(f"{where}['code']", "must be an ISO 4217 currency code")
        amount = cur.get("amount_1000")
        if amount is None:
            raise missing(f"{where}['amount_1000']")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise param(f"Param {where}['amount_1000'] must be an integer.")
    elif ptype == "date_time":
        dt = _obj(value, where)
        _str(dt, "fallback_value", where, required=True, min_len=1)
    elif ptype in ("image", "video", "document", "gif"):
        req.media.append(
            _media(
                value,
                "video" if ptype == "gif" else ptype,
                where,
                caption=False,
                filename=ptype == "document",
            )
        )
    elif ptype == "location":
        _location(_obj(value, where), where)
    else:
        _obj(value, where)
    return TemplateParam(ptype, value, name, path)
