"""The framework-free receiver: handshake, input checks, dedup, durable inbox and resume."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wacloud.limits import WEBHOOK_MAX_BODY_BYTES
from wacloud.webhooks import MessageUpdate, StatusUpdate, Update
from wacloud.webhooks.receiver import WebhookReceiver
from wacloud.webhooks.store import MemoryDedupStore, MemoryInboxStore

from . import payloads as p


def _rec(**kw: Any) -> tuple[WebhookReceiver, list[Update]]:
    seen: list[Update] = []
    kw.setdefault("app_secret", p.SECRET)
    kw.setdefault("verify_token", p.VERIFY_TOKEN)
    return WebhookReceiver(on_update=seen.append, **kw), seen


def _post(rec: WebhookReceiver, payload: Any) -> tuple[int, bytes]:
    raw = payload if isinstance(payload, bytes) else p.body(payload)
    return rec.handle_post(raw, p.signed_headers(raw))


# --- GET handshake ------------------------------------------------------------------------------


def test_handshake_echoes_the_challenge() -> None:
    rec, _ = _rec()
    q = {"hub.mode": "subscribe", "hub.verify_token": p.VERIFY_TOKEN, "hub.challenge": "1158201444"}
    assert rec.handle_get(q) == (200, "1158201444")
    query = f"hub.mode=subscribe&hub.verify_token={p.VERIFY_TOKEN}&hub.challenge=42"
    assert rec.handle_get(query) == (200, "42")
    assert rec.handle_get({k: [v] for k, v in q.items()}) == (200, "1158201444")  # parse_qs style


@pytest.mark.parametrize("query", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": p.VERIFY_TOKEN, "hub.challenge": "1"},
    {"hub.verify_token": p.VERIFY_TOKEN, "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.challenge": "1"},
    {},
])
def test_handshake_refuses_anything_else_with_403(query: dict[str, str]) -> None:
    rec, _ = _rec()
    status, reason = rec.handle_get(query)
    assert status == 403 and reason


def test_handshake_without_a_configured_token_is_refused() -> None:
    rec, _ = _rec(verify_token=None)
    assert rec.handle_get({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})[0] == 403


def test_handshake_without_challenge_is_400() -> None:
    rec, _ = _rec()
    assert rec.handle_get({"hub.mode": "subscribe", "hub.verify_token": p.VERIFY_TOKEN})[0] == 400


# --- POST checks --------------------------------------------------------------------------------


def test_oversized_body_is_413_before_anything_else() -> None:
    rec, seen = _rec(max_body_bytes=1000)
    raw = p.body(p.inbound(p.msg("text", {"body": "x" * 2000})))
    assert rec.handle_post(raw, {})[0] == 413 and seen == []
    assert WebhookReceiver(app_secret="s").max_body_bytes == WEBHOOK_MAX_BODY_BYTES


@pytest.mark.parametrize("content_type", ["", "text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonx", "multipart/form-data"])
def test_wrong_content_type_is_400(content_type: str) -> None:
    rec, seen = _rec()
    raw = p.body(p.inbound(p.msg("text", {"body": "hi"})))
    headers = {**p.signed_headers(raw), "content-type": content_type}
    status, body = rec.handle_post(raw, headers)
    assert status == 400 and b"Content-Type" in body and seen == []


@pytest.mark.parametrize(("raw", "reason"), [
    (b"", b"empty"),
    (b"{not json", b"malformed JSON"),
    (b'{"a": NaN}', b"malformed JSON"),
    (b"\xff\xfe\x00", b"malformed JSON"),
    (b"[" * 10000, b"malformed JSON"),
    (b"[]", b"JSON object"),
    (b'{"object": 5, "entry": []}', b"object must be a string"),
    (b'{"object": "whatsapp_business_account", "entry": "x"}', b"entry must be a list"),
    (b'{"object": "whatsapp_business_account", "entry": [1]}', b"every entry"),
    (b'{"object": "whatsapp_business_account", "entry": [{"changes": {}}]}', b"every entry"),
])
def test_bad_bodies_are_400_with_a_reason(raw: bytes, reason: bytes) -> None:
    rec, seen = _rec()
    status, body = _post(rec, raw)
    assert status == 400 and reason in body and seen == []
    assert "error" in json.loads(body)


def test_item_level_surprises_are_accepted_as_raw_updates() -> None:
    # Refusing the whole payload would make Meta redeliver the good updates in it for days.
    rec, seen = _rec()
    good = p.msg("text", {"body": "ok"})
    assert _post(rec, p.inbound(good, p.msg("hologram", {"x": 1}), {"type": 5}))[0] == 200
    assert [type(u).__name__ for u in seen] == ["MessageUpdate", "RawUpdate", "RawUpdate"]


def test_a_failing_handler_still_answers_200_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def boom(update: Update) -> None:
        raise RuntimeError("handler bug")

    rec = WebhookReceiver(app_secret=p.SECRET, on_update=boom)
    message = p.msg("text", {"body": "hi"})
    assert _post(rec, p.inbound(message))[0] == 200
    assert any(message["id"] in r.getMessage() and r.exc_info for r in caplog.records)


# --- duplicates ---------------------------------------------------------------------------------


def test_duplicates_are_suppressed_by_message_id_and_status_pair() -> None:
    rec, seen = _rec()
    message = p.msg("text", {"body": "hi"})
    sent = p.status("sent", id="wamid.OUT1")
    read = p.status("read", id="wamid.OUT1")
    for _ in range(3):
        _post(rec, p.inbound(message))
        _post(rec, p.statuses(sent))
    _post(rec, p.statuses(read, sent))
    assert [u.dedup_key for u in seen] == [message["id"], "wamid.OUT1:sent", "wamid.OUT1:read"]
    assert isinstance(seen[0], MessageUpdate) and isinstance(seen[2], StatusUpdate)


def test_preferences_are_deduplicated_and_account_events_are_not() -> None:
    rec, seen = _rec()
    for _ in range(2):
        _post(rec, p.envelope(p.USER_PREFERENCES))
        _post(rec, p.envelope(p.PHONE_QUALITY, time=1751247548))  # no event id: every one is handed on
    assert [type(u).__name__ for u in seen] == [
        "UserPreferencesUpdate", "PhoneNumberQualityUpdate", "PhoneNumberQualityUpdate"]


def test_duplicates_inside_one_payload_are_suppressed() -> None:
    rec, seen = _rec()
    message = p.msg("text", {"body": "hi"})
    _post(rec, p.inbound(message, message))
    assert len(seen) == 1


def test_a_shared_dedup_store_works_across_receivers() -> None:
    shared = MemoryDedupStore()
    a, seen_a = _rec(dedup=shared)
    b, seen_b = _rec(dedup=shared)
    message = p.msg("text", {"body": "hi"})
    _post(a, p.inbound(message))
    _post(b, p.inbound(message))
    assert len(seen_a) == 1 and seen_b == []


def test_memory_dedup_is_bounded_lru_and_ttl() -> None:
    now = [0.0]
    store = MemoryDedupStore(max_keys=3, ttl_s=10, clock=lambda: now[0])
    assert [store.first_seen(k) for k in "abcd"] == [True] * 4
    assert len(store) == 3
    assert store.first_seen("a") is True  # evicted as least recent
    assert store.first_seen("d") is False
    now[0] = 11
    assert store.first_seen("d") is True  # expired
    assert len(store) <= 3


def test_memory_dedup_is_atomic_across_threads() -> None:
    store = MemoryDedupStore()
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def race() -> None:
        barrier.wait()
        wins.extend(store.first_seen(f"k{i}") for i in range(500))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(wins) == 500


# --- durable inbox ------------------------------------------------------------------------------


class _FailingInbox(MemoryInboxStore):
    def put(self, raw: bytes, headers_json: str) -> int:
        raise OSError("disk full")


def test_the_payload_is_stored_before_the_200_and_marked_done_after() -> None:
    inbox = MemoryInboxStore()
    rec, seen = _rec(inbox=inbox)
    raw = p.body(p.inbound(p.msg("text", {"body": "hi"})))
    status, _, delivery = rec.accept(raw, p.signed_headers(raw))
    assert status == 200 and delivery is not None and delivery.inbox_id is not None
    assert inbox.pending(10) == [(delivery.inbox_id, raw)] and seen == []
    rec.process_sync(delivery)
    assert inbox.pending(10) == [] and len(seen) == 1


def test_a_store_failure_answers_503_so_meta_retries() -> None:
    rec, seen = _rec(inbox=_FailingInbox())
    status, body = _post(rec, p.inbound(p.msg("text", {"body": "hi"})))
    assert status == 503 and b"retry" in body and seen == []


class Clock:
    """A settable clock for the inbox's leases."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _crashed_inbox() -> tuple[MemoryInboxStore, Clock]:
    clock = Clock()
    return MemoryInboxStore(clock=clock), clock


