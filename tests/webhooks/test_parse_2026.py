"""parse() on the 2026 Cloud API: every account field typed, BSUIDs and usernames, phone-less customers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from wacloud.bot import Application, filters
from wacloud.webhooks import (
    KNOWN_FIELDS,
    AccountAlertUpdate,
    AccountReviewUpdate,
    AutomaticEventUpdate,
    BusinessCapabilityUpdate,
    FlowUpdate,
    HistoryUpdate,
    MessageEchoUpdate,
    MessageUpdate,
    PaymentConfigurationUpdate,
    PhoneNumberNameUpdate,
    RawUpdate,
    SecurityUpdate,
    StateSyncUpdate,
    StatusUpdate,
    TemplateComponentsUpdate,
    Update,
    UserPreferencesUpdate,
    parse,
)
from wacloud.webhooks import models as m

from . import payloads as p
from . import payloads_2026 as q


def _all(chg: dict[str, Any]) -> list[Update]:
    return parse(p.body(p.envelope(chg, time=q.TIME)))


def _one(chg: dict[str, Any]) -> Update:
    updates = _all(chg)
    assert len(updates) == 1, updates
    return updates[0]


def _messages(*messages: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    return p.change("messages", p.messages_value(*messages, contacts=contacts))


# --- every account-level field ------------------------------------------------------------------


@pytest.mark.parametrize(("chg", "cls"), [
    (q.ACCOUNT_ALERTS, AccountAlertUpdate), (q.ACCOUNT_REVIEW, AccountReviewUpdate),
    (q.BUSINESS_CAPABILITY, BusinessCapabilityUpdate), (q.PHONE_NUMBER_NAME, PhoneNumberNameUpdate),
    (q.TEMPLATE_COMPONENTS, TemplateComponentsUpdate), (q.SECURITY, SecurityUpdate),
    (q.PAYMENT_CONFIGURATION, PaymentConfigurationUpdate), (q.FLOW_STATUS, FlowUpdate),
    (q.FLOW_ERROR_RATE, FlowUpdate),
], ids=lambda x: x["field"] if isinstance(x, dict) else x.__name__)
def test_account_fields_are_typed(chg: dict[str, Any], cls: type[Update]) -> None:
    upd = _one(chg)
    assert type(upd) is cls and chg["field"] in KNOWN_FIELDS
    assert (upd.field, upd.waba_id, upd.time) == (chg["field"], p.WABA, datetime.fromtimestamp(q.TIME, tz=UTC))
    assert upd.raw == chg["value"] and upd.dedup_key is None


def test_account_field_values() -> None:
    alert = _one(q.ACCOUNT_ALERTS)
    assert isinstance(alert, AccountAlertUpdate) and alert.value.alert_info is not None
    assert (alert.value.entity_type, alert.value.entity_id) == ("PHONE_NUMBER", "106540352242922")
    assert (alert.value.alert_info.alert_severity, alert.value.alert_info.alert_status,
            alert.value.alert_info.alert_type) == ("CRITICAL", "ACTIVE", "OBA_REJECTED")
    review = _one(q.ACCOUNT_REVIEW)
    assert isinstance(review, AccountReviewUpdate) and review.value.decision == "APPROVED"
    cap = _one(q.BUSINESS_CAPABILITY)
    assert isinstance(cap, BusinessCapabilityUpdate)
    assert (cap.value.max_daily_conversations_per_business, cap.value.max_phone_numbers_per_business,
            cap.value.max_phone_numbers_per_waba, cap.value.max_daily_conversation_per_phone) == (2000, 2, 25, 2000)
    name = _one(q.PHONE_NUMBER_NAME)
    assert isinstance(name, PhoneNumberNameUpdate)
    assert (name.value.decision, name.value.requested_verified_name, name.value.rejection_reason) == (
        "REJECTED", "Lucky Shrub", "NAME_FORMAT_UNACCEPTABLE")
    comp = _one(q.TEMPLATE_COMPONENTS)
    assert isinstance(comp, TemplateComponentsUpdate)
    assert comp.value.message_template_id == 1689556908129832
    assert comp.value.message_template_element == "Thank you, {{1}}! Your order ships soon."
    assert (comp.value.message_template_title, comp.value.message_template_footer) == ("Order confirmed",
                                                                                        "Lucky Shrub")
    url, phone = comp.value.message_template_buttons
    assert (url.message_template_button_type, url.message_template_button_url) == (
        "URL", "https://www.luckyshrub.com/track/{{1}}")
    assert phone.message_template_button_phone_number == "+15550783881"
    sec = _one(q.SECURITY)
    assert isinstance(sec, SecurityUpdate)
    assert (sec.value.event, sec.value.requester, sec.value.display_phone_number) == (
        "PIN_CHANGED", "2594866070739201", p.DISPLAY)
    pay = _one(q.PAYMENT_CONFIGURATION)
    assert isinstance(pay, PaymentConfigurationUpdate)
    assert (pay.value.configuration_name, pay.value.provider_name, pay.value.provider_mid, pay.value.status) == (
        "upi-main", "razorpay", "acc_9384", "Active")
    assert pay.value.updated_timestamp == datetime.fromtimestamp(1720003600, tz=UTC)
    flow = _one(q.FLOW_STATUS)
    assert isinstance(flow, FlowUpdate)
    assert (flow.value.event, flow.value.flow_id, flow.value.old_status, flow.value.new_status) == (
        "FLOW_STATUS_CHANGE", "1179851136283590", "DRAFT", "PUBLISHED")
    rate = _one(q.FLOW_ERROR_RATE)
    assert isinstance(rate, FlowUpdate)
    assert (rate.value.alert_state, rate.value.error_rate, rate.value.threshold, rate.value.requests_count) == (
        "ACTIVATED", 15.5, 10, 1200)
    assert rate.value.errors[0]["error_type"] == "TIMEOUT_ERROR"


def test_a_bad_account_value_is_raw_and_names_the_field() -> None:
    upd = _one(p.change("security", {"display_phone_number": p.DISPLAY}))  # no event
    assert isinstance(upd, RawUpdate) and upd.field == "security" and "event" in upd.reason


def test_automatic_events_one_update_each() -> None:
    purchase, lead = _all(q.AUTOMATIC_EVENTS)
    assert isinstance(purchase, AutomaticEventUpdate) and isinstance(lead, AutomaticEventUpdate)
    assert (purchase.event.event_name, purchase.event.ctwa_clid) == ("Purchase", "Aff-9")
    assert purchase.event.custom_data is not None
    assert (purchase.event.custom_data.currency, purchase.event.custom_data.value) == ("USD", 25.5)
    assert purchase.event.timestamp == datetime.fromtimestamp(1739321024, tz=UTC)
    assert purchase.metadata is not None and purchase.metadata.phone_number_id == p.PHONE_ID
    assert lead.event.event_name == "LeadSubmitted" and lead.event.custom_data is None
    assert (purchase.dedup_key, lead.dedup_key) == ("auto:wamid.PURCHASE1:Purchase", "auto:wamid.LEAD1:LeadSubmitted")


# --- coexistence ----------------------------------------------------------------------------------


def test_history_chunks_and_their_messages() -> None:
    upd = _one(q.HISTORY)
    assert isinstance(upd, HistoryUpdate) and upd.chunk.metadata is not None
    assert (upd.chunk.metadata.phase, upd.chunk.metadata.chunk_order, upd.chunk.metadata.progress) == (0, 1, 55)
    (thread,) = upd.chunk.threads
    assert thread.id == p.USER and len(thread.messages) == 2
    first, second = thread.typed_messages()
    assert isinstance(first, m.TextMessage) and first.text.body == "old hello" and first.phone == p.USER
    assert isinstance(second, m.TextMessage) and second.id == "wamid.HIST2"
    declined = _one(q.HISTORY_DECLINED)
    assert isinstance(declined, HistoryUpdate) and declined.chunk.threads == []
    assert declined.chunk.errors[0].code == 2593109


def test_app_state_sync_one_update_per_contact_change() -> None:
    added, removed = _all(q.STATE_SYNC)
    assert isinstance(added, StateSyncUpdate) and isinstance(removed, StateSyncUpdate)
    assert added.item.type == "contact" and added.item.action == "add" and added.item.contact is not None
    assert (added.item.contact.full_name, added.item.contact.phone_number) == ("Sheena Nelson", p.USER)
    assert added.item.metadata is not None
    assert added.item.metadata.timestamp == datetime.fromtimestamp(1739321024, tz=UTC)
    assert removed.item.action == "remove"


def test_coexistence_edit_and_revoke_from_a_username_only_customer() -> None:
    edit = {"from_user_id": q.BSUID, "id": "wamid.E1", "timestamp": "1749416383", "type": "edit",
            "edit": {"original_message_id": "wamid.OLD", "message": {"type": "text", "text": {"body": "new"}}}}
    revoke = {"from_user_id": q.BSUID, "id": "wamid.R1", "timestamp": "1749416383", "type": "revoke",
              "revoke": {"original_message_id": "wamid.OLD"}}
    e, r = _all(_messages(edit, revoke, contacts=[q.USERNAME_CONTACT]))
    assert isinstance(e, MessageUpdate) and isinstance(e.message, m.EditMessage)
    new = e.message.edited()
    assert isinstance(new, m.TextMessage) and new.text.body == "new" and new.from_user_id == q.BSUID
    assert new.phone is None
    assert isinstance(r, MessageUpdate) and isinstance(r.message, m.RevokeMessage) and r.user_id == q.BSUID


# --- BSUIDs, usernames, phone-less customers ------------------------------------------------------


def test_a_username_only_customer_message_parses_without_a_phone_number() -> None:
    upd = _one(_messages(q.USERNAME_MESSAGE, contacts=[q.USERNAME_CONTACT]))
    assert isinstance(upd, MessageUpdate) and isinstance(upd.message, m.TextMessage)
    assert upd.message.phone is None and upd.phone is None
    assert upd.from_ == upd.wa_id == q.BSUID  # the address to answer: the BSUID when there is no number
    assert (upd.user_id, upd.username, upd.name, upd.text) == (q.BSUID, "ana.w", "Ana", "hi, no number here")
    who = upd.sender
    assert (who.wa_id, who.user_id, who.parent_user_id) == (None, q.BSUID, q.PARENT)
    assert who.address == q.BSUID and who.key == q.PARENT and not who.has_phone
    assert upd.dedup_key == "wamid.UNAME1"


def test_a_customer_with_phone_and_bsuid_exposes_both() -> None:
    contact = {"profile": {"name": "Sheena", "username": "sheena"}, "wa_id": p.USER, "user_id": q.BSUID}
    upd = _one(_messages(p.msg("text", {"body": "x"}, from_user_id=q.BSUID), contacts=[contact]))
    assert isinstance(upd, MessageUpdate)
    assert (upd.from_, upd.phone, upd.user_id, upd.username) == (p.USER, p.USER, q.BSUID, "sheena")
    assert upd.sender.address == p.USER and upd.sender.key == q.BSUID and upd.sender.has_phone


def test_a_message_with_no_sender_at_all_is_raw() -> None:
    anonymous = {"id": "wamid.NOBODY", "timestamp": "1749416383", "type": "text", "text": {"body": "?"}}
    upd = _one(_messages(anonymous, contacts=[]))
    assert isinstance(upd, RawUpdate) and "from_user_id" in upd.reason and upd.raw == anonymous


def test_contacts_are_matched_to_phone_less_senders_by_bsuid() -> None:
    other = {"profile": {"name": "Bo"}, "wa_id": p.USER, "user_id": "US.999"}
    second = dict(q.USERNAME_MESSAGE, id="wamid.UNAME2")
    first = p.msg("text", {"body": "from Bo"})
    a, b = _all(_messages(second, first, contacts=[other, q.USERNAME_CONTACT]))
    assert isinstance(a, MessageUpdate) and a.contact is not None and a.contact.user_id == q.BSUID
    assert isinstance(b, MessageUpdate) and b.contact is not None and b.contact.user_id == "US.999"


def test_status_with_recipient_user_id_and_contacts() -> None:
    status = p.status("read", recipient_user_id=q.BSUID)
    del status["recipient_id"]  # sent to the BSUID of a username-only customer
    value = {"messaging_product": "whatsapp", "metadata": p.METADATA,
             "contacts": [q.USERNAME_CONTACT], "statuses": [status]}
    upd = _one(p.change("messages", value))
    assert isinstance(upd, StatusUpdate) and upd.status.recipient_id is None
    assert upd.status.recipient_user_id == q.BSUID and upd.contact is not None
    assert upd.recipient.username == "ana.w" and upd.recipient.address == q.BSUID
    assert upd.recipient.key == q.PARENT and upd.dedup_key == f"{status['id']}:read"


def test_status_carrying_its_own_contacts() -> None:
    status = p.status("delivered", recipient_user_id=q.BSUID,
                      contacts=[{"wa_id": p.USER, "user_id": q.BSUID, "profile": {"username": "ana.w"}}])
    upd = _one(p.change("messages", {"messaging_product": "whatsapp", "metadata": p.METADATA,
                                     "statuses": [status]}))
    assert isinstance(upd, StatusUpdate) and upd.contact is not None and upd.contact.user_id == q.BSUID
    assert (upd.recipient.wa_id, upd.recipient.username) == (p.USER, "ana.w")


def test_failed_status_without_contacts_still_names_the_bsuid() -> None:
    status = p.status("failed", recipient_user_id=q.BSUID,
                      errors=[{"code": 131026, "title": "Message undeliverable"}])
    upd = _one(p.change("messages", {"messaging_product": "whatsapp", "metadata": p.METADATA,
                                     "statuses": [status]}))
    assert isinstance(upd, StatusUpdate) and upd.contact is None
    assert upd.recipient.user_id == q.BSUID and upd.errors[0].code == 131026


def test_customer_identity_changed_carries_a_message_level_identity() -> None:
    message = {"from": p.USER, "from_user_id": q.BSUID, "id": "wamid.SYS1", "timestamp": "1749416383",
               "type": "system",
               "identity": {"acknowledged": False, "created_timestamp": 1749416000, "hash": "Sjvjlx8G6Z0="},
               "system": {"body": "Sheena's security code changed.", "type": "customer_identity_changed"}}
    # System messages have no contacts array.
    upd = _one(p.change("messages", {"messaging_product": "whatsapp", "metadata": p.METADATA,
                                     "messages": [message]}))
    assert isinstance(upd, MessageUpdate) and isinstance(upd.message, m.SystemMessage)
    assert upd.contact is None and upd.user_id == q.BSUID
    ident = upd.message.identity
    assert ident is not None and (ident.acknowledged, ident.hash) == (False, "Sjvjlx8G6Z0=")
    assert ident.created_timestamp == datetime.fromtimestamp(1749416000, tz=UTC)
    assert upd.message.system.type == "customer_identity_changed"


def test_user_preferences_of_a_bsuid_customer() -> None:
    value = {"messaging_product": "whatsapp", "metadata": p.METADATA, "contacts": [q.USERNAME_CONTACT],
             "user_preferences": [{"detail": "User requested to stop marketing messages",
                                   "category": "marketing_messages", "value": "stop", "timestamp": 1731705721}]}
    upd = _one(p.change("user_preferences", value))
    assert isinstance(upd, UserPreferencesUpdate) and upd.opted_out
    assert (upd.user.wa_id, upd.user.user_id, upd.user.parent_user_id, upd.user.username) == (
        None, q.BSUID, q.PARENT, "ana.w")


def test_echo_to_a_bsuid_customer() -> None:
    echoes = json.loads(json.dumps(p.ECHOES))
    echoes["value"]["contacts"] = [q.USERNAME_CONTACT]
    del echoes["value"]["message_echoes"][0]["to"]
    upd = _one(echoes)
    assert isinstance(upd, MessageEchoUpdate) and upd.message.to is None and upd.message.phone == p.DISPLAY
    assert upd.recipient.user_id == q.BSUID and upd.recipient.username == "ana.w"


# --- messages without content ---------------------------------------------------------------------


def test_a_known_type_without_its_content_but_with_errors_is_typed() -> None:
    image = {"from": p.USER, "id": "wamid.BIG", "timestamp": "1749416383", "type": "image",
             "errors": [{"code": 131052, "title": "Media download error",
                         "error_data": {"details": "Media file size too big. Max file size we currently "
                                                   "support: 100MB."}}]}
    upd = _one(_messages(image, contacts=[{"wa_id": p.USER}]))
    assert isinstance(upd, MessageUpdate) and isinstance(upd.message, m.FailedMessage)
    assert upd.type == "image" and upd.media_info is None and upd.text is None
    assert upd.message.errors[0].code == 131052 and filters.error_codes(131052)(upd)


def test_unsupported_without_unsupported_object_is_typed() -> None:
    msg = {"from": p.USER, "id": "wamid.U", "timestamp": "1749416383", "type": "unsupported",
           "errors": [{"code": 131051, "title": "Message type unknown"}]}
    upd = _one(_messages(msg, contacts=[{"wa_id": p.USER}]))
    assert isinstance(upd, MessageUpdate) and isinstance(upd.message, m.UnsupportedMessage)
    assert upd.message.unsupported is None and upd.message.errors[0].code == 131051


def test_a_known_type_with_broken_content_stays_raw() -> None:
    bad = p.msg("image", {"caption": "no id"}, errors=[{"code": 1, "title": "x"}])
    upd = _one(_messages(bad, contacts=[]))
    assert isinstance(upd, RawUpdate) and "image" in upd.reason


# --- the future, and the bot framework ------------------------------------------------------------


def test_a_field_meta_adds_later_still_arrives_raw() -> None:
    future = p.change("business_username_update", {"username": "luckyshrub", "status": "approved"})
    upd = _one(future)
    assert isinstance(upd, RawUpdate) and upd.field == "business_username_update"
    assert upd.raw == future and "unknown field" in upd.reason


def test_handlers_receive_the_new_updates_and_phone_less_messages() -> None:
    app = Application()
    seen: list[str] = []
    app.on(FlowUpdate)(lambda upd: seen.append(f"flow:{upd.value.event}"))
    app.on(SecurityUpdate)(lambda upd: seen.append(f"security:{upd.value.event}"))
    app.on_message(filters.text)(lambda upd: seen.append(f"text:{upd.user_id}"))
    app.on_raw(lambda upd: seen.append("raw"))
    payload = {"object": "whatsapp_business_account", "entry": [{"id": p.WABA, "changes": [
        q.FLOW_STATUS, q.SECURITY, _messages(q.USERNAME_MESSAGE, contacts=[q.USERNAME_CONTACT])]}]}
    for upd in parse(p.body(payload)):
        app.dispatch_sync(upd)
    assert seen == ["flow:FLOW_STATUS_CHANGE", "security:PIN_CHANGED", f"text:{q.BSUID}"]


def test_new_decorators_and_bsuid_filters() -> None:
    app = Application()
    seen: list[str] = []
    app.on_flow_event(lambda upd: seen.append("flow"))
    app.on_automatic_event(lambda upd: seen.append(f"auto:{upd.event.event_name}"))
    app.on_history(lambda upd: seen.append(type(upd).__name__))
    app.on_echo(lambda upd: seen.append("echo"))
    app.on_message(filters.from_user_ids(q.PARENT) & filters.username_only)(lambda upd: seen.append("parent"))
    app.on_message(filters.from_users(p.USER))(lambda upd: seen.append("by phone"))
    payload = {"object": "whatsapp_business_account", "entry": [{"id": p.WABA, "changes": [
        q.FLOW_ERROR_RATE, q.AUTOMATIC_EVENTS, q.HISTORY, q.STATE_SYNC, p.ECHOES,
        _messages(q.USERNAME_MESSAGE, contacts=[q.USERNAME_CONTACT]),
        _messages(p.msg("text", {"body": "x"}), contacts=[{"wa_id": p.USER}])]}]}
    for upd in parse(p.body(payload)):
        app.dispatch_sync(upd)
    assert seen == ["flow", "auto:Purchase", "auto:LeadSubmitted", "HistoryUpdate", "StateSyncUpdate",
                    "StateSyncUpdate", "echo", "parent", "by phone"]
    status = _one(p.change("messages", {"messaging_product": "whatsapp", "metadata": p.METADATA,
                                        "statuses": [p.status("read", recipient_user_id=q.BSUID)]}))
    assert filters.from_user_ids(q.BSUID)(status) and not filters.from_user_ids("US.1")(status)
