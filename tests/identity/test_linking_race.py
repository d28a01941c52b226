"""Two processes learning one customer's ids at the same moment end with one person, without an error.

Each webhook's transaction inserts the ids it has not seen (one statement, in one order); when another
process linked one of them first, the insert skips it and the two records are merged. On the real
PostgreSQL, two stores (two connections), forty customers, each learnt by both at once from a barrier.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from wacloud.delivery import open_store
from wacloud.identity import CustomerIds

P = "1234567890"


def test_ids_learnt_at_once_by_two_processes_make_one_person(pg_store_url: str) -> None:
    first, second = open_store(pg_store_url), open_store(pg_store_url)
    try:
        people = [(f"1555000{k:04d}", f"US.{13491208655302741000 + k}") for k in range(40)]
        # A claim keyed the pair bucket by the phone number before anyone knew the person.
        now = time.time()
        for phone, _ in people:
            first.hold_recipient(P, phone, now + 5.0)
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)

        def learner(store: object, ids_of: Callable[[str, str], CustomerIds]) -> None:
            learn = store.learn_contact  # type: ignore[attr-defined]
            for phone, bsuid in people:
                barrier.wait(10)
                try:
                    learn(P, ids_of(phone, bsuid), time.time())
                except BaseException as exc:
                    errors.append(exc)

        threads = [
            threading.Thread(target=learner, args=(first, lambda ph, b: CustomerIds(wa_id=ph, bsuid=b))),
            threading.Thread(target=learner, args=(second, lambda ph, b: CustomerIds(bsuid=b, wa_id=ph,
                                                                                    username=f"u{ph[-4:]}"))),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        for phone, bsuid in people:
            by_phone, by_bsuid = first.find_contact(P, phone), first.find_contact(P, bsuid)
            assert by_phone is not None and by_bsuid is not None
            assert by_phone.contact_id == by_bsuid.contact_id  # one person
            assert by_phone.ids is not None and (by_phone.ids.wa_id, by_phone.ids.bsuid) == (phone, bsuid)
        # The race was run, not avoided: some customers were made twice at once, then merged into one.
        changes = first.transact(lambda tx: tx.rows("SELECT data FROM events WHERE type = 'contact.identity_changed'"))
        assert [d for (d,) in changes if '"reason":"merged"' in d.replace(" ", "")]
        # Each pair bucket moved to its person, still as late as the claim left it (never a fresh burst).
        buckets = dict(first.transact(lambda tx: tx.rows("SELECT recipient, tat FROM pair_buckets")))
        assert len(buckets) == len(people)
        for phone, _ in people:
            found = first.find_contact(P, phone)
            assert found is not None and buckets[found.contact_id] >= now + 5.0 - 1e-6
    finally:
        first.close()
        second.close()
