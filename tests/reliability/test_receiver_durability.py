"""Receiver durability: SIGKILL the receiver right after it answered 200; after restart nothing is lost.

The receiver runs with the durable SQLite store (inbox + dedup) in a subprocess; its handler waits a
little and then appends the update's ``dedup_key`` to an effects file, so when the last 200 of a batch
arrives many updates are still being processed. We SIGKILL it at that moment, restart it on the same
store (the stored payloads are resumed at startup), and kill it again. Two kills cover the two distinct
cases: a fresh receiver mid-batch, and a restarted one (its start-up resumed the first kill's leftovers,
its store holds done and undone records) mid-batch; a third kill was the second case again. At the end
every update that was answered 200 must have been handled, and none twice -- except that a kill landing
in the few microseconds between a handler's effect and the receiver's "done" mark can make that one update run
again: a handler's side effect and the store cannot commit atomically together, so the bound checked is
at most one redelivery per kill (the guarantee the receiver documents), and zero losses, always.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from benchmarks import _loadgen, corpus
from benchmarks._receiver_server import PATH

from reliability.support import scaled
from wacloud.webhooks import parse

KINDS = ["text", "image", "button_reply", "list_reply", "reaction", "status_sent", "status_delivered",
         "status_read", "status_failed", "location", "document"]


def _send_all(port: int, bodies: list[bytes]) -> _loadgen.Stats:
    requests = [_loadgen.encode_post(PATH, b, {"X-Hub-Signature-256": s}) for b, s in corpus.signed(bodies)]
    return asyncio.run(_loadgen.closed_loop("127.0.0.1", port, requests, concurrency=16, duration=120,
                                            max_requests=len(requests)))


def _effects(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_sigkill_after_200_loses_nothing(receiver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rounds, per_round = 2, scaled(200, minimum=30)
    bodies = corpus.bodies(rounds * per_round, kinds=KINDS, seed=2024)
    expected = [u.dedup_key for b in bodies for u in parse(b)]
    assert None not in expected and len(set(expected)) == len(expected)
    effects = tmp_path / "effects.log"
    args = ["--kind", "ours", "--store", f"sqlite:///{tmp_path / 'hooks.db'}", "--effects", str(effects),
            "--delay-ms", "15"]

    unprocessed_at_kill = []
    for r in range(rounds):
        server = receiver(*args)
        stats = _send_all(int(server.base_url.rsplit(":", 1)[1]), bodies[r * per_round:(r + 1) * per_round])
        server.kill()  # SIGKILL, right after the last 200 of the batch
        assert stats.ok == per_round, f"round {r}: {stats.as_dict()}"
        unprocessed_at_kill.append(len(expected[:(r + 1) * per_round]) - len(set(_effects(effects))))

    # The kills must have interrupted real work, or this test proves nothing.
    assert max(unprocessed_at_kill) > 0, unprocessed_at_kill

    server = receiver(*args)  # startup resumes every stored payload before serving
    deadline = time.monotonic() + 60
    while len(set(_effects(effects))) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # anything still running would show up as a duplicate now
    seen = Counter(_effects(effects))
    missing = set(expected) - set(seen)
    assert not missing, f"{len(missing)} updates answered 200 were never handled: {sorted(missing)[:5]}"
    assert set(seen) == set(expected)
    redelivered = {k: n for k, n in seen.items() if n > 1}
    print(f"unprocessed at each kill: {unprocessed_at_kill}; redelivered: {redelivered}")
    assert sum(n - 1 for n in redelivered.values()) <= rounds, (redelivered, unprocessed_at_kill)
    server.kill()


def test_gateway_sigkilled_after_200_processes_every_update(tmp_path: Path) -> None:
    """The same through ``wacloud serve``: its webhook goes to the outbox, the conversation log and a bot."""
    from benchmarks import _harness as h

    rounds, per_round = 2, scaled(150, minimum=30)
    bodies = corpus.bodies(rounds * per_round, kinds=["text", "image", "button_reply", "status_read"], seed=77)
    expected = [u.dedup_key for b in bodies for u in parse(b)]
    effects = tmp_path / "bot.log"
    env = {"WACLOUD_ACCESS_TOKEN": h.SANDBOX_TOKEN, "WACLOUD_PHONE_NUMBER_ID": corpus.PHONE_NUMBER_ID,
           "WACLOUD_WABA_ID": corpus.WABA_ID, "WACLOUD_APP_SECRET": corpus.APP_SECRET,
           "WACLOUD_VERIFY_TOKEN": "gw-verify", "WACLOUD_GRAPH_URL": "http://127.0.0.1:9",
           "WACLOUD_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}", "WACLOUD_LOG_LEVEL": "WARNING",
           "WACLOUD_TEST_EFFECTS": str(effects), "WACLOUD_TEST_DELAY_MS": "15"}

    def start() -> h.Server:
        return h.spawn("tests.reliability.gateway_bot", [], ready_path="/healthz", env=env,
                       log=tmp_path / "gateway.log", timeout=60)

    unprocessed = []
    for r in range(rounds):
        gw = start()
        try:
            stats = _send_all(int(gw.base_url.rsplit(":", 1)[1]), bodies[r * per_round:(r + 1) * per_round])
        finally:
            gw.kill()  # SIGKILL right after the last 200
        assert stats.ok == per_round, (stats.as_dict(), (tmp_path / "gateway.log").read_text()[-2000:])
        unprocessed.append((r + 1) * per_round - len(set(_effects(effects))))
    assert max(unprocessed) > 0, unprocessed

    gw = start()
    try:
        deadline = time.monotonic() + 60
        while len(set(_effects(effects))) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        seen = Counter(_effects(effects))
        missing = set(expected) - set(seen)
        assert not missing, f"{len(missing)} updates answered 200 never reached the bot"
        assert sum(n - 1 for n in seen.values() if n > 1) <= rounds, (seen.most_common(3), unprocessed)
        print(f"gateway: unprocessed at each kill {unprocessed}; redelivered "
              f"{ {k: n for k, n in seen.items() if n > 1} }")
    finally:
        gw.kill()
