"""Fixtures shaped after Meta's documented examples for the 2026 webhook fields: ``calls`` and ``group_*``.

Values (ids, numbers, SDP) are made up; the shapes follow the Calling API pages (user- and
business-initiated calls, call status, terminate) and the Webhooks for Groups API page.
"""

from __future__ import annotations

from typing import Any

WABA = "366634483210360"
META = {"display_phone_number": "13175551399", "phone_number_id": "436666719526789"}
USER = "16315553601"
CALL_ID = "wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh"
GROUP_ID = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD"
SDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


def envelope(field: str, value: dict[str, Any]) -> dict[str, Any]:
    """A whole webhook body with one change."""
    return {"object": "whatsapp_business_account",
            "entry": [{"id": WABA, "changes": [{"field": field, "value": value}]}]}


def calls_value(**parts: Any) -> dict[str, Any]:
    """A ``calls`` change value."""
    return {"messaging_product": "whatsapp", "metadata": META, **parts}


# --- calls ---------------------------------------------------------------------------------------

USER_CALL_CONNECT = envelope("calls", calls_value(
    contacts=[{"profile": {"name": "Ada"}, "wa_id": USER}],
    calls=[{"id": CALL_ID, "from": USER, "to": META["display_phone_number"], "event": "connect",
            "timestamp": "1671644824", "direction": "USER_INITIATED",
            "session": {"sdp_type": "offer", "sdp": SDP}}],
))

BUSINESS_CALL_CONNECT = envelope("calls", calls_value(
    calls=[{"id": CALL_ID, "from": META["display_phone_number"], "to": USER, "event": "connect",
            "timestamp": "1749196895", "direction": "BUSINESS_INITIATED",
            "biz_opaque_callback_data": "TRx334DUDFTI4Mj",
            "session": {"sdp_type": "answer", "sdp": SDP}}],
))


def call_status(status: str) -> dict[str, Any]:
    """A business-initiated call's status: RINGING, ACCEPTED or REJECTED."""
    return envelope("calls", calls_value(statuses=[{
        "id": CALL_ID, "timestamp": "1671644824", "type": "call", "status": status, "recipient_id": USER,
        "biz_opaque_callback_data": "TRx334DUDFTI4Mj",
    }]))


CALL_TERMINATE_COMPLETED = envelope("calls", calls_value(
    contacts=[{"profile": {"name": "Ada"}, "wa_id": USER}],
    calls=[{"id": CALL_ID, "from": USER, "to": META["display_phone_number"], "event": "terminate",
            "timestamp": "1671644900", "direction": "USER_INITIATED", "status": "COMPLETED",
            "start_time": "1671644824", "end_time": "1671644900", "duration": 76}],
))

CALL_TERMINATE_FAILED = envelope("calls", calls_value(
    calls=[{"id": CALL_ID, "from": META["display_phone_number"], "to": USER, "event": "terminate",
            "timestamp": "1671644830", "direction": "BUSINESS_INITIATED", "status": "FAILED",
            "biz_opaque_callback_data": "TRx334DUDFTI4Mj",
            "errors": [{"code": 138001, "title": "Receiver uncallable",
                        "message": "Receiver uncallable", "error_data": {"details": "The user cannot be called"}}]}],
))


# --- groups --------------------------------------------------------------------------------------

def groups_value(*groups: dict[str, Any]) -> dict[str, Any]:
    """A group_* change value."""
    return {"messaging_product": "whatsapp", "metadata": META, "groups": list(groups)}


GROUP_CREATED = envelope("group_lifecycle_update", groups_value({
    "timestamp": "1749196895", "group_id": GROUP_ID, "type": "group_create", "request_id": "REQ1",
    "subject": "New Purchase Inquiry", "invite_link": "https://chat.whatsapp.com/LINK_ID",
    "join_approval_mode": "approval_required",
}))

GROUP_CREATE_FAILED = envelope("group_lifecycle_update", groups_value({
    "timestamp": "1749196895", "type": "group_create", "request_id": "REQ2",
    "errors": [{"code": 131211, "message": "Group create limit reached", "title": "Group create limit reached",
                "error_data": {"details": "Reached the maximum number of groups for this number."}}],
}))

GROUP_DELETED = envelope("group_lifecycle_update", groups_value({
    "timestamp": "1749196999", "group_id": GROUP_ID, "type": "group_delete", "request_id": "REQ3",
}))

GROUP_JOINED_BY_LINK = envelope("group_participants_update", groups_value({
    "timestamp": "1749197000", "group_id": GROUP_ID, "type": "group_participants_add",
    "reason": "invite_link", "added_participants": [{"wa_id": USER}],
}))

GROUP_JOIN_REQUESTED = envelope("group_participants_update", groups_value({
    "timestamp": "1749197001", "group_id": GROUP_ID, "type": "group_join_request_created",
    "join_request_id": "MTY0NjcwNDM1OTU6MTIwMzYzNDA0Njk0MjMzODIw", "wa_id": USER,
}))

GROUP_REMOVE_PARTIAL = envelope("group_participants_update", groups_value({
    "timestamp": "1749197002", "group_id": GROUP_ID, "type": "group_participants_remove", "request_id": "REQ4",
    "initiated_by": "business",
    "removed_participants": [{"input": USER}],
    "failed_participants": [{"input": "16315550000", "errors": [{
        "code": 131212, "message": "Participant is not a part of the group.",
        "title": "Participant is not a part of the group."}]}],
}))

GROUP_PARTICIPANT_LEFT = envelope("group_participants_update", groups_value({
    "timestamp": "1749197003", "group_id": GROUP_ID, "type": "group_participants_remove",
    "initiated_by": "participant", "removed_participants": [{"wa_id": USER}],
}))

GROUP_SETTINGS_CHANGED = envelope("group_settings_update", groups_value({
    "timestamp": "1749197004", "group_id": GROUP_ID, "type": "group_settings_update", "request_id": "REQ5",
    "profile_picture": {"mime_type": "image/jpeg", "sha256": "abc123", "update_successful": True},
    "group_subject": {"text": "Watch Enthusiasts", "update_successful": True},
    "group_description": {"text": "x" * 10, "update_successful": False, "errors": [{
        "code": 131009, "message": "Parameter value is not valid", "title": "Parameter value is not valid"}]},
}))

GROUP_SUSPENDED = envelope("group_status_update", groups_value({
    "timestamp": "1749197005", "group_id": GROUP_ID, "type": "group_suspend",
}))

GROUP_SUSPENSION_CLEARED = envelope("group_status_update", groups_value({
    "timestamp": "1749197006", "group_id": GROUP_ID, "type": "group_suspend_cleared",
}))

#: A group message as received: the ``messages`` field, with ``group_id`` on the message.
GROUP_TEXT_MESSAGE = envelope("messages", {
    "messaging_product": "whatsapp", "metadata": META,
    "contacts": [{"profile": {"name": "Ada"}, "wa_id": USER}],
    "messages": [{"from": USER, "group_id": GROUP_ID, "id": "wamid.GROUP1", "timestamp": "1749197007",
                  "type": "text", "text": {"body": "hello group"}}],
})
