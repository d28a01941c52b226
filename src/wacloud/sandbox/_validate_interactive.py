"""Validation of ``interactive`` messages: header, body, footer and each kind of action."""

from __future__ import annotations

from typing import Any

from wacloud.sandbox._errors import invalid, missing, param
from wacloud.sandbox._validate_base import (
    _MAX,
    INTERACTIVE_TYPES,
    ParsedSend,
    _count,
    _enum,
    _get_obj,
    _is_url,
    _keys,
    _list,
    _media,
    _obj,
    _str,
)

# --- interactive --------------------------------------------------------------------------------

_HEADERS_ALLOWED = {
    "button": {"text", "image", "video", "document"},
    "list": {"text"},
    "cta_url": {"text", "image", "video", "document"},
    "flow": {"text", "image", "video", "document"},
    "product_list": {"text"},
    "order_details": {"image"},
}
_BODY_OPTIONAL = frozenset({"product", "catalog_message", "call_permission_request", "voice_call"})
_FOOTER_NOT_ALLOWED = frozenset({"location_request_message"})


def _validate_interactive(obj: dict[str, Any], req: ParsedSend) -> None:
    _keys(obj, {"type", "header", "body", "footer", "action"}, "interactive")
    itype = _str(obj, "type", "interactive", required=True)
    _enum(itype, INTERACTIVE_TYPES, "interactive['type']")
    assert itype is not None
    header = _get_obj(obj, "header", "interactive", required=itype == "product_list")
    if header is not None:
        allowed = _HEADERS_ALLOWED.get(itype)
        if not allowed:
            raise invalid("interactive['header']", f"a header is not allowed for {itype} messages")
        _header(header, allowed, req)
    body = _get_obj(obj, "body", "interactive", required=itype not in _BODY_OPTIONAL)
    if body is not None:
        _keys(body, {"text"}, "interactive['body']")
        _str(body, "text", "interactive['body']", required=True, limit="interactive.body.text")
    footer = _get_obj(obj, "footer", "interactive", required=False)
    if footer is not None:
        if itype in _FOOTER_NOT_ALLOWED:
            raise invalid("interactive['footer']", f"a footer is not allowed for {itype} messages")
        _keys(footer, {"text"}, "interactive['footer']")
        _str(footer, "text", "interactive['footer']", required=True, limit="interactive.footer.text")
    action = _get_obj(obj, "action", "interactive", required=itype != "call_permission_request")
    if action is None:
        return
    _ACTIONS[itype](action)


def _header(header: dict[str, Any], allowed: set[str], req: ParsedSend) -> None:
    path = "interactive['header']"
    _keys(header, {"type", "text", "sub_text", "image", "video", "document"}, path)
    htype = _str(header, "type", path, required=True)
    _enum(htype, {"text", "image", "video", "document"}, f"{path}['type']")
    assert htype is not None
    if htype not in allowed:
        raise invalid(f"{path}['type']", f"{htype} headers are not allowed here")
    if htype == "text":
        _str(header, "text", path, required=True, limit="interactive.header.text", min_len=1)
        _str(header, "sub_text", path, limit="interactive.header.text")
    else:
        if header.get(htype) is None:
            raise missing(f"{path}['{htype}']")
        req.media.append(
            _media(header[htype], htype, f"{path}['{htype}']", caption=False, filename=htype == "document")
        )


