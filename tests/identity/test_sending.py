"""Sending to a BSUID through the outbox: the body, Meta's phone-only rules, campaigns by person."""

from __future__ import annotations

from pathlib import Path

import pytest

from wacloud.delivery import Outbox, Store
from wacloud.errors import ValidationError
from wacloud.identity import CustomerIds
from wacloud.messages import Text

from .conftest import Rig

P = "1234567890"
PHONE = "15550001111"
BSUID = "US.13491208655302741918"
HELLO = {"name": "hello_world", "language": {"code": "en_US"}}


def test_a_bsuid_goes_in_recipient_and_authentication_needs_a_phone(store: Store) -> None:
    ob = Outbox(store, phone_number_id=P)
    job = ob.job(ob.enqueue(BSUID, Text("hi")))
    assert job is not None and job.to == BSUID
    assert job.body["recipient"] == BSUID and "to" not in job.body
    by_phone = ob.job(ob.enqueue("+1 555 000 1111", Text("hi")))
    assert by_phone is not None and by_phone.body["to"] == PHONE and "recipient" not in by_phone.body
    with pytest.raises(ValidationError) as caught:
        ob.enqueue(BSUID, {"type": "template", "template": HELLO}, category="authentication")
    assert caught.value.field == "recipient" and "phone number" in caught.value.reason
    ob.enqueue(PHONE, {"type": "template", "template": HELLO}, category="authentication")  # fine by phone
    with pytest.raises(ValidationError) as caught:
        ob.enqueue("not-an-id", Text("hi"))
    assert caught.value.field == "to"


def test_a_campaign_reaches_a_person_once_whichever_ids_the_list_holds(store: Store) -> None:
    ob = Outbox(store, phone_number_id=P)
    ob.learn(CustomerIds(wa_id=PHONE, bsuid=BSUID))
    result = ob.broadcast(HELLO, [PHONE, BSUID, "US.777", "+15550002222"], campaign="spring")
    assert (result.queued, result.duplicates, result.invalid) == (3, 1, [])
    again = ob.broadcast(HELLO, [BSUID, "US.777"], campaign="spring")  # a re-run by the other id
    assert (again.queued, again.duplicates) == (0, 2)
    auth = ob.broadcast(HELLO, [PHONE, "US.777"], campaign="otp", category="authentication")
    assert auth.queued == 1 and len(auth.invalid) == 1 and auth.invalid[0][0] == 2
    assert "recipient" in auth.invalid[0][1]


def test_a_customer_who_changes_number_stays_one_person(rig: Rig) -> None:
    sb = rig.sandbox
    sb.add_customer(PHONE)
    sb.inject(PHONE, text="hello")
    rig.wait(lambda: (c := rig.hook_outbox.contact(PHONE)) is not None and c.last_inbound is not None,
             what="the first message")
    before = rig.hook_outbox.contact(PHONE)
    assert before is not None
    sb._ok(sb.control.post(f"/customers/{PHONE}/number", json={"wa_id": "15550009999"}))
    rig.wait(lambda: rig.hook_outbox.contact(PHONE) is None, what="the number change")
    after = rig.hook_outbox.contact("15550009999")
    assert after is not None and after.contact_id == before.contact_id
    assert after.last_inbound == before.last_inbound  # the window stays the person's


def test_a_campaign_csv_column_may_hold_phones_and_bsuids(tmp_path: Path) -> None:
    from wacloud.cli.broadcast import read_recipients

    csv_file = tmp_path / "list.csv"
    csv_file.write_text(f"recipient,name\n+15550001111,Ana\n{BSUID},Bo\nUS.ENT.42,Cy\nnope,Di\n", encoding="utf-8")
    rows = read_recipients(csv_file)
    assert [r["to"] for r in rows.recipients] == ["+15550001111", BSUID, "US.ENT.42"]
    assert [r["values"]["name"] for r in rows.recipients] == ["Ana", "Bo", "Cy"]
    assert len(rows.invalid) == 1 and ":5:" in rows.invalid[0]
