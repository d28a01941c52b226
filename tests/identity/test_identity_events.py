"""A customer's ids changing becomes a ``contact.identity_changed`` event, in the transaction of the change.

The three ways ids change: two records merged because one update linked them, a ``user_changed_number``
system message, a ``customer_identity_changed`` system message. On SQLite and PostgreSQL; the webhooks go
through the real parser and ``Outbox.handle``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

import wacloud.delivery._sql_contacts as sql_contacts
from wacloud.delivery import Outbox, Store
from wacloud.delivery._sql_base import SqlBase
from wacloud.events import Event, EventLog
from wacloud.identity import CustomerIds
from wacloud.webhooks import parse

P = "1234567890"
PHONE = "15550001111"
NEW_PHONE = "15550002222"
BSUID = "US.13491208655302741918"


def _events(store: Store) -> list[Event]:
    sql = store
    assert isinstance(sql, SqlBase)

    def run(fn: Any) -> Any:
        with sql._tx() as tx:
            return fn(tx)

    return [e for e in EventLog(run).read(0, 1000) if e.type == "contact.identity_changed"]


def _system(system: dict[str, Any], *, sender: str = PHONE, identity: dict[str, Any] | None = None,
            ts: int | None = None) -> Any:
    message: dict[str, Any] = {"from": sender, "id": f"wamid.sys{time.time_ns()}",
                               "timestamp": str(ts or int(time.time())), "type": "system", "system": system}
    if identity is not None:
        message["identity"] = identity
    body = {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550000000", "phone_number_id": P},
        "messages": [message]}}]}]}
    (update,) = parse(body)
    return update


def test_two_records_linked_by_one_update_are_merged_with_one_event(store: Store) -> None:
    t0 = time.time()
    store.touch_inbound(P, PHONE, t0 - 10)
    store.set_marketing(P, BSUID, True, t0 - 5)
    by_phone, by_bsuid = store.find_contact(P, PHONE), store.find_contact(P, BSUID)
    assert by_phone is not None and by_bsuid is not None and by_phone.contact_id != by_bsuid.contact_id
    assert _events(store) == []  # new records are not changes of anyone's ids
    survivor = store.learn_contact(P, CustomerIds(wa_id=PHONE, bsuid=BSUID), t0)
    (event,) = _events(store)
    assert event.phone_number_id == P and event.contact is not None
    assert event.contact == CustomerIds(contact_id=survivor, wa_id=PHONE, bsuid=BSUID)
    assert event.data["reason"] == "merged" and event.data["contact_id"] == survivor
    assert event.data["merged_contact_ids"] == [by_bsuid.contact_id]
    assert sorted(p["contact_id"] for p in event.data["previous"]) == sorted([by_phone.contact_id,
                                                                           by_bsuid.contact_id])
    store.learn_contact(P, CustomerIds(wa_id=PHONE, bsuid=BSUID), t0 + 1)  # the same ids again: no change
    assert len(_events(store)) == 1


def test_a_number_change_is_an_event_once(store: Store) -> None:
    outbox = Outbox(store, phone_number_id=P)
    t0 = int(time.time())
    outbox.record_inbound(PHONE, t0 - 10)
    before = store.find_contact(P, PHONE)
    assert before is not None
    notice = _system({"body": "changed", "type": "user_changed_number", "wa_id": NEW_PHONE}, ts=t0)
    assert outbox.handle(notice)
    (event,) = _events(store)
    assert event.data["reason"] == "user_changed_number" and event.data["new_wa_id"] == NEW_PHONE
    assert event.data["previous"] == {"contact_id": before.contact_id, "wa_id": PHONE}
    assert event.contact == CustomerIds(contact_id=before.contact_id, wa_id=NEW_PHONE)
    assert event.at == float(t0)
    outbox.handle(notice)  # Meta redelivers the notice: the ids are already so, nothing new
    assert len(_events(store)) == 1


def test_a_new_security_identity_is_kept_with_its_event(store: Store) -> None:
    outbox = Outbox(store, phone_number_id=P)
    t0 = int(time.time())
    outbox.record_inbound(PHONE, t0 - 100)
    system = {"body": "Anna's security code changed.", "type": "customer_identity_changed"}
    first = _system(system, identity={"acknowledged": True, "created_timestamp": t0 - 50, "hash": "h1"}, ts=t0 - 50)
    assert outbox.handle(first)
    (event,) = _events(store)
    assert event.data["reason"] == "customer_identity_changed"
    assert event.data["identity"] == {"hash": "h1", "created_timestamp": float(t0 - 50)}
    assert event.data["previous_hash"] is None and event.contact is not None and event.contact.wa_id == PHONE
    outbox.handle(first)  # redelivered
    assert len(_events(store)) == 1
    outbox.handle(_system(system, identity={"hash": "h2"}, ts=t0))
    second = _events(store)[-1]
    assert second.data["identity"]["hash"] == "h2" and second.data["previous_hash"] == "h1"
    outbox.handle(_system(system, identity={"hash": "h0"}, ts=t0 - 80))  # an older notice arriving late
    assert len(_events(store)) == 2
    found = store.find_contact(P, PHONE)  # a notice about the customer, not their message: window unchanged
    assert found is not None and found.last_inbound == float(t0 - 100)


def test_a_failed_event_leaves_the_ids_unchanged(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The change and its event are one transaction: when the append fails, the merge is not made."""
    t0 = time.time()
    store.touch_inbound(P, PHONE, t0 - 10)
    store.touch_inbound(P, BSUID, t0 - 5)

    def broken(tx: Any, events: Any) -> None:
        if events:
            raise RuntimeError("event log unavailable")

    monkeypatch.setattr(sql_contacts, "append", broken)
    with pytest.raises(Exception, match="event log unavailable"):
        store.learn_contact(P, CustomerIds(wa_id=PHONE, bsuid=BSUID), t0)
    by_phone, by_bsuid = store.find_contact(P, PHONE), store.find_contact(P, BSUID)
    assert by_phone is not None and by_bsuid is not None and by_phone.contact_id != by_bsuid.contact_id
    monkeypatch.undo()
    assert _events(store) == []