def _action_button(action: dict[str, Any]) -> None:
    path = "interactive['action']"
    _keys(action, {"buttons"}, path)
    if action.get("buttons") is None:
        raise missing(f"{path}['buttons']")
    buttons = _list(action["buttons"], f"{path}['buttons']")
    _count(buttons, "interactive.button.buttons", f"{path}['buttons']")
    ids: set[str] = set()
    titles: set[str] = set()
    for i, item in enumerate(buttons):
        where = f"{path}['buttons'][{i}]"
        button = _obj(item, where)
        _keys(button, {"type", "reply"}, where)
        _enum(_str(button, "type", where, required=True), {"reply"}, f"{where}['type']")
        reply = _get_obj(button, "reply", where)
        assert reply is not None
        _keys(reply, {"id", "title"}, f"{where}['reply']")
        bid = _str(reply, "id", f"{where}['reply']", required=True, limit="interactive.button.id")
        title = _str(reply, "title", f"{where}['reply']", required=True, limit="interactive.button.title")
        assert bid is not None and title is not None
        if bid != bid.strip():
            raise invalid(f"{where}['reply']['id']", "must not start or end with spaces")
        if bid in ids:
            raise invalid(f"{where}['reply']['id']", "button ids must be unique")
        if title in titles:
            raise invalid(f"{where}['reply']['title']", "button titles must be unique")
        ids.add(bid)
        titles.add(title)


def _action_list(action: dict[str, Any]) -> None:
    path = "interactive['action']"
    _keys(action, {"button", "sections"}, path)
    _str(action, "button", path, required=True, limit="interactive.list.button")
    if action.get("sections") is None:
        raise missing(f"{path}['sections']")
    sections = _list(action["sections"], f"{path}['sections']")
    _count(sections, "interactive.list.sections", f"{path}['sections']")
    total = 0
    row_ids: set[str] = set()
    for i, item in enumerate(sections):
        where = f"{path}['sections'][{i}]"
        section = _obj(item, where)
        _keys(section, {"title", "rows"}, where)
        _str(section, "title", where, required=len(sections) > 1, limit="interactive.list.section.title")
        if section.get("rows") is None:
            raise missing(f"{where}['rows']")
        rows = _list(section["rows"], f"{where}['rows']")
        if not rows:
            raise missing(f"{where}['rows']")
        for j, row_item in enumerate(rows):
            rwhere = f"{where}['rows'][{j}]"
            row = _obj(row_item, rwhere)
            _keys(row, {"id", "title", "description"}, rwhere)
            rid = _str(row, "id", rwhere, required=True, limit="interactive.list.row.id")
            _str(row, "title", rwhere, required=True, limit="interactive.list.row.title")
            _str(row, "description", rwhere, limit="interactive.list.row.description")
            assert rid is not None
            if rid in row_ids:
                raise invalid(f"{rwhere}['id']", "row ids must be unique")
            row_ids.add(rid)
        total += len(rows)
    if total > _MAX["interactive.list.rows_total"]:
        raise param(
            f"Param {path}['sections'] must have at most {_MAX['interactive.list.rows_total']} "
            f"rows in total (it has {total})."
        )


def _named_action(action: dict[str, Any], name: str) -> dict[str, Any] | None:
    path = "interactive['action']"
    _keys(action, {"name", "parameters"}, path)
    _enum(_str(action, "name", path, required=True), {name}, f"{path}['name']")
    return _get_obj(action, "parameters", path, required=False)


def _action_cta_url(action: dict[str, Any]) -> None:
    params = _named_action(action, "cta_url")
    path = "interactive['action']['parameters']"
    if params is None:
        raise missing(path)
    _keys(params, {"display_text", "url"}, path)
    _str(params, "display_text", path, required=True, limit="interactive.cta_url.display_text")
    url = _str(params, "url", path, required=True, min_len=1)
    if url is not None and not _is_url(url):
        raise invalid(f"{path}['url']", "must be an http or https URL")


def _action_location_request(action: dict[str, Any]) -> None:
    path = "interactive['action']"
    _keys(action, {"name"}, path)
    _enum(_str(action, "name", path, required=True), {"send_location"}, f"{path}['name']")


