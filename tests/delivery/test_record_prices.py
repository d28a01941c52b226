"""``record_prices``: a payload's prices stored with their jobs as one by one: a wamid's last price wins,
the same price again leaves the job as it is, a new one replaces it, an unknown wamid changes nothing."""

from __future__ import annotations

import time

from wacloud.delivery import JobState, Store
from wacloud.delivery.model import NewJob, Outcome
from wacloud.delivery.statuses import JoinableStore

P = "106540352242922"
TEXT = {"messaging_product": "whatsapp", "to": "1", "type": "text", "text": {"body": "hi"}}
UTILITY = {"billable": True, "pricing_model": "PMP", "category": "utility", "type": "regular"}
FREE = {"billable": False, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"}


def _accepted(store: Store, to: str, wamid: str, now: float) -> str:
    (job_id, _), = store.add([NewJob(P, to, TEXT, False)], now)
    (job,) = store.claim(P, 1, now, lease_s=60, worker="w", pair_interval_s=0.0, pair_burst=1)
    store.mark_sending([job.id], now, lease_s=60, worker="w")
    store.settle([Outcome(job.id, JobState.ACCEPTED, now, wamid=wamid)])
    return job_id


def _priced(store: Store) -> list[tuple[str, str | None, float | None]]:
    assert isinstance(store, JoinableStore)
    rows = store.transact(lambda tx: tx.rows("SELECT wamid, pricing, cost FROM jobs ORDER BY wamid"))
    return [(str(w), p, None if c is None else float(c)) for w, p, c in rows]


def test_a_wamids_last_price_is_stored_once(store: Store) -> None:
    now = time.time()
    _accepted(store, "16505550001", "wamid.P1", now)
    _accepted(store, "16505550002", "wamid.P2", now)
    store.record_prices([("wamid.P1", FREE, 0.0), ("wamid.P2", UTILITY, 0.01), ("wamid.P1", UTILITY, 0.02),
                         ("wamid.nope", UTILITY, 0.5)])
    first = _priced(store)
    assert [(w, c) for w, _, c in first] == [("wamid.P1", 0.02), ("wamid.P2", 0.01)]
    assert first[0][1] == first[1][1] and '"utility"' in str(first[0][1])  # the last of P1's: utility
    store.record_prices([("wamid.P1", UTILITY, 0.02), ("wamid.P2", UTILITY, 0.01)])  # delivered, read: the same
    assert _priced(store) == first
    store.record_prices([("wamid.P2", UTILITY, 0.03), ("wamid.P1", FREE, 0.0)])  # a changed rate, a new price
    after = _priced(store)
    assert [(w, c) for w, _, c in after] == [("wamid.P1", 0.0), ("wamid.P2", 0.03)] and '"free' in str(after[0][1])