def test_resume_processes_what_a_crash_left_and_only_once() -> None:
    (inbox, clock), dedup = _crashed_inbox(), MemoryDedupStore()
    crashed, seen_before = _rec(inbox=inbox, dedup=dedup)
    m1, m2 = p.msg("text", {"body": "1"}), p.msg("text", {"body": "2"})
    raw = p.body(p.inbound(m1, m2))
    # Answered 200, then the process died before processing.
    assert crashed.accept(raw, p.signed_headers(raw))[0] == 200
    assert seen_before == [] and len(inbox) == 1
    restarted, seen = _rec(inbox=inbox, dedup=dedup)
    assert restarted.resume_sync() == 0  # still leased to the process that answered it
    clock.now += restarted.lease_s  # that process is gone: its lease lapses
    assert restarted.resume_sync() == 1
    assert [u.dedup_key for u in seen] == [m1["id"], m2["id"]] and len(inbox) == 0
    assert restarted.resume_sync() == 0
    _post(restarted, p.inbound(m1))  # Meta's redelivery of the same message
    assert len(seen) == 2


def test_resume_finishes_an_update_claimed_but_not_completed_before_the_crash() -> None:
    (inbox, clock), dedup = _crashed_inbox(), MemoryDedupStore()
    m1, m2 = p.msg("text", {"body": "1"}), p.msg("text", {"body": "2"})

    def die_on_second(update: Update) -> None:
        if update.dedup_key == m2["id"]:
            raise SystemExit("killed mid-payload")  # not an Exception: escapes like a crash

    crashed = WebhookReceiver(app_secret=p.SECRET, inbox=inbox, dedup=dedup, on_update=die_on_second)
    raw = p.body(p.inbound(m1, m2))
    with pytest.raises(SystemExit):
        crashed.handle_post(raw, p.signed_headers(raw))
    clock.now += crashed.lease_s
    restarted, seen = _rec(inbox=inbox, dedup=dedup)
    restarted.resume_sync()
    # m1 was completed before the crash and is not run again; m2 was claimed but never finished.
    assert [u.dedup_key for u in seen] == [m2["id"]]


