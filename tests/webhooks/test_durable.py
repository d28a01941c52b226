"""Durable receive on the delivery engine's stores: nothing lost across a SIGKILL, nothing twice."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from wacloud.bot import Application
from wacloud.webhooks import Update

from . import payloads as p
from .servers import serve_asgi, wait_for

delivery = pytest.importorskip("wacloud.delivery", reason="the delivery engine has not landed")


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hooks.db'}"
        return
    dsn = os.environ.get("WACLOUD_TEST_PG_DSN")
    if not dsn:
        pytest.skip("WACLOUD_TEST_PG_DSN is not set (bash .ci/postgres.sh starts a server)")
    import psycopg

    # A schema of its own, so other tests sharing the database see none of these rows.
    schema = f"webhooks_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    try:
        yield f"{dsn}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_concurrent_posts_each_update_handled_once(store_url: str) -> None:
    store = delivery.open_store(store_url)
    app = Application(app_secret=p.SECRET, store=store)
    seen: list[str] = []
    lock = threading.Lock()

    @app.on_update()
    def record(update: Update) -> None:
        with lock:
            seen.append(update.update_id)

    messages = [p.msg("text", {"body": str(i)}) for i in range(40)]
    bodies = [p.body(p.inbound(m)) for m in messages]
    with serve_asgi(app) as url, httpx.Client(base_url=url, timeout=20) as client:
        def post_all(offset: int) -> None:
            for raw in bodies[offset:] + bodies[:offset]:  # every thread sends every payload
                assert client.post("/", content=raw, headers=p.signed_headers(raw)).status_code == 200

        threads = [threading.Thread(target=post_all, args=(k * 10,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert wait_for(lambda: len(seen) >= 40 and not store.pending(10))
    assert sorted(seen) == sorted(m["id"] for m in messages)


def test_restart_resumes_from_the_store(store_url: str) -> None:
    raw = p.body(p.inbound(p.msg("text", {"body": "a"}), p.msg("text", {"body": "b"})))
    first = Application(app_secret=p.SECRET, store=delivery.open_store(store_url), lease_s=0.2)
    status, _, accepted = first.receiver.accept(raw, p.signed_headers(raw))
    assert status == 200 and accepted is not None  # answered, then "crashed" before processing
    again = Application(app_secret=p.SECRET, store=delivery.open_store(store_url))
    got: list[str] = []
    again.on_update()(lambda upd: got.append(upd.update_id))
    assert again.receiver.resume_sync() == 0  # leased to the first process until its lease lapses
    time.sleep(0.3)
    assert again.receiver.resume_sync() == 1 and len(got) == 2
    assert again.receiver.resume_sync() == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(port: int, db: Path, log: Path, mode: str) -> subprocess.Popen[bytes]:
    script = Path(__file__).with_name("durable_server.py")
    proc = subprocess.Popen([sys.executable, str(script), str(port), str(db), str(log), mode])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the receiver process did not start")


def test_sigkill_after_the_200_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    db, log = tmp_path / "hooks.db", tmp_path / "handled.log"
    port = _free_port()
    messages = [p.msg("text", {"body": str(i)}) for i in range(6)]
    bodies = [p.body(p.inbound(*messages[i:i + 2])) for i in range(0, 6, 2)]
    proc = _start(port, db, log, "hang")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for raw in bodies:
                assert client.post("/", content=raw, headers=p.signed_headers(raw)).status_code == 200
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert not log.exists()  # nothing was processed before the kill
    proc = _start(port, db, log, "record")  # startup resumes the stored payloads
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            raw = bodies[0]  # Meta redelivers one of them
            assert client.post("/", content=raw, headers=p.signed_headers(raw)).status_code == 200
            fresh = p.msg("text", {"body": "after restart"})
            raw = p.body(p.inbound(fresh))
            assert client.post("/", content=raw, headers=p.signed_headers(raw)).status_code == 200
        expected = sorted([m["id"] for m in messages] + [fresh["id"]])
        assert wait_for(lambda: log.exists() and len(log.read_text().split()) >= 7, timeout=10)
    finally:
        proc.terminate()
        proc.wait(10)
    assert sorted(log.read_text().split()) == expected


# --- several processes on one inbox ----------------------------------------------------------------

def _pending_payloads(store_url: str, n: int) -> tuple[list[bytes], list[str]]:
    """``n`` stored payloads of two messages each, left pending (as by a process that died)."""
    store = delivery.open_store(store_url)
    bodies, expected = [], []
    for i in range(n):
        m1, m2 = p.msg("text", {"body": f"{i}a"}), p.msg("text", {"body": f"{i}b"})
        raw = p.body(p.inbound(m1, m2))
        store.put(raw, "{}")  # no lease: due at once
        bodies.append(raw)
        expected += [m1["id"], m2["id"]]
    store.close()
    return bodies, expected


def test_two_receivers_resuming_one_inbox_handle_each_update_once(
        store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from wacloud.webhooks import receiver as receiver_module

    monkeypatch.setattr(receiver_module, "RESUME_BATCH", 3)  # small claims, so the two interleave
    _, expected = _pending_payloads(store_url, 24)
    handled: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def gateway(name: str) -> Application:
        app = Application(app_secret=p.SECRET, store=delivery.open_store(store_url))

        @app.on_update()
        def record(update: Update) -> None:
            time.sleep(0.002)  # a real handler takes a while: the other process is claiming meanwhile
            with lock:
                handled.append((name, update.update_id))

        return app

    apps = {name: gateway(name) for name in ("a", "b")}
    counts: dict[str, int] = {}

    def resume(name: str) -> None:
        start.wait()
        counts[name] = apps[name].receiver.resume_sync()

    threads = [threading.Thread(target=resume, args=(name,)) for name in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = [upd for _, upd in handled]
    assert sorted(ids) == sorted(expected), "an update was handled twice or not at all"
    assert counts["a"] + counts["b"] == 24  # every payload processed by exactly one of them
    assert not delivery.open_store(store_url).pending(10)


def test_a_resuming_receiver_leaves_alone_what_a_live_one_is_processing(store_url: str) -> None:
    live = Application(app_secret=p.SECRET, store=delivery.open_store(store_url), lease_s=0.3)
    other = Application(app_secret=p.SECRET, store=delivery.open_store(store_url))
    handled: list[str] = []
    go = threading.Event()
    live.on_update()(lambda upd: (go.wait(10), handled.append(upd.update_id)))
    other.on_update()(lambda upd: handled.append(upd.update_id))
    message = p.msg("text", {"body": "slow"})
    raw = p.body(p.inbound(message))
    status, _, accepted = live.receiver.accept(raw, p.signed_headers(raw))
    assert status == 200 and accepted is not None
    worker = threading.Thread(target=live.receiver.process_sync, args=(accepted,))
    worker.start()
    # The live process's handler runs for several of its leases; the lease is renewed meanwhile.
    deadline = time.monotonic() + 1.2
    resumed = 0
    while time.monotonic() < deadline:
        resumed += other.receiver.resume_sync()
        time.sleep(0.05)
    go.set()
    worker.join(10)
    assert resumed == 0 and handled == [message["id"]]
    assert other.receiver.resume_sync() == 0 and not delivery.open_store(store_url).pending(10)


def test_a_failed_payload_waits_for_its_retry_in_the_store_then_any_process_takes_it(store_url: str) -> None:
    message = p.msg("text", {"body": "x"})
    calls: list[str] = []

    def down(update: Update) -> None:
        calls.append("a")
        raise ConnectionError("outbox down")

    from wacloud.webhooks import WebhookReceiver

    a = WebhookReceiver(app_secret=p.SECRET, dedup=(s := delivery.open_store(store_url)), inbox=s, on_update=down,
                        retry_first_s=0.4)
    raw = p.body(p.inbound(message))
    assert a.handle_post(raw, p.signed_headers(raw))[0] == 200
    assert calls == ["a"] and s.pending(10)  # kept, for a retry
    b_store = delivery.open_store(store_url)
    b = WebhookReceiver(app_secret=p.SECRET, dedup=b_store, inbox=b_store,
                        on_update=lambda upd: calls.append("b:" + upd.update_id))
    assert b.run_due_sync() == 0  # not due yet
    time.sleep(0.5)
    assert b.run_due_sync() == 1
    assert calls == ["a", "b:" + message["id"]] and not s.pending(10)
