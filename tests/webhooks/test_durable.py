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

from wacloud.webhooks import Application, Update

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
