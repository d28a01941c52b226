"""Webhook payloads for the tests, written from the spec's schemas and the facts file (§5.4–5.8)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from wacloud.webhooks.signature import sign

SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
WABA = "419561257915477"
PHONE_ID = "106540352242922"
DISPLAY = "15550783881"
USER = "16505551234"
METADATA = {"display_phone_number": DISPLAY, "phone_number_id": PHONE_ID}

_ids = itertools.count(1)


def wamid() -> str:
    """A fresh message id."""
    return f"wamid.TEST{next(_ids):08d}"


def envelope(*changes: dict[str, Any], waba: str = WABA, time: int | None = None) -> dict[str, Any]:
    """One entry holding ``changes``."""
    entry: dict[str, Any] = {"id": waba, "changes": list(changes)}
    if time is not None:
        entry["time"] = time
    return {"object": "whatsapp_business_account", "entry": [entry]}


def change(field: str, value: dict[str, Any]) -> dict[str, Any]:
    """A ``changes[]`` item."""
    return {"field": field, "value": value}


def messages_value(*messages: dict[str, Any], contacts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A ``messages`` change value with a contact for the default user."""
    return {
        "messaging_product": "whatsapp",
        "metadata": METADATA,
        "contacts": contacts if contacts is not None else [{"profile": {"name": "Sheena Nelson"},
                                                            "wa_id": USER}],
        "messages": list(messages),
    }


def msg(type: str, content: Any = None, *, sender: str = USER, id: str | None = None,
        **extra: Any) -> dict[str, Any]:
    """An inbound message of ``type`` with its content under the key of the same name."""
    out: dict[str, Any] = {"from": sender, "id": id or wamid(), "timestamp": "1749416383", "type": type}
    if content is not None:
        out[type] = content
    out.update(extra)
    return out


def inbound(*messages: dict[str, Any]) -> dict[str, Any]:
    """A whole envelope with these inbound messages."""
    return envelope(change("messages", messages_value(*messages)))


def status(status: str, *, id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A ``statuses[]`` item."""
    return {"id": id or wamid(), "status": status, "timestamp": "1750030073", "recipient_id": USER, **extra}


def statuses(*items: dict[str, Any]) -> dict[str, Any]:
    """A whole envelope with these statuses."""
    return envelope(change("messages", {"messaging_product": "whatsapp", "metadata": METADATA,
                                        "statuses": list(items)}))


def body(payload: Any) -> bytes:
    """JSON bytes the way Meta sends them (non-ASCII escaped as \\uXXXX)."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()


def signed_headers(raw: bytes, secret: str = SECRET) -> dict[str, str]:
    """Headers of a genuine POST."""
    return {"content-type": "application/json", "x-hub-signature-256": sign(raw, secret)}


ERROR_131051 = {"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."}}
ERROR_131050 = {"code": 131050, "title": "Unable to deliver the message",
                "message": "Unable to deliver the message",
                "error_data": {"details": "The user stopped marketing messages."},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}