async def test_async_resume_and_process() -> None:
    inbox, clock = _crashed_inbox()
    got: list[Update] = []

    async def handler(update: Update) -> None:
        got.append(update)

    first = WebhookReceiver(app_secret=p.SECRET, inbox=inbox, on_update=handler)
    raw = p.body(p.statuses(p.status("delivered")))
    first.accept(raw, p.signed_headers(raw))
    clock.now += first.lease_s
    second = WebhookReceiver(app_secret=p.SECRET, inbox=inbox, on_update=handler)
    assert await second.resume() == 1
    assert len(got) == 1 and isinstance(got[0], StatusUpdate)


def test_memory_inbox_orders_and_limits() -> None:
    inbox = MemoryInboxStore()
    ids = [inbox.put(f"{i}".encode(), "{}") for i in range(5)]
    assert ids == sorted(ids)
    assert [i for i, _ in inbox.pending(2)] == ids[:2]
    inbox.done(ids[0])
    assert [i for i, _ in inbox.pending(10)] == ids[1:]


# --- fuzzing the whole POST path ------------------------------------------------------------------

_fuzz_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
    | st.sampled_from(["whatsapp_business_account", "messages", "statuses", "text", "1749416383"]),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
        st.sampled_from(["object", "entry", "changes", "field", "value", "messages", "statuses", "id",
                         "type", "text", "from", "timestamp", "errors", "contacts", "body"]) | st.text(max_size=5),
        kids, max_size=5),
    max_leaves=50,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_fuzz_json.map(lambda v: json.dumps(v).encode()), st.binary(max_size=300)))
def test_hypothesis_signed_posts_never_crash_and_get_a_known_status(raw: bytes) -> None:
    rec = WebhookReceiver(app_secret=p.SECRET, inbox=MemoryInboxStore(), on_update=lambda u: None)
    status, body = rec.handle_post(raw, p.signed_headers(raw))
    assert status in (200, 400) and json.loads(body)
    assert len(rec.inbox) == 0  # type: ignore[arg-type]  # processed or refused, never left behind


@pytest.mark.parametrize("raw", [
    b'{"object":"whatsapp_business_account","object":"whatsapp_business_account","entry":[]}',
    b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":'
    b'{"messages":[{"from":"1","id":"w1","timestamp":"1","type":"image","type":"text","text":{"body":"dup"}}]}}]}]}',
    b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":'
    b'{"messages":[{"from":"1","id":"w2","timestamp":"1","type":"text","text":{"body":"' + b"x" * 200_000
    + b'"}}]}}]}]}',
])
def test_duplicate_keys_and_huge_strings_are_handled(raw: bytes) -> None:
    rec, seen = _rec()
    assert rec.handle_post(raw, p.signed_headers(raw))[0] == 200
    assert all(isinstance(u, Update) for u in seen)


def test_handshake_with_odd_characters_is_a_clean_403() -> None:
    rec, _ = _rec()
    for token in ("\ud800", "é" * 1000, "\x00"):
        assert rec.handle_get({"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1"})[0] == 403
