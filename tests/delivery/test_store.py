"""The store contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import threading
import time

import pytest

from wacloud.delivery import InFlightPolicy, JobState, Store, StoreError, open_store
from wacloud.delivery.model import AFTER_ACCEPT, NewJob, Outcome
from wacloud.delivery.sql import LATEST_VERSION
from wacloud.errors import ValidationError
from wacloud.webhooks.store import DedupStore, InboxStore

P = "106540352242922"
TEXT = {"messaging_product": "whatsapp", "to": "1", "type": "text", "text": {"body": "hi"}}


def new(to: str = "16505550001", *, key: str | None = None, not_before: float = 0.0,
        campaign: str | None = None) -> NewJob:
    return NewJob(P, to, TEXT, False, key=key, not_before=not_before, campaign=campaign)


def claim(store: Store, n: int = 100, now: float | None = None, *, worker: str = "w", lease_s: float = 60.0,
          burst: int = 1) -> list[str]:
    jobs = store.claim(P, n, time.time() if now is None else now, lease_s=lease_s, worker=worker,
                       pair_interval_s=6.0, pair_burst=burst)
    return [j.id for j in jobs]


def test_migrations_are_versioned_and_run_once(store_url: str) -> None:
    a = open_store(store_url)
    a.add([new()], time.time())
    b = open_store(store_url)  # a second process opening the same store: no re-run, data kept
    assert len(b.find()) == 1
    assert b.migrate() == LATEST_VERSION  # type: ignore[attr-defined]
    a.close()
    b.close()


def test_a_newer_schema_is_refused(store: Store, store_url: str) -> None:
    with store._tx() as tx:  # type: ignore[attr-defined]
        tx.run("INSERT INTO schema_version (version) VALUES (?)", (LATEST_VERSION + 1,))
    with pytest.raises(StoreError, match="newer"):
        open_store(store_url)


def test_same_key_never_makes_a_second_job(store: Store) -> None:
    (a, created_a), (b, created_b), (c, created_c) = store.add(
        [new(key="order-1"), new(key="order-1"), new(key="order-2")], time.time())
    assert a == b and created_a and not created_b and created_c and c != a
    assert store.add([new(key="order-1")], time.time()) == [(a, False)]
    assert len(store.find()) == 2


def test_claims_are_exclusive_across_connections(store_url: str) -> None:
    first = open_store(store_url)
    first.add([new(f"1650555{i:04d}") for i in range(120)], time.time())
    got: list[list[str]] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        s = open_store(store_url)
        try:
            while True:
                ids = claim(s, 7, worker=name)
                if not ids:
                    return
                with lock:
                    got.append(ids)
        finally:
            s.close()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [i for ids in got for i in ids]
    assert len(flat) == 120 and len(set(flat)) == 120
    assert first.summary().count(JobState.CLAIMED) == 120
    first.close()


def test_pair_rate_holds_back_a_recipients_next_jobs(store: Store) -> None:
    now = time.time()
    store.add([new("111"), new("111"), new("111"), new("222")], now)
    ids = claim(store, 10, now)
    claimed = {j.to for j in store.find(state=JobState.CLAIMED)}
    assert len(ids) == 2 and claimed == {"111", "222"}
    waiting = sorted(j.not_before for j in store.find(state=JobState.QUEUED))
    # The two other jobs to 111 wait one and two pair intervals.
    assert waiting == [pytest.approx(now + 6.0), pytest.approx(now + 12.0)]
    assert claim(store, 10, now + 5.9) == []
    assert len(claim(store, 10, now + 6.0)) == 1


def test_pair_burst_is_configurable(store: Store) -> None:
    now = time.time()
    store.add([new("111") for _ in range(5)], now)
    assert len(claim(store, 10, now, burst=3)) == 3


def test_not_before_and_pause_are_respected(store: Store) -> None:
    now = time.time()
    store.add([new(not_before=now + 100)], now)
    assert claim(store, 10, now) == []
    assert len(claim(store, 10, now + 100)) == 1
    store.add([new("16505550002")], now)
    store.pause(P, now + 150, "auth")
    assert store.paused(P, now) == (pytest.approx(now + 150), "auth")
    assert claim(store, 10, now + 101) == []
    store.resume(P)
    assert store.paused(P, now) is None
    assert len(claim(store, 10, now + 101)) == 1


def test_expired_claims_go_back_and_in_flight_calls_become_uncertain(store: Store) -> None:
    now = time.time()
    store.add([new("1"), new("2")], now)
    a, b = claim(store, 10, now, lease_s=1.0)
    assert store.mark_sending([b], now, lease_s=1.0, worker="w") == [b]
    assert store.recover(P, now + 0.5, InFlightPolicy.AT_MOST_ONCE).released == 0
    rec = store.recover(P, now + 2, InFlightPolicy.AT_MOST_ONCE)
    assert (rec.released, rec.uncertain) == (1, 1)
    ja, jb = store.get(a), store.get(b)
    assert ja is not None and ja.state is JobState.QUEUED
    assert jb is not None and jb.state is JobState.UNCERTAIN and jb.attempts == 1 and jb.finished_at


def test_at_least_once_requeues_in_flight_calls(store: Store) -> None:
    now = time.time()
    store.add([new("1")], now)
    (a,) = claim(store, 10, now, lease_s=1.0)
    store.mark_sending([a], now, lease_s=1.0, worker="w")
    rec = store.recover(P, now + 2, InFlightPolicy.AT_LEAST_ONCE)
    assert rec.resent == 1
    job = store.get(a)
    assert job is not None and job.state is JobState.QUEUED and job.attempts == 1


def test_a_lost_lease_cannot_be_sent(store: Store) -> None:
    now = time.time()
    store.add([new("1")], now)
    (a,) = claim(store, 10, now, lease_s=1.0, worker="old")
    store.recover(P, now + 2, InFlightPolicy.AT_MOST_ONCE)
    # (The first claim spent the recipient's pair token: the next claim waits one interval.)
    assert claim(store, 10, now + 6, worker="new") == [a]
    assert store.mark_sending([a], now + 6, lease_s=60, worker="old") == []
    assert store.mark_sending([a], now + 6, lease_s=60, worker="new") == [a]


def test_release_gives_claims_back(store: Store) -> None:
    now = time.time()
    store.add([new("1"), new("2")], now)
    ids = claim(store, 10, now)
    assert store.release(ids, worker="w", now=now) == 2
    assert store.summary().count(JobState.QUEUED) == 2


def test_outcomes_are_stored_with_the_job(store: Store) -> None:
    now = time.time()
    store.add([new("1"), new("2"), new("3")], now)
    a, b, c = claim(store, 10, now)
    store.mark_sending([a, b, c], now, lease_s=60, worker="w")
    store.settle([
        Outcome(a, JobState.ACCEPTED, now, wamid="wamid.A"),
        Outcome(b, JobState.QUEUED, now, not_before=now + 4, error_code=131000, fbtrace_id="T1",
                counter="failures"),
        Outcome(c, JobState.FAILED, now, error_code=131026, error_title="Message undeliverable"),
    ])
    ja, jb, jc = store.get(a), store.get(b), store.get(c)
    assert ja and ja.state is JobState.ACCEPTED and ja.wamid == "wamid.A" and ja.attempts == 1
    assert jb and jb.state is JobState.QUEUED and jb.failures == 1 and jb.fbtrace_id == "T1"
    assert jb.not_before == pytest.approx(now + 4)
    assert jc and jc.state is JobState.FAILED and jc.error_code == 131026 and jc.finished_at
    assert store.summary().failed_by_code == {131026: 1}
    # Compare-and-set: an outcome for a job no longer in hand changes nothing.
    store.settle([Outcome(a, JobState.FAILED, now, error_code=1)])
    assert store.get(a).state is JobState.ACCEPTED  # type: ignore[union-attr]


def test_statuses_never_move_a_job_backwards(store: Store) -> None:
    now = time.time()
    store.add([new("1")], now)
    (a,) = claim(store, 10, now)
    store.mark_sending([a], now, lease_s=60, worker="w")
    store.settle([Outcome(a, JobState.ACCEPTED, now, wamid="wamid.X")])
    assert store.apply_status("wamid.X", "read", now + 3, now=now).applied
    kept = store.apply_status("wamid.X", "delivered", now + 2, now=now)
    assert not kept.applied and kept.job is not None and kept.job.state is JobState.READ
    assert kept.job.delivered_at == pytest.approx(now + 3)  # a read implies delivered
    assert not store.apply_status("wamid.X", "sent", now + 1, now=now).applied
    assert not store.apply_status("wamid.X", "failed", now + 4, error_code=131026, now=now).applied
    assert store.get(a).state is JobState.READ  # type: ignore[union-attr]


def test_a_status_that_beats_the_send_answer_is_replayed(store: Store) -> None:
    now = time.time()
    store.add([new("1")], now)
    (a,) = claim(store, 10, now)
    store.mark_sending([a], now, lease_s=60, worker="w")
    assert store.apply_status("wamid.E", "delivered", now, now=now).job is None
    store.apply_status("wamid.E", "delivered", now, now=now)  # a duplicate is kept once
    early = store.settle([Outcome(a, JobState.ACCEPTED, now, wamid="wamid.E")])
    assert [(e.wamid, e.status) for e in early] == [("wamid.E", "delivered")]


def test_failed_status_is_returned_for_the_policy(store: Store) -> None:
    now = time.time()
    store.add([new("1")], now)
    (a,) = claim(store, 10, now)
    store.mark_sending([a], now, lease_s=60, worker="w")
    store.settle([Outcome(a, JobState.ACCEPTED, now, wamid="wamid.F")])
    change = store.apply_status("wamid.F", "failed", now, error_code=131047, now=now)
    assert change.applied and change.job is not None and change.job.state is JobState.ACCEPTED
    store.settle([Outcome(a, JobState.FAILED, now, error_code=131047, expect=AFTER_ACCEPT, count_attempt=False)])
    assert store.get(a).state is JobState.FAILED  # type: ignore[union-attr]


def test_slots_of_two_connections_never_overlap(store_url: str) -> None:
    a, b = open_store(store_url), open_store(store_url)
    now = time.time()
    starts = sorted([a.reserve(P, 10, now, 0.01), b.reserve(P, 10, now, 0.01), a.reserve(P, 5, now, 0.01)])
    assert starts == [pytest.approx(now), pytest.approx(now + 0.1), pytest.approx(now + 0.2)]
    a.close()
    b.close()


def test_contacts_windows_and_preferences(store: Store) -> None:
    store.touch_inbound(P, "111", 100.0)
    store.touch_inbound(P, "111", 50.0)  # an older message does not shrink the window
    store.set_marketing(P, "111", True, 10.0)
    store.set_marketing(P, "111", False, 5.0)  # out of order: the later opt-out still holds
    got = store.contacts(P, ["111", "999"])
    assert set(got) == {"111"}
    assert got["111"].last_inbound == 100.0 and got["111"].marketing_opt_out
    store.set_marketing(P, "111", False, 20.0)
    assert not store.contacts(P, ["111"])["111"].marketing_opt_out


def test_webhook_dedup_is_atomic_across_threads(store_url: str) -> None:
    results: list[bool] = []
    lock = threading.Lock()

    def offer() -> None:
        s = open_store(store_url)
        try:
            seen = s.first_seen("wamid.dup:delivered")
        finally:
            s.close()
        with lock:
            results.append(seen)

    threads = [threading.Thread(target=offer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1 and len(results) == 6


def test_durable_inbox_keeps_payloads_until_done(store_url: str) -> None:
    s = open_store(store_url)
    assert isinstance(s, DedupStore) and isinstance(s, InboxStore)
    one = s.put(b'{"a": "\xc3\xa9"}', '{"x-hub-signature-256": "sha256=00"}')
    two = s.put(b"\x00binary", "{}")
    assert two > one
    s.close()
    again = open_store(store_url)  # a restart: nothing lost
    assert again.pending(10) == [(one, b'{"a": "\xc3\xa9"}'), (two, b"\x00binary")]
    again.done(one)
    assert again.pending(10) == [(two, b"\x00binary")]
    assert again.pending(0) == []
    again.close()


def test_claim_reads_the_ready_index(store: Store, store_url: str) -> None:
    store.add([new(f"1{i}") for i in range(50)], time.time())
    lanes = {
        "jobs_ready_first": "SELECT id, recipient FROM jobs WHERE phone_number_id = ? AND state = 'queued' "
                            "AND priority > 0 AND not_before <= ? ORDER BY not_before, id LIMIT ?",
        "jobs_ready": "SELECT id, recipient FROM jobs WHERE phone_number_id = ? AND state = 'queued' "
                      "AND not_before <= ? AND priority = 0 ORDER BY not_before, id LIMIT ?",
    }
    for index, sql in lanes.items():
        with store._tx() as tx:  # type: ignore[attr-defined]
            if store_url.startswith("sqlite"):
                plan = " ".join(str(r) for r in tx.rows("EXPLAIN QUERY PLAN " + sql, (P, time.time(), 10)))
            else:
                tx.run("SET LOCAL enable_seqscan = off")
                plan = " ".join(str(r) for r in tx.rows("EXPLAIN " + sql, (P, time.time(), 10)))
        assert f"{index} " in plan + " " or f"{index})" in plan, plan


@pytest.mark.parametrize("url", ["", "mysql://x", "redis://y"])
def test_bad_store_urls_get_a_clear_error(url: str) -> None:
    with pytest.raises(ValidationError):
        open_store(url)


def test_sqlite_url_forms(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(str(tmp_path))
    s = open_store("sqlite:///rel.db")
    assert s.path == "rel.db"  # type: ignore[attr-defined]
    with s._tx() as tx:  # type: ignore[attr-defined]
        assert tx.rows("PRAGMA journal_mode")[0][0] == "wal"
    s.close()
    absolute = open_store(f"sqlite:///{tmp_path}/abs.db")
    assert absolute.path == f"{tmp_path}/abs.db"  # type: ignore[attr-defined]
    absolute.close()


def test_old_dedup_keys_and_unclaimed_early_statuses_are_pruned(store: Store) -> None:
    now = time.time()
    assert store.first_seen("old")
    store.apply_status("wamid.not-ours", "delivered", now, now=now - 100)
    assert store.prune(now + 10, dedup_ttl_s=5, early_ttl_s=50) == 2
    assert store.first_seen("old")  # forgotten, so new again
    assert store.prune(now, dedup_ttl_s=5, early_ttl_s=50) == 0


def test_the_dedup_sweep_resumes_where_it_stopped(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite's keys have no age index (migration 12): a prune looks at a bounded share of them, in key
    # order, and the next one goes on from there. PostgreSQL deletes by age at once.
    import wacloud.delivery._sql_inbox as inbox

    monkeypatch.setattr(inbox, "SWEEP_BATCH", 3)
    monkeypatch.setattr(inbox, "SWEEP_MIN_KEYS", 6)
    now = time.time()
    old = [f"k{i:02d}" for i in range(0, 20, 2)]  # interleaved in key order with the fresh ones
    fresh = [f"k{i:02d}" for i in range(1, 20, 2)]
    assert all(store.first_seen_all(old))
    with store._tx() as tx:  # type: ignore[attr-defined]
        tx.run("UPDATE webhook_dedup SET seen_at = ?", (now - 100,))
    assert all(store.first_seen_all(fresh))
    pruned = []
    for _ in range(4):
        pruned.append(store.prune(now, dedup_ttl_s=50, early_ttl_s=50))
    if store.DEDUP_AGE_INDEX:  # type: ignore[attr-defined]
        assert pruned == [10, 0, 0, 0]
    else:  # 20 keys, 6 looked at a call: 3, 3, 3, then the last 1 old key and the end of the pass
        assert pruned == [3, 3, 3, 1]
        assert store._sweep_pass_keys == 21  # type: ignore[attr-defined]  # 7 batches of 3 (the last counted whole)
    assert [store.seen(k) for k in old] == [False] * 10
    assert [store.seen(k) for k in fresh] == [True] * 10


def test_postgres_reconnects_after_losing_its_connection(pg_store_url: str) -> None:
    import psycopg

    from .conftest import pg_dsn

    store = open_store(pg_store_url)
    store.add([new("1")], time.time())
    pid = store._conn.info.backend_pid  # type: ignore[attr-defined]
    with psycopg.connect(pg_dsn() or "", autocommit=True) as admin:  # what a server restart does
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(StoreError):
        store.find()
    assert len(store.find()) == 1  # the next call reconnects
    store.close()


def test_store_errors_never_show_the_password() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError) as info:
        open_store("postgresql://app:s3cret-pw@127.0.0.1:1/wacloud")
    assert "s3cret-pw" not in str(info.value) and "127.0.0.1:1/wacloud" in str(info.value)
    assert "s3cret-pw" not in repr(info.value.__cause__)


def test_a_constraint_violation_is_not_transient(store: Store) -> None:
    now = time.time()
    store.add([new("1"), new("2")], now)
    a, b = claim(store, 10, now)
    store.mark_sending([a, b], now, lease_s=60, worker="w")
    store.settle([Outcome(a, JobState.ACCEPTED, now, wamid="wamid.same")])
    with pytest.raises(StoreError) as info:
        store.settle([Outcome(b, JobState.ACCEPTED, now, wamid="wamid.same")])
    assert info.value.transient is False
    assert store.get(b).state is JobState.SENDING  # type: ignore[union-attr]  # rolled back whole


def test_a_refused_calls_pair_token_is_given_back(store: Store) -> None:
    now = time.time()
    store.add([new("111")], now)
    assert len(claim(store, 10, now)) == 1
    store.add([new("111")], now)
    assert claim(store, 10, now) == []  # the token is spent: this one waits an interval
    store.refund_recipient(P, "111", 6.0, now)
    # The waiting job was rescheduled for the next token; a new one can go at once now.
    store.add([new("111")], now)
    assert len(claim(store, 10, now)) == 1


def test_the_priority_lane_goes_before_the_campaign(store: Store) -> None:
    now = time.time()
    store.add([new(f"1{i}", campaign="big") for i in range(5)], now)
    store.add([NewJob(P, "999", TEXT, False, priority=1)], now + 1)
    first = store.claim(P, 2, now + 2, lease_s=60, worker="w", pair_interval_s=6.0, pair_burst=1)
    assert [j.to for j in first] == ["999", "10"] and first[0].priority == 1


def test_an_old_store_is_upgraded_in_place(store_url: str) -> None:
    from wacloud.delivery.sql import MIGRATIONS

    s = open_store(store_url)
    with s._tx() as tx:  # type: ignore[attr-defined]
        # Rebuild the store as version 1 left it, with a job in it.
        created = {t for _, statements in MIGRATIONS for st in statements
                   for t in re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", st)}
        for table in sorted(created | {"schema_version"}):
            tx.run(f"DROP TABLE IF EXISTS {table}")
        tx.run("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for statement in MIGRATIONS[0][1]:
            tx.run(statement.format(**s.TYPES))  # type: ignore[attr-defined]
        tx.run("INSERT INTO schema_version (version) VALUES (1)")
        tx.run("INSERT INTO webhook_dedup (key, seen_at) VALUES ('msg:kept', 1)")
        tx.run("INSERT INTO jobs (phone_number_id, recipient, state, body, is_template, not_before, created_at, "
               "updated_at) VALUES (?, '1', 'queued', '{}', 0, 0, 0, 0)", (P,))
    s.close()
    upgraded = open_store(store_url)
    (job,) = upgraded.find()
    assert job.priority == 0 and job.state is JobState.QUEUED
    assert upgraded.seen("msg:kept") and not upgraded.first_seen("msg:kept")  # carried over (migration 12)
    with upgraded._tx() as tx:  # type: ignore[attr-defined]
        assert [r[0] for r in tx.rows("SELECT version FROM schema_version ORDER BY version")] == \
            [version for version, _ in MIGRATIONS]
    upgraded.close()


def test_the_pair_gap_holds_when_a_send_comes_after_the_next_jobs_claim(store_url: str) -> None:
    # Job a's send is held up past its pair token (a stalled loop, a fresh slot): b comes due and a
    # second worker claims it. Sends are what Meta spaces, so of the two only one may go now, and the
    # other only an interval after it.
    w1, w2 = open_store(store_url), open_store(store_url)
    now = time.time()
    (a, _), (b, _) = w1.add([new("111"), new("111")], now)
    assert claim(w1, 10, now, worker="w1") == [a]
    assert claim(w2, 10, now + 6.0, worker="w2") == [b]
    went = w1.mark_sending([a], now + 6.1, lease_s=60, worker="w1", pair_interval_s=6.0)
    went += w2.mark_sending([b], now + 6.2, lease_s=60, worker="w2", pair_interval_s=6.0)
    assert went == [b]
    # The same call retried (its commit's answer lost) still finds b its own: b's bump is not "another send".
    assert w2.mark_sending([b], now + 6.2, lease_s=60, worker="w2", pair_interval_s=6.0) == [b]
    held = w1.get(a)
    assert held is not None and held.state is JobState.QUEUED and held.attempts == 0
    # Claimed again, a waits for the token b's send took.
    assert claim(w1, 10, now + 6.3, worker="w1") == []
    assert claim(w1, 10, now + 12.2, worker="w1") == [a]
    assert w1.mark_sending([a], now + 12.2, lease_s=60, worker="w1", pair_interval_s=6.0) == [a]
    w1.close()
    w2.close()


def test_one_mark_decides_each_job_of_a_burst_on_its_own_allowance(store: Store) -> None:
    # A burst of 2 grants two tokens to one recipient in one claim: the first allows its send until the
    # bucket reaches now + 12, the second until now + 18. A 131056 then moves the bucket to now + 15: in one
    # mark_sending of both, the first is held back and the second goes (and moves the bucket on).
    now = time.time()
    (a, _), (b, _), (c, _) = store.add([new("111"), new("111"), new("222")], now)
    assert claim(store, 10, now, burst=2) == [a, b, c]
    store.hold_recipient(P, "111", now + 15.0)
    went = store.mark_sending([a, b, c], now + 1.0, lease_s=60, worker="w", pair_interval_s=6.0)
    assert sorted(went) == sorted([b, c])
    held = store.get(a)
    assert held is not None and held.state is JobState.QUEUED
    assert {store.get(i).state for i in (b, c)} == {JobState.SENDING}  # type: ignore[union-attr]
    # a waits for the recipient's next token: the bucket is at now + 15 (b's send moved it no earlier).
    assert claim(store, 10, now + 2.0, burst=2) == []
    assert claim(store, 10, now + 9.0, burst=2) == [a]


def test_a_late_answer_holds_back_the_next_send_to_its_recipient(store: Store) -> None:
    # a's call was slow: b was claimed (a's token had passed) before a's answer came. The gap also counts
    # from that answer, so b must not go at once.
    now = time.time()
    (a, _), (b, _) = store.add([new("111"), new("111")], now)
    assert claim(store, 10, now) == [a]
    assert store.mark_sending([a], now, lease_s=60, worker="w", pair_interval_s=6.0) == [a]
    assert claim(store, 10, now + 6.0) == [b]
    store.settle([Outcome(a, JobState.ACCEPTED, now + 6.5, wamid="wamid.slow", pair_tat=now + 12.5)])
    assert store.mark_sending([b], now + 6.6, lease_s=60, worker="w", pair_interval_s=6.0) == []
    assert claim(store, 10, now + 6.7) == []
    assert claim(store, 10, now + 12.5) == [b]