#: (name, message object, expected model class name) for every inbound type of the issue.
MESSAGES: list[tuple[str, dict[str, Any], str]] = [
    ("text", msg("text", {"body": "hi there"}), "TextMessage"),
    ("image", msg("image", {"id": "1003383421387256", "mime_type": "image/jpeg", "sha256": "abc=",
                            "caption": "Taj Mahal", "url": "https://lookaside.fbsbx.com/x"}), "ImageMessage"),
    ("audio", msg("audio", {"id": "m-audio", "mime_type": "audio/mpeg", "sha256": "x", "voice": False}),
     "AudioMessage"),
    ("voice", msg("audio", {"id": "m-voice", "mime_type": "audio/ogg; codecs=opus", "sha256": "x",
                            "voice": True}), "AudioMessage"),
    ("video", msg("video", {"id": "m-video", "mime_type": "video/mp4", "sha256": "x", "caption": "clip"}),
     "VideoMessage"),
    ("document", msg("document", {"id": "m-doc", "mime_type": "application/pdf", "sha256": "x",
                                  "filename": "invoice.pdf", "caption": "your invoice"}), "DocumentMessage"),
    ("sticker", msg("sticker", {"id": "m-sticker", "mime_type": "image/webp", "sha256": "x",
                                "animated": True}),
     "StickerMessage"),
    ("location", msg("location", {"latitude": 37.44, "longitude": -122.16, "name": "Philz",
                                  "address": "101 Forest Ave"}), "LocationMessage"),
    ("live location", msg("location", {"latitude": 1.5, "longitude": 2}), "LocationMessage"),
    ("contacts", msg("contacts", [{"name": {"formatted_name": "Lucía Gómez", "first_name": "Lucía"},
                                   "phones": [{"phone": "+1 983 555 2319", "wa_id": "19835552319",
                                               "type": "CELL"}],
                                   "emails": [{"email": "l@example.com", "type": "WORK"}]}]),
     "ContactsMessage"),
    ("button", msg("button", {"payload": "unsub-1", "text": "Unsubscribe"},
                   context={"from": DISPLAY, "id": "wamid.TEMPLATE"}), "ButtonMessage"),
    ("button_reply", msg("interactive", {"type": "button_reply",
                                         "button_reply": {"id": "yes", "title": "Yes"}},
                         context={"from": DISPLAY, "id": "wamid.ASKED"}), "InteractiveMessage"),
    ("list_reply", msg("interactive", {"type": "list_reply", "list_reply": {
        "id": "priority_express", "title": "Priority Mail Express", "description": "Next Day"}}),
     "InteractiveMessage"),
    ("nfm_reply", msg("interactive", {"type": "nfm_reply", "nfm_reply": {
        "name": "flow", "body": "Sent", "response_json": '{"flow_token": "tok-1", "size": "M"}'}}),
     "InteractiveMessage"),
    ("reaction", msg("reaction", {"message_id": "wamid.MINE", "emoji": "\U0001f44d"}), "ReactionMessage"),
    ("reaction removal", msg("reaction", {"message_id": "wamid.MINE", "emoji": ""}), "ReactionMessage"),
    ("reaction removal no emoji", msg("reaction", {"message_id": "wamid.MINE"}), "ReactionMessage"),
    ("order", msg("order", {"catalog_id": "194836987003835", "text": "", "product_items": [
        {"product_retailer_id": "di9ozbzfi4", "quantity": 2, "item_price": 30, "currency": "USD"}]}),
     "OrderMessage"),
    ("system number change", msg("system", {"body": "User changed number", "type": "user_changed_number",
                                            "wa_id": "12195555358"}), "SystemMessage"),
    ("system identity", msg("system", {"body": "identity changed", "type": "customer_identity_changed",
                                       "identity": "abc", "customer": USER},
                            identity={"acknowledged": True, "created_timestamp": 1, "hash": "h"}),
     "SystemMessage"),
    ("referral", msg("text", {"body": "Tell me more"}, referral={
        "source_url": "https://fb.me/x", "source_id": "1202", "source_type": "ad", "body": "Summer!",
        "headline": "Chat", "media_type": "video", "video_url": "https://v", "thumbnail_url": "https://t",
        "ctwa_clid": "Aff-1", "welcome_message": {"text": "Hi!"}}), "TextMessage"),
    ("unsupported", msg("unsupported", None, errors=[ERROR_131051], unsupported={"type": "poll"}),
     "UnsupportedMessage"),
    ("unknown", msg("unknown", None, errors=[ERROR_131051]), "UnsupportedMessage"),
    ("request_welcome", msg("request_welcome"), "RequestWelcomeMessage"),
    ("revoke", msg("revoke", {"original_message_id": "wamid.OLD"}), "RevokeMessage"),
    ("edit", msg("edit", {"original_message_id": "wamid.OLD",
                          "message": {"type": "text", "text": {"body": "fixed typo"}}}), "EditMessage"),
    ("reply", msg("text", {"body": "yes"}, context={"from": DISPLAY, "id": "wamid.QUOTED"}), "TextMessage"),
    ("forwarded", msg("text", {"body": "fwd"}, context={"forwarded": True}), "TextMessage"),
    ("frequently forwarded", msg("image", {"id": "m-ff", "mime_type": "image/png", "sha256": "x"},
                                 context={"frequently_forwarded": True}), "ImageMessage"),
    ("product inquiry", msg("text", {"body": "available?"}, context={
        "from": DISPLAY, "id": "wamid.PRODUCT",
        "referred_product": {"catalog_id": "1948", "product_retailer_id": "di9"}}), "TextMessage"),
]

