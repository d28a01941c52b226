"""The ``calls`` and four ``group_*`` webhook fields parse into typed updates (fixtures after Meta's examples)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from wacloud.errors import ValidationError
from wacloud.webhooks import KNOWN_FIELDS, parse
from wacloud.webhooks.calls import CallStatusUpdate, CallUpdate
from wacloud.webhooks.groups import (
    GroupLifecycleUpdate,
    GroupParticipantsUpdate,
    GroupSettingsUpdate,
    GroupStatusUpdate,
)
from wacloud.webhooks.updates import GroupUpdate, MessageUpdate, RawUpdate, Update

from . import payloads_calls_groups as f


def _one(payload: dict[str, Any]) -> Update:
    updates = parse(json.dumps(payload).encode())
    assert len(updates) == 1, updates
    return updates[0]


def test_calls_and_the_four_group_fields_are_known() -> None:
    assert {"calls", "group_lifecycle_update", "group_participants_update", "group_settings_update",
            "group_status_update"} <= KNOWN_FIELDS


def test_user_initiated_connect_carries_the_sdp_offer_untouched() -> None:
    upd = _one(f.USER_CALL_CONNECT)
    assert isinstance(upd, CallUpdate)
    assert (upd.field, upd.waba_id, upd.event, upd.call_id) == ("calls", f.WABA, "connect", f.CALL_ID)
    assert upd.call.user_initiated and upd.call.from_ == f.USER
    assert upd.call.session is not None and upd.call.session.sdp_type == "offer"
    assert upd.call.sdp == f.SDP  # byte for byte, CRLFs included
    assert upd.call.timestamp == datetime.fromtimestamp(1671644824, tz=UTC)
    assert upd.contact is not None and upd.contact.profile is not None and upd.contact.profile.name == "Ada"
    assert upd.metadata is not None and upd.metadata.phone_number_id == f.META["phone_number_id"]
    assert upd.dedup_key == f"call:{f.CALL_ID}:connect"
    assert upd.opens_service_window and upd.user == f.USER


def test_business_initiated_connect_carries_the_sdp_answer_and_callback_data() -> None:
    upd = _one(f.BUSINESS_CALL_CONNECT)
    assert isinstance(upd, CallUpdate)
    assert not upd.call.user_initiated and upd.call.to == f.USER
    assert upd.call.session is not None and upd.call.session.sdp_type == "answer" and upd.call.sdp == f.SDP
    assert upd.call.biz_opaque_callback_data == "TRx334DUDFTI4Mj"
    assert upd.user == f.USER and not upd.opens_service_window


@pytest.mark.parametrize("status", ["RINGING", "ACCEPTED", "REJECTED"])
def test_call_status(status: str) -> None:
    upd = _one(f.call_status(status))
    assert isinstance(upd, CallStatusUpdate)
    assert (upd.call_id, upd.status.status, upd.status.type) == (f.CALL_ID, status, "call")
    assert upd.status.recipient_id == f.USER and upd.dedup_key == f"call:{f.CALL_ID}:{status}"


def test_terminate_completed_has_duration_and_times() -> None:
    upd = _one(f.CALL_TERMINATE_COMPLETED)
    assert isinstance(upd, CallUpdate) and upd.event == "terminate"
    assert (upd.call.status, upd.call.duration) == ("COMPLETED", 76)
    assert upd.call.start_time == datetime.fromtimestamp(1671644824, tz=UTC)
    assert upd.call.end_time == datetime.fromtimestamp(1671644900, tz=UTC)
    assert upd.dedup_key == f"call:{f.CALL_ID}:terminate"


def test_terminate_failed_carries_the_error() -> None:
    upd = _one(f.CALL_TERMINATE_FAILED)
    assert isinstance(upd, CallUpdate) and upd.call.status == "FAILED"
    assert [e.code for e in upd.call.errors] == [138001]


def test_a_bad_call_item_does_not_block_the_good_one_beside_it() -> None:
    good = f.USER_CALL_CONNECT["entry"][0]["changes"][0]["value"]["calls"][0]
    payload = f.envelope("calls", f.calls_value(calls=[{"id": "wacid.x"}, good], statuses="nope"))
    updates = parse(json.dumps(payload).encode())
    kinds = [type(u) for u in updates]
    assert kinds.count(RawUpdate) == 2 and kinds.count(CallUpdate) == 1
    bad = next(u for u in updates if isinstance(u, RawUpdate) and u.raw == {"id": "wacid.x"})
    assert "event" in bad.reason
    assert isinstance(_one(f.envelope("calls", {"messaging_product": "whatsapp"})), RawUpdate)


def test_group_lifecycle() -> None:
    created = _one(f.GROUP_CREATED)
    assert isinstance(created, GroupLifecycleUpdate) and isinstance(created, GroupUpdate)
    assert created.group.succeeded and created.group.type == "group_create"
    assert created.group.invite_link == "https://chat.whatsapp.com/LINK_ID"
    assert created.group.join_approval_mode == "approval_required"
    assert created.dedup_key == f"group:{f.GROUP_ID}:group_create:REQ1"

    failed = _one(f.GROUP_CREATE_FAILED)
    assert isinstance(failed, GroupLifecycleUpdate) and not failed.group.succeeded
    assert failed.group.errors[0].code == 131211

    deleted = _one(f.GROUP_DELETED)
    assert isinstance(deleted, GroupLifecycleUpdate) and deleted.group.type == "group_delete"


def test_group_participants() -> None:
    joined = _one(f.GROUP_JOINED_BY_LINK)
    assert isinstance(joined, GroupParticipantsUpdate)
    assert joined.group.reason == "invite_link" and [p.wa_id for p in joined.group.added_participants] == [f.USER]
    assert joined.dedup_key == f"group:{f.GROUP_ID}:group_participants_add:{f.USER}:1749197000"

    asked = _one(f.GROUP_JOIN_REQUESTED)
    assert isinstance(asked, GroupParticipantsUpdate) and asked.group.type == "group_join_request_created"
    assert asked.group.join_request_id and asked.group.wa_id == f.USER

    partial = _one(f.GROUP_REMOVE_PARTIAL)
    assert isinstance(partial, GroupParticipantsUpdate) and partial.group.initiated_by == "business"
    assert [p.input for p in partial.group.removed_participants] == [f.USER]
    assert [(p.input, p.errors[0].code) for p in partial.group.failed_participants] == [("16315550000", 131212)]

    left = _one(f.GROUP_PARTICIPANT_LEFT)
    assert isinstance(left, GroupParticipantsUpdate) and left.group.initiated_by == "participant"


def test_group_settings_report_each_change() -> None:
    upd = _one(f.GROUP_SETTINGS_CHANGED)
    assert isinstance(upd, GroupSettingsUpdate)
    g = upd.group
    assert g.group_subject is not None and (g.group_subject.text, g.group_subject.update_successful) == (
        "Watch Enthusiasts", True)
    assert g.group_description is not None and g.group_description.update_successful is False
    assert g.group_description.errors[0].code == 131009
    assert g.profile_picture is not None and g.profile_picture.update_successful is True
    assert g.profile_picture["mime_type"] == "image/jpeg"  # dict-style access still works


def test_group_status() -> None:
    suspended = _one(f.GROUP_SUSPENDED)
    assert isinstance(suspended, GroupStatusUpdate) and suspended.group.suspended
    cleared = _one(f.GROUP_SUSPENSION_CLEARED)
    assert isinstance(cleared, GroupStatusUpdate) and not cleared.group.suspended
    assert suspended.dedup_key != cleared.dedup_key


def test_a_group_message_refuses_read_receipts_typing_and_reactions() -> None:
    upd = _one(f.GROUP_TEXT_MESSAGE)
    assert isinstance(upd, MessageUpdate) and upd.group_id == f.GROUP_ID

    class NoCalls:  # the refusal must come before any client call
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"client.{name} was called")

    upd.bind(NoCalls())
    for shortcut in (upd.mark_as_read, upd.typing, lambda: upd.react("👍")):
        with pytest.raises(ValidationError) as info:
            shortcut()
        assert info.value.field == "message_id" and "group" in info.value.reason