def _action_flow(action: dict[str, Any]) -> None:
    params = _named_action(action, "flow")
    path = "interactive['action']['parameters']"
    if params is None:
        raise missing(path)
    _keys(
        params,
        {
            "flow_message_version",
            "flow_id",
            "flow_name",
            "flow_cta",
            "flow_token",
            "mode",
            "flow_action",
            "flow_action_payload",
        },
        path,
    )
    version = params.get("flow_message_version")
    if version is None:
        raise missing(f"{path}['flow_message_version']")
    if str(version) != "3":
        raise invalid(f"{path}['flow_message_version']", "the only version is 3")
    flow_id = _str(params, "flow_id", path, min_len=1)
    flow_name = _str(params, "flow_name", path, min_len=1)
    if flow_id is None and flow_name is None:
        raise missing(f"{path}['flow_id'] or {path}['flow_name']")
    if flow_id is not None and flow_name is not None:
        raise invalid(path, "use either flow_id or flow_name, not both")
    _str(params, "flow_cta", path, required=True, limit="interactive.flow.flow_cta")
    _str(params, "flow_token", path)
    _enum(_str(params, "mode", path), {"draft", "published"}, f"{path}['mode']")
    flow_action = _str(params, "flow_action", path)
    _enum(flow_action, {"navigate", "data_exchange"}, f"{path}['flow_action']")
    payload = _get_obj(params, "flow_action_payload", path, required=False)
    if payload is not None:
        _keys(payload, {"screen", "data"}, f"{path}['flow_action_payload']")
        _str(payload, "screen", f"{path}['flow_action_payload']", min_len=1)
        if payload.get("data") is not None:
            _obj(payload["data"], f"{path}['flow_action_payload']['data']")


def _action_product(action: dict[str, Any]) -> None:
    path = "interactive['action']"
    _keys(action, {"catalog_id", "product_retailer_id"}, path)
    _str(action, "catalog_id", path, required=True, min_len=1)
    _str(action, "product_retailer_id", path, required=True, min_len=1)


def _action_product_list(action: dict[str, Any]) -> None:
    path = "interactive['action']"
    _keys(action, {"catalog_id", "sections"}, path)
    _str(action, "catalog_id", path, required=True, min_len=1)
    if action.get("sections") is None:
        raise missing(f"{path}['sections']")
    sections = _list(action["sections"], f"{path}['sections']")
    _count(sections, "interactive.product_list.sections", f"{path}['sections']")
    total = 0
    for i, item in enumerate(sections):
        where = f"{path}['sections'][{i}]"
        section = _obj(item, where)
        _keys(section, {"title", "product_items"}, where)
        _str(section, "title", where, required=True, limit="interactive.list.section.title")
        if section.get("product_items") is None:
            raise missing(f"{where}['product_items']")
        products = _list(section["product_items"], f"{where}['product_items']")
        if not products:
            raise missing(f"{where}['product_items']")
        for j, product in enumerate(products):
            pwhere = f"{where}['product_items'][{j}]"
            product = _obj(product, pwhere)
            _keys(product, {"product_retailer_id"}, pwhere)
            _str(product, "product_retailer_id", pwhere, required=True, min_len=1)
        total += len(products)
    if total > _MAX["interactive.product_list.items_total"]:
        raise param(
            f"Param {path}['sections'] must have at most "
            f"{_MAX['interactive.product_list.items_total']} products in total (it has {total})."
        )


def _action_catalog(action: dict[str, Any]) -> None:
    params = _named_action(action, "catalog_message")
    if params is not None:
        path = "interactive['action']['parameters']"
        _keys(params, {"thumbnail_product_retailer_id"}, path)
        _str(params, "thumbnail_product_retailer_id", path, min_len=1)


def _generic_named(name: str) -> Any:
    def check(action: dict[str, Any]) -> None:
        """Check a named action."""
        path = "interactive['action']"
        _enum(_str(action, "name", path, required=True), {name}, f"{path}['name']")
        if action.get("parameters") is not None:
            _obj(action["parameters"], f"{path}['parameters']")

    return check


_ACTIONS: dict[str, Any] = {
    "button": _action_button,
    "list": _action_list,
    "cta_url": _action_cta_url,
    "location_request_message": _action_location_request,
    "flow": _action_flow,
    "product": _action_product,
    "product_list": _action_product_list,
    "catalog_message": _action_catalog,
    "order_details": _generic_named("review_and_pay"),
    "order_status": _generic_named("review_order"),
    "call_permission_request": _generic_named("call_permission_request"),
    "voice_call": _generic_named("voice_call"),
}