#: (name, status object) for every status of the issue.
STATUSES: list[tuple[str, dict[str, Any]]] = [
    ("sent", status("sent", biz_opaque_callback_data="campaign-7",
                    conversation={"id": "conv-1", "expiration_timestamp": "1750116473",
                                  "origin": {"type": "marketing"}},
                    pricing={"billable": True, "pricing_model": "PMP", "type": "regular",
                             "category": "marketing"})),
    ("delivered", status("delivered", pricing={"billable": True, "pricing_model": "PMP", "type": "regular",
                                               "category": "utility"})),
    ("read", status("read")),
    ("played", status("played")),
    ("failed", status("failed", errors=[ERROR_131050])),
    ("group", status("sent", recipient_type="group", recipient_participant_id="16505550000",
                     group_id="Y2FwaV9ncm91cDo")),
]

TEMPLATE_STATUS = change("message_template_status_update", {
    "event": "REJECTED", "message_template_id": 1689556908129832,
    "message_template_name": "order_confirmation",
    "message_template_language": "en-US", "reason": "INVALID_FORMAT", "message_template_category": "UTILITY",
    "rejection_info": {"reason": "bad variable", "recommendation": "fix it"}})
TEMPLATE_PAUSED = change("message_template_status_update", {
    "event": "PAUSED", "message_template_id": 77, "message_template_name": "promo",
    "message_template_language": "en", "reason": None,
    "other_info": {"title": "FIRST_PAUSE", "description": "low quality"}})
TEMPLATE_QUALITY = change("message_template_quality_update", {
    "previous_quality_score": "GREEN", "new_quality_score": "YELLOW", "message_template_id": 77,
    "message_template_name": "promo", "message_template_language": "en"})
TEMPLATE_CATEGORY = change("template_category_update", {
    "message_template_id": 77, "message_template_name": "promo", "message_template_language": "en",
    "previous_category": "UTILITY", "new_category": "MARKETING"})
ACCOUNT_UPDATE = change("account_update", {
    "phone_number": DISPLAY, "event": "PARTNER_REMOVED",
    "disconnection_info": {"reason": "BUSINESS_INITIATED", "initiated_by": "BUSINESS"}})
PHONE_QUALITY = change("phone_number_quality_update", {
    "display_phone_number": DISPLAY, "event": "THROUGHPUT_UPGRADE", "current_limit": "TIER_UNLIMITED",
    "max_daily_conversations_per_business": "UNLIMITED"})
USER_PREFERENCES = change("user_preferences", {
    "messaging_product": "whatsapp", "metadata": METADATA,
    "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": USER}],
    "user_preferences": [{"wa_id": USER, "detail": "User requested to stop marketing messages",
                          "category": "marketing_messages", "value": "stop", "timestamp": 1731705721}]})
ECHOES = change("smb_message_echoes", {
    "messaging_product": "whatsapp", "metadata": METADATA,
    "message_echoes": [{"from": DISPLAY, "to": USER, "id": "wamid.ECHO1", "timestamp": "1739321024",
                        "type": "text", "text": {"body": "sent from the app"}}]})
VALUE_ERRORS = change("messages", {
    "messaging_product": "whatsapp", "metadata": METADATA,
    "errors": [{"code": 130429, "title": "Rate limit hit", "message": "Rate limit hit",
                "error_data": {"details": "Cloud API message throughput has been reached."}}]})
