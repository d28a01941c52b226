"""parse(): the spec's 16 examples, every type of the issue, envelopes in order, never raising."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wacloud.webhooks import models as m
from wacloud.webhooks import parse
from wacloud.webhooks.groups import GroupLifecycleUpdate, GroupParticipantsUpdate, GroupSettingsUpdate
from wacloud.webhooks.updates import (
    AccountUpdate,
    ErrorUpdate,
    GroupUpdate,
    MessageEchoUpdate,
    MessageUpdate,
    PhoneNumberQualityUpdate,
    RawUpdate,
    StatusUpdate,
    TemplateCategoryUpdate,
    TemplateQualityUpdate,
    TemplateStatusUpdate,
    Update,
    UserPreferencesUpdate,
)

from . import payloads as p


def _spec_examples(openapi_spec: dict[str, Any]) -> dict[str, Any]:
    post = openapi_spec["paths"]["/whatsapp/webhooks"]["post"]  # type: ignore[index]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    return {name: ex["value"] for name, ex in examples.items()}


def _one(payload: Any) -> Update:
    updates = parse(p.body(payload))
    assert len(updates) == 1, updates
    return updates[0]


# --- the spec's examples --------------------------------------------------------------------------


def test_the_spec_has_sixteen_webhook_examples(openapi_spec: dict[str, Any]) -> None:
    assert len(_spec_examples(openapi_spec)) == 16


SPEC_EXPECTED: dict[str, tuple[type[Update], type[m.WebhookModel] | None]] = {
    "Text Message": (MessageUpdate, m.TextMessage),
    "Text Message with Context (Product Inquiry)": (MessageUpdate, m.TextMessage),
    "Text Message from Click to WhatsApp Ad": (MessageUpdate, m.TextMessage),
    "Reaction Message": (MessageUpdate, m.ReactionMessage),
    "Image Message": (MessageUpdate, m.ImageMessage),
    "Location Message": (MessageUpdate, m.LocationMessage),
    "Contact Sharing Message": (MessageUpdate, m.ContactsMessage),
    "Unsupported Message": (MessageUpdate, m.UnsupportedMessage),
    "Button Message": (MessageUpdate, m.ButtonMessage),
    "Interactive List Reply Message": (MessageUpdate, m.InteractiveMessage),
    "Interactive Button Reply Message": (MessageUpdate, m.InteractiveMessage),
    "Order Message": (MessageUpdate, m.OrderMessage),
    "System Message": (MessageUpdate, m.SystemMessage),
    # Typed per field since the Groups API coverage; all are still GroupUpdate subclasses.
    "Group Create Message": (GroupLifecycleUpdate, None),
    "Group Settings Update": (GroupSettingsUpdate, None),
    "Group Remove Participants": (GroupParticipantsUpdate, None),
}


@pytest.mark.parametrize("name", sorted(SPEC_EXPECTED))
def test_spec_example_parses_to_the_right_typed_update(openapi_spec: dict[str, Any], name: str) -> None:
    payload = _spec_examples(openapi_spec)[name]
    update_cls, message_cls = SPEC_EXPECTED[name]
    upd = _one(payload)
    assert type(upd) is update_cls
    assert upd.waba_id == payload["entry"][0]["id"]
    assert upd.field == payload["entry"][0]["changes"][0]["field"]
    if isinstance(upd, MessageUpdate):
        raw = payload["entry"][0]["changes"][0]["value"]["messages"][0]
        assert type(upd.message) is message_cls
        assert upd.id == raw["id"] == upd.dedup_key
        assert upd.from_ == raw["from"]
        assert upd.message.timestamp == datetime.fromtimestamp(int(raw["timestamp"]), tz=UTC)
        assert upd.raw == raw
        assert upd.metadata is not None and upd.metadata.phone_number_id == "106540352242922"


def test_spec_examples_field_values(openapi_spec: dict[str, Any]) -> None:
    ex = _spec_examples(openapi_spec)
    inquiry = _one(ex["Text Message with Context (Product Inquiry)"])
    assert isinstance(inquiry, MessageUpdate) and inquiry.message.context is not None
    assert inquiry.message.context.referred_product is not None
    assert inquiry.message.context.referred_product.product_retailer_id == "di9ozbzfi4"
    assert inquiry.text == "Is this still available?" and inquiry.name == "Sheena Nelson"

    ad = _one(ex["Text Message from Click to WhatsApp Ad"])
    assert isinstance(ad, MessageUpdate) and ad.message.referral is not None
    assert ad.message.referral.source_type == "ad"
    assert ad.message.referral.welcome_message is not None
    assert ad.message.referral.welcome_message.text == "Hi there! Let us know how we can help!"

    reaction = _one(ex["Reaction Message"])
    assert isinstance(reaction, MessageUpdate) and reaction.reaction is not None
    assert reaction.reaction.emoji == "👍"

    image = _one(ex["Image Message"])
    assert isinstance(image, MessageUpdate) and image.media_info is not None
    assert (image.media_info.id, image.media_info.mime_type, image.text) == ("1003383421387256", "image/jpeg",
                                                                              "Taj Mahal")
    location = _one(ex["Location Message"])
    assert isinstance(location.message, m.LocationMessage)  # type: ignore[attr-defined]
    assert location.message.location.latitude == pytest.approx(37.44221496582)  # type: ignore[attr-defined]

    contacts = _one(ex["Contact Sharing Message"])
    assert isinstance(contacts, MessageUpdate) and isinstance(contacts.message, m.ContactsMessage)
    card = contacts.message.contacts[0]
    assert card.name is not None and card.name.formatted_name == "Lucía Gómez"
    assert card.phones[0].wa_id == "19835552319" and card.org is not None and card.org.company == "Google"

    unsupported = _one(ex["Unsupported Message"])
    assert isinstance(unsupported, MessageUpdate) and unsupported.message.errors[0].code == 131051

    button = _one(ex["Button Message"])
    assert isinstance(button, MessageUpdate) and button.button_id == "Unsubscribe"
    assert button.interactive_type == "button" and button.reply_to_id is not None

    lst = _one(ex["Interactive List Reply Message"])
    assert isinstance(lst, MessageUpdate) and lst.list_reply is not None
    assert (lst.list_reply.id, lst.list_reply.description) == ("priority_express", "Next Day to 2 Days")

    btn = _one(ex["Interactive Button Reply Message"])
    assert isinstance(btn, MessageUpdate) and btn.button_id == "cancel-button"

    order = _one(ex["Order Message"])
    assert isinstance(order, MessageUpdate) and isinstance(order.message, m.OrderMessage)
    assert [i.quantity for i in order.message.order.product_items] == [2, 1]

    system = _one(ex["System Message"])
    assert isinstance(system, MessageUpdate) and isinstance(system.message, m.SystemMessage)
    assert system.message.system.wa_id == "12195555358" and system.contact is None

    group = _one(ex["Group Create Message"])
    assert isinstance(group, GroupUpdate) and group.group.type == "group_create"
    # Participants arrive as numbers in the example; ids stay strings.
    assert [pp.wa_id for pp in group.group.added_participants] == ["16505551234", "16505551235"]
    removed = _one(ex["Group Remove Participants"])
    assert isinstance(removed, GroupUpdate) and len(removed.group.removed_participants) == 2


# --- our own payloads for every type --------------------------------------------------------------


@pytest.mark.parametrize(("name", "message", "model"), p.MESSAGES, ids=[n for n, _, _ in p.MESSAGES])
def test_every_inbound_type_is_typed(name: str, message: dict[str, Any], model: str) -> None:
    upd = _one(p.inbound(message))
    assert isinstance(upd, MessageUpdate)
    assert type(upd.message).__name__ == model
    assert upd.id == message["id"] and upd.type == message["type"]
    assert upd.contact is not None and upd.contact.wa_id == p.USER and upd.wa_id == p.USER


def _typed(name: str) -> MessageUpdate:
    message = next(mm for n, mm, _ in p.MESSAGES if n == name)
    upd = _one(p.inbound(message))
    assert isinstance(upd, MessageUpdate)
    return upd


def test_media_details() -> None:
    assert _typed("voice").media_info.voice is True  # type: ignore[union-attr]
    assert _typed("audio").media_info.voice is False  # type: ignore[union-attr]
    assert _typed("sticker").media_info.animated is True  # type: ignore[union-attr]
    doc = _typed("document")
    assert doc.media_info is not None and doc.media_info.filename == "invoice.pdf"
    assert doc.text == "your invoice"
    assert _typed("image").media_info.url == "https://lookaside.fbsbx.com/x"  # type: ignore[union-attr]
    live = _typed("live location").message
    assert isinstance(live, m.LocationMessage) and live.location.name is None and live.location.longitude == 2


def test_interactive_and_reaction_details() -> None:
    flow = _typed("nfm_reply")
    assert flow.flow_reply is not None and flow.flow_reply.response() == {"flow_token": "tok-1", "size": "M"}
    assert flow.interactive_type == "nfm_reply"
    assert _typed("button_reply").button_id == "yes"
    assert _typed("button_reply").reply_to_id == "wamid.ASKED"
    assert _typed("reaction").reaction.emoji == "\U0001f44d"  # type: ignore[union-attr]
    assert _typed("reaction removal").reaction.emoji == ""  # type: ignore[union-attr]
    assert _typed("reaction removal no emoji").reaction.emoji is None  # type: ignore[union-attr]


def test_context_referral_system_edit_revoke() -> None:
    assert _typed("reply").reply_to_id == "wamid.QUOTED"
    assert _typed("forwarded").message.context.forwarded is True  # type: ignore[union-attr]
    assert _typed("frequently forwarded").message.context.frequently_forwarded is True  # type: ignore[union-attr]
    ref = _typed("referral").message.referral
    assert ref is not None and ref.media_type == "video" and ref.ctwa_clid == "Aff-1"
    ident = _typed("system identity").message
    assert isinstance(ident, m.SystemMessage) and ident.system.type == "customer_identity_changed"
    assert ident.identity is not None and ident.identity.acknowledged is True and ident.identity.hash == "h"
    assert ident.identity.created_timestamp == datetime.fromtimestamp(1, tz=UTC)
    revoke = _typed("revoke").message
    assert isinstance(revoke, m.RevokeMessage) and revoke.revoke.original_message_id == "wamid.OLD"
    edit = _typed("edit").message
    assert isinstance(edit, m.EditMessage) and edit.edit.original_message_id == "wamid.OLD"
    new = edit.edited()
    assert isinstance(new, m.TextMessage) and new.text.body == "fixed typo" and new.id == "wamid.OLD"
    unsupported = _typed("unsupported").message
    assert isinstance(unsupported, m.UnsupportedMessage) and unsupported.unsupported is not None
    assert unsupported.unsupported.type == "poll" and unsupported.errors[0].code == 131051


@pytest.mark.parametrize(("name", "item"), p.STATUSES, ids=[n for n, _ in p.STATUSES])
def test_every_status_is_typed(name: str, item: dict[str, Any]) -> None:
    upd = _one(p.statuses(item))
    assert isinstance(upd, StatusUpdate)
    assert upd.status.status == item["status"] and upd.id == item["id"]
    assert upd.dedup_key == f"{item['id']}:{item['status']}"
    assert upd.status.timestamp == datetime.fromtimestamp(1750030073, tz=UTC)


def test_status_details() -> None:
    sent = _one(p.statuses(dict(p.STATUSES)["sent"]))
    assert isinstance(sent, StatusUpdate)
    st_ = sent.status
    assert st_.biz_opaque_callback_data == "campaign-7"
    assert st_.conversation is not None and st_.conversation.origin is not None
    assert st_.conversation.origin.type == "marketing"
    assert st_.conversation.expiration_timestamp == datetime.fromtimestamp(1750116473, tz=UTC)
    assert st_.pricing is not None
    assert (st_.pricing.pricing_model, st_.pricing.category) == ("PMP", "marketing")
    failed = _one(p.statuses(dict(p.STATUSES)["failed"]))
    assert isinstance(failed, StatusUpdate) and failed.errors[0].code == 131050
    assert failed.errors[0].error_data is not None
    assert failed.errors[0].error_data.details == "The user stopped marketing messages."
    group = _one(p.statuses(dict(p.STATUSES)["group"]))
    assert isinstance(group, StatusUpdate) and group.status.recipient_type == "group"


def test_value_level_errors() -> None:
    upd = _one(p.envelope(p.VALUE_ERRORS))
    assert isinstance(upd, ErrorUpdate) and upd.error.code == 130429 and upd.dedup_key is None


@pytest.mark.parametrize(("chg", "cls"), [
    (p.TEMPLATE_STATUS, TemplateStatusUpdate), (p.TEMPLATE_PAUSED, TemplateStatusUpdate),
    (p.TEMPLATE_QUALITY, TemplateQualityUpdate), (p.TEMPLATE_CATEGORY, TemplateCategoryUpdate),
    (p.ACCOUNT_UPDATE, AccountUpdate), (p.PHONE_QUALITY, PhoneNumberQualityUpdate),
    (p.USER_PREFERENCES, UserPreferencesUpdate), (p.ECHOES, MessageEchoUpdate),
], ids=lambda x: x["field"] if isinstance(x, dict) else x.__name__)
def test_other_fields_are_typed(chg: dict[str, Any], cls: type[Update]) -> None:
    upd = _one(p.envelope(chg, time=1751247548))
    assert type(upd) is cls
    assert upd.field == chg["field"] and upd.time == datetime.fromtimestamp(1751247548, tz=UTC)


def test_other_field_values() -> None:
    ts = _one(p.envelope(p.TEMPLATE_STATUS))
    assert isinstance(ts, TemplateStatusUpdate)
    assert (ts.value.event, ts.value.message_template_id, ts.value.reason) == ("REJECTED", 1689556908129832,
                                                                              "INVALID_FORMAT")
    assert ts.value.rejection_info is not None
    assert (ts.value.rejection_info.reason, ts.value.rejection_info.recommendation) == ("bad variable", "fix it")
    assert ts.value.rejection_info["reason"] == "bad variable"  # dict-style access, as before it was typed
    paused = _one(p.envelope(p.TEMPLATE_PAUSED))
    assert isinstance(paused, TemplateStatusUpdate) and paused.value.reason is None
    assert paused.value.other_info is not None and paused.value.other_info.title == "FIRST_PAUSE"
    assert paused.value.other_info.get("description") == "low quality"
    q = _one(p.envelope(p.TEMPLATE_QUALITY))
    assert isinstance(q, TemplateQualityUpdate) and q.value.new_quality_score == "YELLOW"
    c = _one(p.envelope(p.TEMPLATE_CATEGORY))
    assert isinstance(c, TemplateCategoryUpdate) and c.value.new_category == "MARKETING"
    a = _one(p.envelope(p.ACCOUNT_UPDATE))
    assert isinstance(a, AccountUpdate) and a.value.disconnection_info is not None
    assert a.value.disconnection_info.model_dump(exclude_none=True) == {
        "reason": "BUSINESS_INITIATED", "initiated_by": "BUSINESS"}
    pq = _one(p.envelope(p.PHONE_QUALITY))
    assert isinstance(pq, PhoneNumberQualityUpdate) and pq.value.event == "THROUGHPUT_UPGRADE"
    up = _one(p.envelope(p.USER_PREFERENCES))
    assert isinstance(up, UserPreferencesUpdate) and up.opted_out
    assert up.preference.category == "marketing_messages"
    assert up.contact is not None and up.contact.wa_id == p.USER
    echo = _one(p.envelope(p.ECHOES))
    assert isinstance(echo, MessageEchoUpdate) and echo.message.to == p.USER
    assert echo.dedup_key == "echo:wamid.ECHO1" and echo.message.text == {"body": "sent from the app"}  # type: ignore[attr-defined]


# --- envelopes, order, the unexpected ---------------------------------------------------------


def test_multi_entry_multi_change_multi_message_in_order() -> None:
    m1, m2, m3 = (p.msg("text", {"body": f"#{i}"}) for i in range(3))
    s1, s2 = p.status("sent"), p.status("read")
    payload = {"object": "whatsapp_business_account", "entry": [
        {"id": "waba-1", "changes": [
            p.change("messages", p.messages_value(m1, m2)),
            p.change("messages", {"messaging_product": "whatsapp", "metadata": p.METADATA,
                                  "statuses": [s1, s2]}),
        ]},
        {"id": "waba-2", "changes": [p.TEMPLATE_QUALITY, p.change("messages", p.messages_value(m3))]},
    ]}
    updates = parse(p.body(payload))
    assert [u.update_id for u in updates[:5]] == [m1["id"], m2["id"], f"{s1['id']}:sent", f"{s2['id']}:read",
                                                   "message_template_quality_update@waba-2"]
    assert isinstance(updates[5], MessageUpdate) and updates[5].id == m3["id"]
    assert [u.waba_id for u in updates] == ["waba-1"] * 4 + ["waba-2"] * 2


def test_messages_and_statuses_in_one_value_both_come_out() -> None:
    value = p.messages_value(p.msg("text", {"body": "a"}))
    value["statuses"] = [p.status("delivered")]
    kinds = [type(u) for u in parse(p.envelope(p.change("messages", value)))]
    assert kinds == [MessageUpdate, StatusUpdate]


def test_contacts_are_matched_to_senders() -> None:
    a = p.msg("text", {"body": "a"}, sender="111")
    b = p.msg("text", {"body": "b"}, sender="222")
    value = p.messages_value(a, b, contacts=[{"wa_id": "222", "profile": {"name": "B"}},
                                             {"wa_id": "111", "profile": {"name": "A"}}])
    ua, ub = parse(p.envelope(p.change("messages", value)))
    assert (ua.name, ub.name) == ("A", "B")  # type: ignore[attr-defined]


def test_unknown_things_become_raw_updates_with_the_original_json(caplog: pytest.LogCaptureFixture) -> None:
    poll = p.msg("poll", {"question": "?"})
    payload = p.envelope(
        p.change("messages", p.messages_value(p.msg("text", {"body": "ok"}), poll)),
        p.change("brand_new_field", {"items": [{"id": "c1"}]}),
    )
    ok, raw_msg, raw_field = parse(p.body(payload))
    assert isinstance(ok, MessageUpdate)
    assert isinstance(raw_msg, RawUpdate) and raw_msg.raw == poll and "poll" in raw_msg.reason
    assert isinstance(raw_field, RawUpdate) and raw_field.raw == payload["entry"][0]["changes"][1]
    assert raw_field.field == "brand_new_field" and raw_field.dedup_key is None
    assert any("unknown field 'brand_new_field'" in r.getMessage() for r in caplog.records)


def test_extra_keys_are_kept() -> None:
    message = p.msg("text", {"body": "x", "new_thing": 1}, brand_new={"a": 1})
    upd = _one(p.inbound(message))
    assert isinstance(upd, MessageUpdate)
    assert upd.message.model_extra == {"brand_new": {"a": 1}}
    assert upd.message.text.model_extra == {"new_thing": 1}  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", [
    p.msg("text", {"body": {"nested": 1}}),           # wrong type inside the content
    p.msg("text", None),                              # content missing
    p.msg("image", {"caption": "no id"}),             # media without id
    p.msg("location", {"latitude": "north"}),         # not a number
    {**p.msg("text", {"body": "x"}), "timestamp": "yesterday"},
    {**p.msg("text", {"body": "x"}), "from": None},
    {**p.msg("text", {"body": "x"}), "type": ["text"]},  # unhashable type
    "a string", 42, None, [],
])
def test_malformed_items_become_raw_without_losing_their_siblings(bad: Any) -> None:
    good = p.msg("text", {"body": "fine"})
    updates = parse(p.inbound(good, bad))
    assert isinstance(updates[0], MessageUpdate) and updates[0].id == good["id"]
    assert len(updates) == 2 and isinstance(updates[1], RawUpdate) and updates[1].raw == bad
    assert updates[1].reason


@pytest.mark.parametrize("body", [
    b"", b"{", b"[]", b"null", b'"x"', b"\xff\xfe", b'{"object": "page", "entry": []}', b'{"entry": {}}',
    b'{"object":"whatsapp_business_account","entry":[1, {"changes": 3}, {"changes": [1, {"field": 2}]}]}',
    b'{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":[]}]}]}',
    b'{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{}}]}]}',
    b'{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",'
    b'"value":{"messages":{"a":1},"statuses":"x","errors":[1]}}]}]}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a": NaN}',
])
def test_garbage_never_raises_and_yields_only_raw_updates(body: bytes) -> None:
    updates = parse(body)
    assert updates and all(isinstance(u, RawUpdate) and u.reason for u in updates)


def test_invalid_json_comes_back_as_raw_with_the_original_body() -> None:
    (upd,) = parse(b'{"broken": ')
    assert isinstance(upd, RawUpdate) and upd.raw == b'{"broken": ' and "not valid JSON" in upd.reason


def test_parse_accepts_dict_str_and_bytes_alike() -> None:
    payload = p.inbound(p.msg("text", {"body": "é \U0001f600"}))
    from_bytes, from_str, from_dict = parse(p.body(payload)), parse(p.body(payload).decode()), parse(payload)
    assert from_bytes[0].model_dump() == from_str[0].model_dump() == from_dict[0].model_dump()
    assert from_bytes[0].text == "é \U0001f600"  # type: ignore[attr-defined]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=10), kids, max_size=5),
    max_leaves=40,
)
_keys = st.sampled_from(["object", "entry", "changes", "field", "value", "messages", "statuses", "errors",
                         "type", "text", "id", "from", "timestamp", "contacts", "metadata", "body", "image"])
_shaped = st.recursive(
    st.none() | st.integers() | st.text(max_size=8) | st.sampled_from(
        ["whatsapp_business_account", "messages", "text", "image", "interactive", "1749416383"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=6),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_hypothesis_arbitrary_json_never_raises(data: Any) -> None:
    for form in (data, json.dumps(data).encode()):
        updates = parse(form)  # type: ignore[arg-type]
        assert isinstance(updates, list) and all(isinstance(u, Update) for u in updates)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_shaped)
def test_hypothesis_webhook_shaped_json_never_raises(data: Any) -> None:
    envelope = data if isinstance(data, dict) else {"object": "whatsapp_business_account", "entry": [data]}
    updates = parse(json.dumps(envelope).encode())
    assert all(isinstance(u, Update) for u in updates)


def test_business_scoped_user_ids() -> None:
    contact = {"profile": {"name": "Ana"}, "wa_id": p.USER, "user_id": "US.1349", "parent_user_id": "US.1"}
    message = p.msg("text", {"body": "hi"}, from_user_id="US.1349")
    upd = _one(p.envelope(p.change("messages", p.messages_value(message, contacts=[contact]))))
    assert isinstance(upd, MessageUpdate) and upd.contact is not None
    assert (upd.contact.user_id, upd.contact.parent_user_id, upd.message.from_user_id) == (
        "US.1349", "US.1", "US.1349")
    status_value = {"messaging_product": "whatsapp", "metadata": p.METADATA,
                    "contacts": [{"wa_id": p.USER, "user_id": "US.1349"}], "statuses": [p.status("read")]}
    st_ = _one(p.envelope(p.change("messages", status_value)))
    assert isinstance(st_, StatusUpdate) and st_.contact is not None and st_.contact.user_id == "US.1349"
    echoes = json.loads(json.dumps(p.ECHOES))
    echoes["value"]["contacts"] = [{"wa_id": p.USER, "user_id": "US.1349"}]
    echo = _one(p.envelope(echoes))
    assert isinstance(echo, MessageEchoUpdate) and echo.contact is not None and echo.contact.user_id == "US.1349"
