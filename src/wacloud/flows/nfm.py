"""Parsing a flow's completion message: the ``interactive.nfm_reply`` a user's finished flow sends."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wacloud.errors import ValidationError


@dataclass(frozen=True, slots=True)
class FlowCompletion:
    """What the flow returned: ``flow_token`` and the rest of ``response_json``."""

    flow_token: str | None
    response: dict[str, Any]
    name: str | None = None
    body: str | None = None


def parse_nfm_reply(obj: Mapping[str, Any]) -> FlowCompletion:
    """Parse an ``nfm_reply`` object, an ``interactive`` object, or a whole inbound message.

    ``response_json`` is a JSON *string* in the webhook; it is decoded here. Raises
    :class:`~wacloud.errors.ValidationError` when there is no well-formed nfm_reply.
    """
    node: Any = obj
    if isinstance(node, Mapping) and "interactive" in node:
        node = node["interactive"]
    if isinstance(node, Mapping) and "nfm_reply" in node:
        node = node["nfm_reply"]
    if not isinstance(node, Mapping) or "response_json" not in node:
        raise ValidationError("interactive.nfm_reply", "no nfm_reply with a response_json")
    raw = node["response_json"]
    if isinstance(raw, str):
        try:
            data = json.loads(raw)
        except ValueError:
            raise ValidationError("interactive.nfm_reply.response_json", "is not valid JSON") from None
    else:
        data = raw
    if not isinstance(data, dict):
        raise ValidationError("interactive.nfm_reply.response_json", "is not a JSON object")
    token = data.pop("flow_token", None)
    return FlowCompletion(
        flow_token=str(token) if token is not None else None,
        response=data,
        name=str(node["name"]) if node.get("name") is not None else None,
        body=str(node["body"]) if node.get("body") is not None else None,
    )
