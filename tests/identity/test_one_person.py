"""One customer reached by phone, then by BSUID, then by username is one person: one window, one opt-out."""

from __future__ import annotations

import asyncio
import time

from wacloud.delivery import JobState, Store
from wacloud.identity import CustomerIds
from wacloud.messages import Text

from .conftest import Rig

P = "1234567890"
PHONE = "15550001111"
BSUID = "US.13491208655302741918"
PARENT = "US.ENT.11815799212886844830"


def test_ids_seen_apart_then_together_are_merged(store: Store) -> None:
    """Phone first (a message), BSUID later (an opt-out), then a webhook links them: one record."""
    t0 = time.time()
    store.touch_inbound(P, PHONE, t0 - 100)
    store.set_marketing(P, BSUID, True, t0 - 50)
    by_phone, by_bsuid = store.find_contact(P, PHONE), store.find_contact(P, BSUID)
    assert by_phone is not None and by_bsuid is not None
    assert by_phone.contact_id != by_bsuid.contact_id  # nothing said yet they are one person
    merged = store.learn_contact(P, CustomerIds(wa_id=PHONE, bsuid=BSUID, parent_bsuid=PARENT, username="Anna.B"),
                                 t0)
    assert merged == by_phone.contact_id  # the older record survives
    for any_id in (PHONE, "+" + PHONE, BSUID, PARENT, "@anna.b", by_bsuid.contact_id):
        found = store.find_contact(P, any_id)
        assert found is not None and found.contact_id == merged, any_id
        assert found.last_inbound is not None
        assert abs(found.last_inbound - (t0 - 100)) < 1e-3  # the window: the latest inbound
        assert found.marketing_opt_out is True  # the opt-out: the latest preference
        assert found.ids == CustomerIds(contact_id=merged, wa_id=PHONE, bsuid=BSUID, parent_bsuid=PARENT,
                                        username="anna.b")
    # The worker's view (by the address a job stores) is the person's too.
    seen = store.contacts(P, [PHONE, BSUID, PARENT])
    assert {r.contact_id for r in seen.values()} == {merged}
    assert all(r.marketing_opt_out for r in seen.values())


def test_an_older_preference_does_not_override_a_newer_one_on_merge(store: Store) -> None:
    t0 = time.time()
    store.set_marketing(P, PHONE, True, t0 - 10)  # stopped…
    store.set_marketing(P, BSUID, False, t0 - 5)  # …then resumed, seen under the BSUID
    store.learn_contact(P, CustomerIds(wa_id=PHONE, bsuid=BSUID), t0)
    found = store.find_contact(P, PHONE)
    assert found is not None and found.marketing_opt_out is False


def test_a_username_names_nobody_on_its_own_and_moves_with_its_owner(store: Store) -> None:
    t0 = time.time()
    assert store.learn_contact(P, CustomerIds(username="anna"), t0) is None  # no strong id: no record
    first = store.learn_contact(P, CustomerIds(bsuid=BSUID, username="anna"), t0)
    other = store.learn_contact(P, CustomerIds(bsuid="US.999", username="anna"), t0 + 1)  # taken by someone else
    assert first != other  # a shared username never merges two people
    found = store.find_contact(P, "@anna")
    assert found is not None and found.contact_id == other
    mine = store.find_contact(P, BSUID)
    assert mine is not None and mine.ids is not None and mine.ids.username is None


def test_a_number_change_keeps_the_person_and_drops_the_old_number(store: Store) -> None:
    t0 = time.time()
    store.touch_inbound(P, PHONE, t0)
    before = store.find_contact(P, PHONE)
    assert before is not None
    assert store.change_number(P, PHONE, "15550002222", t0 + 1) == before.contact_id
    after = store.find_contact(P, "15550002222")
    assert after is not None and after.contact_id == before.contact_id and after.last_inbound is not None
    assert store.find_contact(P, PHONE) is None  # the old number may be someone else's now


def test_one_customer_by_phone_bsuid_and_username_keeps_one_window_and_one_opt_out(rig: Rig) -> None:
    """End to end: sandbox webhooks teach the outbox the ids; sends by BSUID use the phone's window."""
    sb = rig.sandbox
    sb.add_customer(PHONE, username="anna.b")
    rig.hook_outbox.enforce_window = True
    sb.inject(PHONE, text="hello")  # by phone: contacts[] carries the BSUID and the username
    rig.wait(lambda: (c := rig.hook_outbox.contact("@anna.b")) is not None and c.last_inbound is not None,
             what="the inbound message's ids to be learned")
    person = rig.hook_outbox.contact(PHONE)
    assert person is not None and person.ids is not None and person.ids.bsuid
    bsuid = person.ids.bsuid
    by_bsuid, by_username = rig.hook_outbox.contact(bsuid), rig.hook_outbox.contact("@anna.b")
    assert by_bsuid is not None and by_username is not None
    assert by_bsuid.contact_id == by_username.contact_id == person.contact_id

    ob = rig.outbox()
    # A free-form message to the BSUID: inside the window opened by the phone's message.
    job_id = ob.enqueue(bsuid, Text("hi by BSUID"))
    job = ob.job(job_id)
    assert job is not None and job.body.get("recipient") == bsuid and "to" not in job.body
    asyncio.run(ob.run(until_idle=True))
    job = ob.job(job_id)
    assert job is not None and job.wamid and job.state in (JobState.ACCEPTED, JobState.SENT, JobState.DELIVERED,
                                                           JobState.READ), job
    got = sb.received(PHONE)
    assert any(m["body"].get("recipient") == bsuid and m["body"]["text"]["body"] == "hi by BSUID" for m in got)

    # The customer stops marketing (the sandbox's user_preferences webhook): the opt-out is the person's.
    sb.update_customer(PHONE, marketing_opt_out=True)
    rig.wait(lambda: bool((c := rig.hook_outbox.contact("@anna.b")) and c.marketing_opt_out),
             what="the opt-out to be recorded")
    for any_id in (PHONE, bsuid):
        found = ob.contact(any_id)
        assert found is not None and found.marketing_opt_out and found.contact_id == person.contact_id
    tpl = {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
    calls = len(rig.attempts())
    blocked = ob.enqueue(bsuid, tpl, category="marketing")
    asyncio.run(ob.run(until_idle=True))
    job = ob.job(blocked)
    assert job is not None and job.state is JobState.FAILED and job.wamid is None
    assert "opt-out" in (job.error_details or "") or "stopped" in (job.error_details or "")
    assert len(rig.attempts()) == calls  # refused locally: no call spent
