"""Webhook payloads of the fields and identities added in 2025-2026, written from Meta's documented shapes."""

from __future__ import annotations

from .payloads import DISPLAY, METADATA, USER, change

BSUID = "US.13491208655302741918"
PARENT = "US.ENT.11815799212886844830"
TIME = 1751247548

#: A customer who adopted a username and reaches the business without a phone number.
USERNAME_CONTACT = {"profile": {"name": "Ana", "username": "ana.w"}, "user_id": BSUID, "parent_user_id": PARENT}
USERNAME_MESSAGE = {"from_user_id": BSUID, "id": "wamid.UNAME1", "timestamp": "1749416383", "type": "text",
                    "text": {"body": "hi, no number here"}}

ACCOUNT_ALERTS = change("account_alerts", {
    "entity_type": "PHONE_NUMBER", "entity_id": "106540352242922",
    "alert_info": {"alert_severity": "CRITICAL", "alert_status": "ACTIVE", "alert_type": "OBA_REJECTED",
                   "alert_description": "Your request for Official Business Account status was rejected."}})
ACCOUNT_REVIEW = change("account_review_update", {"decision": "APPROVED"})
BUSINESS_CAPABILITY = change("business_capability_update", {
    "max_daily_conversation_per_phone": 2000, "max_daily_conversations_per_business": 2000,
    "max_phone_numbers_per_business": 2, "max_phone_numbers_per_waba": 25})
PHONE_NUMBER_NAME = change("phone_number_name_update", {
    "display_phone_number": DISPLAY, "decision": "REJECTED", "requested_verified_name": "Lucky Shrub",
    "rejection_reason": "NAME_FORMAT_UNACCEPTABLE"})
TEMPLATE_COMPONENTS = change("message_template_components_update", {
    "message_template_id": 1689556908129832, "message_template_name": "order_confirmation",
    "message_template_language": "en-US", "message_template_element": "Thank you, {{1}}! Your order ships soon.",
    "message_template_title": "Order confirmed", "message_template_footer": "Lucky Shrub",
    "message_template_buttons": [
        {"message_template_button_type": "URL", "message_template_button_text": "Track",
         "message_template_button_url": "https://www.luckyshrub.com/track/{{1}}"},
        {"message_template_button_type": "PHONE_NUMBER", "message_template_button_text": "Call us",
         "message_template_button_phone_number": "+15550783881"}]})
SECURITY = change("security", {"display_phone_number": DISPLAY, "event": "PIN_CHANGED",
                               "requester": "2594866070739201"})
PAYMENT_CONFIGURATION = change("payment_configuration_update", {
    "configuration_name": "upi-main", "provider_name": "razorpay", "provider_mid": "acc_9384",
    "status": "Active", "created_timestamp": 1720000000, "updated_timestamp": 1720003600})
FLOW_STATUS = change("flows", {"event": "FLOW_STATUS_CHANGE", "message": "Flow Lead Form changed status",
                               "flow_id": "1179851136283590", "old_status": "DRAFT", "new_status": "PUBLISHED"})
FLOW_ERROR_RATE = change("flows", {
    "event": "ENDPOINT_ERROR_RATE", "message": "Endpoint error rate is above 10%", "flow_id": "1179851136283590",
    "alert_state": "ACTIVATED", "error_rate": 15.5, "threshold": 10, "requests_count": 1200,
    "errors": [{"error_type": "TIMEOUT_ERROR", "error_rate": 12.1, "error_count": 145}]})
AUTOMATIC_EVENTS = change("automatic_events", {
    "messaging_product": "whatsapp", "metadata": METADATA,
    "automatic_events": [
        {"id": "wamid.PURCHASE1", "event_name": "Purchase", "timestamp": 1739321024, "ctwa_clid": "Aff-9",
         "custom_data": {"currency": "USD", "value": 25.5}},
        {"id": "wamid.LEAD1", "event_name": "LeadSubmitted", "timestamp": 1739321100, "ctwa_clid": "Aff-9"}]})
HISTORY = change("history", {
    "messaging_product": "whatsapp", "metadata": METADATA,
    "history": [{"metadata": {"phase": 0, "chunk_order": 1, "progress": 55},
                 "threads": [{"id": USER, "messages": [
                     {"from": USER, "id": "wamid.HIST1", "timestamp": "1738000000", "type": "text",
                      "text": {"body": "old hello"}, "history_context": {"status": "READ"}},
                     {"from": DISPLAY, "to": USER, "id": "wamid.HIST2", "timestamp": "1738000100",
                      "type": "text", "text": {"body": "old reply"}, "history_context": {"status": "DELIVERED"}},
                 ]}]}]})
HISTORY_DECLINED = change("history", {
    "messaging_product": "whatsapp", "metadata": METADATA,
    "history": [{"errors": [{"code": 2593109, "title": "History sync is turned off by the business",
                             "message": "History sync is turned off by the business",
                             "error_data": {"details": "The business declined to share chat history."}}]}]})
STATE_SYNC = change("smb_app_state_sync", {
    "messaging_product": "whatsapp", "metadata": METADATA,
    "state_sync": [
        {"type": "contact", "contact": {"full_name": "Sheena Nelson", "first_name": "Sheena",
                                        "phone_number": USER},
         "action": "add", "metadata": {"timestamp": "1739321024"}},
        {"type": "contact", "contact": {"phone_number": "16505550000"}, "action": "remove",
         "metadata": {"timestamp": "1739321090"}}]})
