"""jsonschema validators for webhook payloads, built from the spec's own schemas.

The spec maps inbound message types to the *outgoing* schemas (which require ``to`` and
``recipient_type``) and its inbound variants extend the outgoing ``BaseMessageProperties``; both are
redirected here to the inbound ones (``TextMessage_2``, ``ImageMessage_1``… and
``BaseMessageProperties_1``). ``Statuses.status`` lacks ``played`` (documented by Meta for voice
messages), and ``Change.field`` lists only ``messages`` and group fields, so
``message_template_status_update`` is added to validate the envelope of template updates.
``nfm_reply`` (flow answers) is added to the interactive reply types.
``UnsupportedMessage.errors`` is pointed at the webhook error shape its own example uses.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema

_INBOUND = {
    "TextMessage": "TextMessage_2",
    "AudioMessage": "AudioMessage_1",
    "DocumentMessage": "DocumentMessage_1",
    "ImageMessage": "ImageMessage_1",
    "LocationMessage": "LocationMessage_1",
    "ReactionMessage": "ReactionMessage_1",
    "StickerMessage": "StickerMessage_1",
    "VideoMessage": "VideoMessage_1",
}
_INBOUND_SCHEMAS = [
    *_INBOUND.values(),
    "ContactSharingMessage",
    "ButtonMessage",
    "InteractiveMessageReply",
    "OrderMessage",
    "UnsupportedMessage",
    "SystemMessage",
]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def webhook_validator(spec: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for whole webhook bodies (``WebhookPayload``)."""
    schemas = copy.deepcopy(spec["components"]["schemas"])
    incoming = schemas["IncomingMessage"]
    incoming["oneOf"] = [
        _ref(_INBOUND.get(r["$ref"].rsplit("/", 1)[1], r["$ref"].rsplit("/", 1)[1])) for r in incoming["oneOf"]
    ]
    incoming.pop("discriminator", None)
    for name in _INBOUND_SCHEMAS:
        for part in schemas[name].get("allOf", []):
            if part.get("$ref") == "#/components/schemas/BaseMessageProperties":
                part["$ref"] = "#/components/schemas/BaseMessageProperties_1"
    # UnsupportedMessage points at the Graph ErrorObject (which requires "type"), yet its own example
    # carries the webhook error shape (title, error_data), which is ErrorObject_2.
    schemas["UnsupportedMessage"]["allOf"][1]["properties"]["errors"]["items"] = _ref("ErrorObject_2")
    schemas["Statuses"]["properties"]["status"]["enum"].append("played")
    # Flow answers (nfm_reply) are documented by Meta but missing from the reply enum.
    schemas["InteractiveMessageReply"]["allOf"][1]["properties"]["interactive"]["properties"]["type"]["enum"].append(
        "nfm_reply"
    )
    schemas["Change"]["properties"]["field"]["enum"].append("message_template_status_update")
    # Template updates have no value schema in the spec: accept an object there, checked separately.
    schemas["Change"]["properties"]["value"]["oneOf"].append(
        {"type": "object", "required": ["event", "message_template_id", "message_template_name"]}
    )
    root = {"$ref": "#/components/schemas/WebhookPayload", "components": {"schemas": schemas}}
    return jsonschema.Draft202012Validator(root)


def errors_of(validator: jsonschema.Draft202012Validator, payload: Any) -> list[str]:
    """Human-readable schema errors (empty when valid)."""
    out = []
    for error in validator.iter_errors(payload):
        leaves = [error]
        while any(e.context for e in leaves):
            leaves = [c for e in leaves for c in (e.context or [e])]
        deepest = max(leaves, key=lambda e: len(e.absolute_path))
        out.append(f"{'/'.join(map(str, deepest.absolute_path))}: {deepest.message[:200]}")
    return out
