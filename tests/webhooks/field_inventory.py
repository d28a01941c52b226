"""The inventory of webhook fields Meta documents: for each, example payloads, the typed update each must
parse to, and key sub-fields to check. ``test_field_inventory`` runs every case through the parser and
through a signed POST to the receiver; docs/webhooks.md shows the same table.

The payloads are our own, written from the documented shapes (most live in ``payloads*.py``); Meta's
OpenAPI examples are checked separately, read from ``../shared/spec`` at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wacloud.webhooks import (
    AccountAlertUpdate,
    AccountReviewUpdate,
    AccountUpdate,
    AutomaticEventUpdate,
    BusinessCapabilityUpdate,
    CallStatusUpdate,
    CallUpdate,
    ErrorUpdate,
    FlowUpdate,
    GroupLifecycleUpdate,
    GroupParticipantsUpdate,
    GroupSettingsUpdate,
    GroupStatusUpdate,
    HistoryUpdate,
    MessageEchoUpdate,
    MessageUpdate,
    PartnerSolutionUpdate,
    PaymentConfigurationUpdate,
    PhoneNumberNameUpdate,
    PhoneNumberQualityUpdate,
    SecurityUpdate,
    StateSyncUpdate,
    StatusUpdate,
    TemplateCategoryUpdate,
    TemplateComponentsUpdate,
    TemplateQualityUpdate,
    TemplateStatusUpdate,
    Update,
    UserPreferencesUpdate,
)

from . import payloads as p
from . import payloads_2026 as q
from . import payloads_calls_groups as cg

#: Every ``changes[].field`` Meta documents for the WhatsApp Business Account object (the webhooks overview,
#: the calling and groups references, and the OpenAPI spec's spelling ``group_participant_update``).
DOCUMENTED_FIELDS: frozenset[str] = frozenset({
    "account_alerts", "account_review_update", "account_update", "automatic_events",
    "business_capability_update", "calls", "flows", "group_lifecycle_update", "group_participant_update",
    "group_participants_update", "group_settings_update", "group_status_update", "history",
    "message_template_components_update", "message_template_quality_update", "message_template_status_update",
    "messages", "partner_solutions", "payment_configuration_update", "phone_number_name_update",
    "phone_number_quality_update", "security", "smb_app_state_sync", "smb_message_echoes",
    "template_category_update", "user_preferences",
})


@dataclass(frozen=True)
class Case:
    """One example: the whole webhook body, the class its first update must be, and values to check."""

    id: str
    field: str
    body: dict[str, Any]
    cls: type[Update]
    #: Dotted attribute path (list indexes as numbers) → expected value; never empty.
    expect: dict[str, Any]
    #: Where the example comes from (shown in docs/webhooks.md).
    source: str = field(default="")


def get(obj: Any, path: str) -> Any:
    """``obj.a.b.0.c`` for path ``a.b.0.c``."""
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def _env(change: dict[str, Any], time: int | None = q.TIME) -> dict[str, Any]:
    return p.envelope(change, time=time)


def _msg(message: dict[str, Any]) -> dict[str, Any]:
    return p.inbound(message)


_MESSAGES = {name: message for name, message, _ in p.MESSAGES}
_STATUSES = dict(p.STATUSES)

#: Our own payloads of what the fixtures of ``payloads*.py`` lack.
EPHEMERAL = p.msg("ephemeral", None, id="wamid.EPHEMERAL1")
MEDIA_TOO_BIG = p.msg("video", None, id="wamid.TOOBIG1", errors=[{
    "code": 131052, "title": "Media download error", "message": "Media download error",
    "error_data": {"details": "The video is larger than the download limit."}}])
CALL_PERMISSION_REPLY = p.msg("interactive", {"type": "call_permission_reply", "call_permission_reply": {
    "response": "accept", "is_permanent": False, "expiration_timestamp": 1749600000,
    "response_source": "user_action"}}, id="wamid.CALLPERM1", context={"from": p.DISPLAY, "id": "wamid.ASKCALL"})
PAYMENT_STATUS = p.status("captured", id="wamid.ORDER1", type="payment", payment={
    "reference_id": "order-8841", "amount": {"value": 21000, "offset": 100}, "currency": "INR",
    "transaction": {"id": "pay_N1x2", "type": "razorpay", "status": "success", "created_timestamp": 1728544066,
                    "updated_timestamp": 1728544070, "amount": {"value": 21000, "offset": 100},
                    "currency": "INR", "method": {"type": "upi"}}})
PARTNER_SOLUTION = p.change("partner_solutions", {
    "event": "SOLUTION_UPDATED", "solution_id": "7720461184529937", "solution_status": "ACTIVE"})
ACCOUNT_RESTRICTED = p.change("account_update", {
    "phone_number": p.DISPLAY, "event": "ACCOUNT_RESTRICTION",
    "restriction_info": [{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                          "expiration": "2026-04-19T13:59:20+0000"}]})
ACCOUNT_BANNED = p.change("account_update", {
    "event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": ["DISABLE"], "waba_ban_date": "2026-03-01"}})
AUTH_INTL_ELIGIBLE = p.change("account_update", {
    "event": "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE", "auth_international_rate_eligibility": {
        "start_time": 1717200000, "exception_countries": [{"country_code": "IN", "start_time": 1719792000}]}})
#: The OpenAPI spec's spelling of the participants field.
GROUP_PARTICIPANT_SINGULAR = {**cg.GROUP_PARTICIPANT_LEFT, "entry": [{
    **cg.GROUP_PARTICIPANT_LEFT["entry"][0],
    "changes": [{**cg.GROUP_PARTICIPANT_LEFT["entry"][0]["changes"][0], "field": "group_participant_update"}]}]}


def _message_case(name: str, message: dict[str, Any], expect: dict[str, Any]) -> Case:
    return Case(f"messages:{name}", "messages", _msg(message), MessageUpdate, expect, f"payloads.MESSAGES[{name!r}]")


CASES: list[Case] = [
    # --- messages: every message type --------------------------------------------------------------
    _message_case("text", _MESSAGES["text"], {"message.type": "text", "text": "hi there", "name": "Sheena Nelson"}),
    _message_case("image", _MESSAGES["image"], {"message.image.id": "1003383421387256", "text": "Taj Mahal"}),
    _message_case("video", _MESSAGES["video"], {"message.video.mime_type": "video/mp4", "text": "clip"}),
    _message_case("audio", _MESSAGES["voice"], {"message.audio.voice": True}),
    _message_case("document", _MESSAGES["document"], {"message.document.filename": "invoice.pdf"}),
    _message_case("sticker", _MESSAGES["sticker"], {"message.sticker.animated": True}),
    _message_case("location", _MESSAGES["location"], {"message.location.latitude": 37.44,
                                                      "message.location.name": "Philz"}),
    _message_case("contacts", _MESSAGES["contacts"], {"message.contacts.0.phones.0.wa_id": "19835552319"}),
    _message_case("button", _MESSAGES["button"], {"button_id": "unsub-1", "interactive_type": "button"}),
    _message_case("button_reply", _MESSAGES["button_reply"], {"button_id": "yes", "reply_to_id": "wamid.ASKED"}),
    _message_case("list_reply", _MESSAGES["list_reply"], {"list_reply.id": "priority_express"}),
    _message_case("nfm_reply", _MESSAGES["nfm_reply"], {"flow_reply.name": "flow", "interactive_type": "nfm_reply"}),
    Case("messages:call_permission_reply", "messages", _msg(CALL_PERMISSION_REPLY), MessageUpdate,
         {"interactive_type": "call_permission_reply",
          "message.interactive.call_permission_reply.response": "accept",
          "message.interactive.call_permission_reply.expiration_timestamp": datetime.fromtimestamp(1749600000, UTC)},
         "field_inventory.CALL_PERMISSION_REPLY"),
    _message_case("reaction", _MESSAGES["reaction"], {"reaction.message_id": "wamid.MINE",
                                                      "reaction.emoji": "\U0001f44d"}),
    _message_case("order", _MESSAGES["order"], {"message.order.product_items.0.quantity": 2}),
    _message_case("system", _MESSAGES["system number change"], {"message.system.type": "user_changed_number",
                                                                "message.system.wa_id": "12195555358"}),
    _message_case("system identity", _MESSAGES["system identity"], {
        "message.system.type": "customer_identity_changed", "message.identity.acknowledged": True}),
    _message_case("referral", _MESSAGES["referral"], {"message.referral.ctwa_clid": "Aff-1",
                                                      "message.referral.welcome_message.text": "Hi!"}),
    _message_case("unsupported", _MESSAGES["unsupported"], {"message.unsupported.type": "poll",
                                                            "message.errors.0.code": 131051}),
    _message_case("unknown", _MESSAGES["unknown"], {"message.type": "unknown", "message.errors.0.code": 131051}),
    _message_case("request_welcome", _MESSAGES["request_welcome"], {"message.type": "request_welcome"}),
    Case("messages:ephemeral", "messages", _msg(EPHEMERAL), MessageUpdate,
         {"message.type": "ephemeral", "id": "wamid.EPHEMERAL1"}, "field_inventory.EPHEMERAL"),
    _message_case("revoke", _MESSAGES["revoke"], {"message.revoke.original_message_id": "wamid.OLD"}),
    _message_case("edit", _MESSAGES["edit"], {"message.edit.original_message_id": "wamid.OLD"}),
    Case("messages:errors without content", "messages", _msg(MEDIA_TOO_BIG), MessageUpdate,
         {"message.type": "video", "message.errors.0.code": 131052, "media_info": None},
         "field_inventory.MEDIA_TOO_BIG"),
    Case("messages:group message", "messages", cg.GROUP_TEXT_MESSAGE, MessageUpdate,
         {"group_id": cg.GROUP_ID, "text": "hello group"}, "payloads_calls_groups.GROUP_TEXT_MESSAGE"),
    Case("messages:username-only customer", "messages",
         _env(p.change("messages", p.messages_value(q.USERNAME_MESSAGE, contacts=[q.USERNAME_CONTACT]))),
         MessageUpdate, {"phone": None, "user_id": q.BSUID, "username": "ana.w", "sender.key": q.PARENT},
         "payloads_2026.USERNAME_MESSAGE"),
    # --- messages: statuses and value-level errors ------------------------------------------------
    *[Case(f"messages:status {name}", "messages", p.statuses(st), StatusUpdate,
           {"status.status": st["status"], "status.recipient_id": p.USER}, f"payloads.STATUSES[{name!r}]")
      for name, st in _STATUSES.items() if name != "failed"],
    Case("messages:status failed", "messages", p.statuses(_STATUSES["failed"]), StatusUpdate,
         {"status.status": "failed", "errors.0.code": 131050}, "payloads.STATUSES['failed']"),
    Case("messages:status payment", "messages", p.statuses(PAYMENT_STATUS), StatusUpdate,
         {"status.type": "payment", "status.status": "captured", "status.payment.reference_id": "order-8841",
          "status.payment.amount.decimal": 210.0, "status.payment.transaction.method.type": "upi"},
         "field_inventory.PAYMENT_STATUS"),
    Case("messages:errors", "messages", _env(p.VALUE_ERRORS, None), ErrorUpdate,
         {"error.code": 130429, "metadata.phone_number_id": p.PHONE_ID}, "payloads.VALUE_ERRORS"),
    # --- the other fields -------------------------------------------------------------------------
    Case("smb_message_echoes", "smb_message_echoes", _env(p.ECHOES), MessageEchoUpdate,
         {"message.to": p.USER, "content.text.body": "sent from the app"}, "payloads.ECHOES"),
    Case("user_preferences", "user_preferences", _env(p.USER_PREFERENCES), UserPreferencesUpdate,
         {"opted_out": True, "preference.category": "marketing_messages"}, "payloads.USER_PREFERENCES"),
    Case("message_template_status_update", "message_template_status_update", _env(p.TEMPLATE_STATUS),
         TemplateStatusUpdate, {"value.event": "REJECTED", "value.message_template_id": 1689556908129832,
                                "value.rejection_info.recommendation": "fix it",
                                "time": datetime.fromtimestamp(q.TIME, UTC)}, "payloads.TEMPLATE_STATUS"),
    Case("message_template_quality_update", "message_template_quality_update", _env(p.TEMPLATE_QUALITY),
         TemplateQualityUpdate, {"value.new_quality_score": "YELLOW", "value.previous_quality_score": "GREEN"},
         "payloads.TEMPLATE_QUALITY"),
    Case("message_template_components_update", "message_template_components_update",
         _env(q.TEMPLATE_COMPONENTS), TemplateComponentsUpdate,
         {"value.message_template_title": "Order confirmed",
          "value.message_template_buttons.1.message_template_button_phone_number": "+15550783881"},
         "payloads_2026.TEMPLATE_COMPONENTS"),
    Case("template_category_update", "template_category_update", _env(p.TEMPLATE_CATEGORY),
         TemplateCategoryUpdate, {"value.new_category": "MARKETING"}, "payloads.TEMPLATE_CATEGORY"),
    Case("account_update:partner removed", "account_update", _env(p.ACCOUNT_UPDATE), AccountUpdate,
         {"value.event": "PARTNER_REMOVED", "value.disconnection_info.initiated_by": "BUSINESS"},
         "payloads.ACCOUNT_UPDATE"),
    Case("account_update:restriction", "account_update", _env(ACCOUNT_RESTRICTED), AccountUpdate,
         {"value.restriction_info.0.restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING"},
         "field_inventory.ACCOUNT_RESTRICTED"),
    Case("account_update:ban", "account_update", _env(ACCOUNT_BANNED), AccountUpdate,
         {"value.ban_info.waba_ban_state": ["DISABLE"], "value.ban_info.waba_ban_date": "2026-03-01"},
         "field_inventory.ACCOUNT_BANNED"),
    Case("account_update:auth-international", "account_update", _env(AUTH_INTL_ELIGIBLE), AccountUpdate,
         {"value.auth_international_rate_eligibility.exception_countries.0.country_code": "IN",
          "value.auth_international_rate_eligibility.start_time": datetime.fromtimestamp(1717200000, UTC)},
         "field_inventory.AUTH_INTL_ELIGIBLE"),
    Case("account_alerts", "account_alerts", _env(q.ACCOUNT_ALERTS), AccountAlertUpdate,
         {"value.alert_info.alert_type": "OBA_REJECTED", "value.entity_type": "PHONE_NUMBER"},
         "payloads_2026.ACCOUNT_ALERTS"),
    Case("account_review_update", "account_review_update", _env(q.ACCOUNT_REVIEW), AccountReviewUpdate,
         {"value.decision": "APPROVED"}, "payloads_2026.ACCOUNT_REVIEW"),
    Case("business_capability_update", "business_capability_update", _env(q.BUSINESS_CAPABILITY),
         BusinessCapabilityUpdate, {"value.max_phone_numbers_per_waba": 25}, "payloads_2026.BUSINESS_CAPABILITY"),
    Case("phone_number_quality_update", "phone_number_quality_update", _env(p.PHONE_QUALITY),
         PhoneNumberQualityUpdate, {"value.event": "THROUGHPUT_UPGRADE"}, "payloads.PHONE_QUALITY"),
    Case("phone_number_name_update", "phone_number_name_update", _env(q.PHONE_NUMBER_NAME), PhoneNumberNameUpdate,
         {"value.decision": "REJECTED", "value.requested_verified_name": "Lucky Shrub"},
         "payloads_2026.PHONE_NUMBER_NAME"),
    Case("security", "security", _env(q.SECURITY), SecurityUpdate,
         {"value.event": "PIN_CHANGED", "value.requester": "2594866070739201"}, "payloads_2026.SECURITY"),
    Case("payment_configuration_update", "payment_configuration_update", _env(q.PAYMENT_CONFIGURATION),
         PaymentConfigurationUpdate, {"value.provider_name": "razorpay",
                                      "value.created_timestamp": datetime.fromtimestamp(1720000000, UTC)},
         "payloads_2026.PAYMENT_CONFIGURATION"),
    Case("flows", "flows", _env(q.FLOW_ERROR_RATE), FlowUpdate,
         {"value.event": "ENDPOINT_ERROR_RATE", "value.error_rate": 15.5, "value.errors.0.error_count": 145},
         "payloads_2026.FLOW_ERROR_RATE"),
    Case("automatic_events", "automatic_events", _env(q.AUTOMATIC_EVENTS), AutomaticEventUpdate,
         {"event.event_name": "Purchase", "event.custom_data.value": 25.5}, "payloads_2026.AUTOMATIC_EVENTS"),
    Case("history", "history", _env(q.HISTORY), HistoryUpdate,
         {"chunk.metadata.progress": 55, "chunk.threads.0.id": p.USER}, "payloads_2026.HISTORY"),
    Case("smb_app_state_sync", "smb_app_state_sync", _env(q.STATE_SYNC), StateSyncUpdate,
         {"item.action": "add", "item.contact.phone_number": p.USER}, "payloads_2026.STATE_SYNC"),
    Case("partner_solutions", "partner_solutions", _env(PARTNER_SOLUTION), PartnerSolutionUpdate,
         {"value.solution_status": "ACTIVE", "value.solution_id": "7720461184529937", "waba_id": p.WABA},
         "field_inventory.PARTNER_SOLUTION"),
    # --- calling ----------------------------------------------------------------------------------
    Case("calls:connect (user-initiated)", "calls", cg.USER_CALL_CONNECT, CallUpdate,
         {"event": "connect", "call.sdp": cg.SDP, "opens_service_window": True, "user": cg.USER},
         "payloads_calls_groups.USER_CALL_CONNECT"),
    Case("calls:connect (business-initiated)", "calls", cg.BUSINESS_CALL_CONNECT, CallUpdate,
         {"event": "connect", "call.session.sdp_type": "answer", "opens_service_window": False, "user": cg.USER},
         "payloads_calls_groups.BUSINESS_CALL_CONNECT"),
    Case("calls:terminate", "calls", cg.CALL_TERMINATE_COMPLETED, CallUpdate,
         {"event": "terminate", "call.status": "COMPLETED", "call.duration": 76},
         "payloads_calls_groups.CALL_TERMINATE_COMPLETED"),
    Case("calls:status", "calls", cg.call_status("RINGING"), CallStatusUpdate,
         {"status.status": "RINGING", "call_id": cg.CALL_ID}, "payloads_calls_groups.call_status('RINGING')"),
    # --- groups -----------------------------------------------------------------------------------
    Case("group_lifecycle_update", "group_lifecycle_update", cg.GROUP_CREATED, GroupLifecycleUpdate,
         {"group.type": "group_create", "group.invite_link": "https://chat.whatsapp.com/LINK_ID"},
         "payloads_calls_groups.GROUP_CREATED"),
    Case("group_participants_update", "group_participants_update", cg.GROUP_REMOVE_PARTIAL,
         GroupParticipantsUpdate, {"group.removed_participants.0.input": cg.USER,
                                   "group.failed_participants.0.errors.0.code": 131212},
         "payloads_calls_groups.GROUP_REMOVE_PARTIAL"),
    Case("group_participant_update", "group_participant_update", GROUP_PARTICIPANT_SINGULAR,
         GroupParticipantsUpdate, {"group.initiated_by": "participant"},
         "payloads_calls_groups.GROUP_PARTICIPANT_LEFT (singular field name)"),
    Case("group_settings_update", "group_settings_update", cg.GROUP_SETTINGS_CHANGED, GroupSettingsUpdate,
         {"group.group_subject.text": "Watch Enthusiasts", "group.group_description.update_successful": False,
          "group.profile_picture.update_successful": True},
         "payloads_calls_groups.GROUP_SETTINGS_CHANGED"),
    Case("group_status_update", "group_status_update", cg.GROUP_SUSPENDED, GroupStatusUpdate,
         {"group.suspended": True}, "payloads_calls_groups.GROUP_SUSPENDED"),
]


#: Meta's OpenAPI webhook examples (``POST /whatsapp/webhooks``), by name: the class and values to check.
OPENAPI_EXAMPLES: dict[str, tuple[type[Update], dict[str, Any]]] = {
    "Text Message": (MessageUpdate, {"text": "Does it come in another color?", "name": "Sheena Nelson"}),
    "Text Message with Context (Product Inquiry)": (
        MessageUpdate, {"message.context.referred_product.product_retailer_id": "di9ozbzfi4"}),
    "Text Message from Click to WhatsApp Ad": (
        MessageUpdate, {"message.referral.source_type": "ad", "message.referral.media_type": "image"}),
    "Reaction Message": (MessageUpdate, {"reaction.emoji": "\U0001f44d"}),
    "Image Message": (MessageUpdate, {"message.image.id": "1003383421387256", "text": "Taj Mahal"}),
    "Location Message": (MessageUpdate, {"message.type": "location"}),
    "Contact Sharing Message": (MessageUpdate, {"message.type": "contacts"}),
    "Unsupported Message": (MessageUpdate, {"message.type": "unsupported", "message.errors.0.code": 131051}),
    "Button Message": (MessageUpdate, {"interactive_type": "button"}),
    "Interactive List Reply Message": (MessageUpdate, {"interactive_type": "list_reply"}),
    "Interactive Button Reply Message": (MessageUpdate, {"interactive_type": "button_reply"}),
    "Order Message": (MessageUpdate, {"message.type": "order"}),
    "System Message": (MessageUpdate, {"message.type": "system", "message.system.type": "user_changed_number"}),
    "Group Create Message": (GroupLifecycleUpdate, {"group.type": "group_create",
                                                    "group.added_participants.1.wa_id": "16505551235"}),
    "Group Settings Update": (GroupSettingsUpdate, {"field": "group_settings_update",
                                                    "group.profile_picture.mime_type": "image/jpeg"}),
    # Meta's example says type group_create here; the field and the removed participants are what count.
    "Group Remove Participants": (GroupParticipantsUpdate, {"field": "group_participants_update",
                                                            "group.removed_participants.0.wa_id": "16505551234"}),
}
