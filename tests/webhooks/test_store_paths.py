"""The receiver's two store paths: in-memory stores called inline, durable ones through the lane.

Both must keep the receiver's promise: an update delivered several times at once is handled once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from wacloud.delivery import open_store
from wacloud.webhooks import MemoryDedupStore, Update, WebhookReceiver

from . import payloads as p


async def _deliver_concurrently(receiver: WebhookReceiver, raws: list[bytes]) -> list[int]:
    async def one(raw: bytes) -> int:
        status, _, delivery = receiver.accept(raw, p.signed_headers(raw))
        assert status == 200 and delivery is not None
        return await receiver.process(delivery)

    return list(await asyncio.gather(*(one(raw) for raw in raws)))


def test_memory_stores_run_inline_and_still_drop_duplicates() -> None:
    seen: list[str] = []
    receiver = WebhookReceiver(app_secret=p.SECRET, on_update=lambda u: seen.append(u.update_id))
    assert isinstance(receiver.dedup, MemoryDedupStore) and not receiver.stores_block
    raw = p.body(p.inbound(p.msg("text", {"body": "hi"})))
    handled = asyncio.run(_deliver_concurrently(receiver, [raw] * 5))
    assert sorted(handled) == [0, 0, 0, 0, 1] and len(seen) == 1


def test_durable_claims_batched_in_the_lane_handle_each_update_once(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'hooks.db'}")
    seen: list[Update] = []
    receiver = WebhookReceiver(app_secret=p.SECRET, dedup=store, inbox=store, on_update=seen.append)
    assert receiver.stores_block
    # 20 distinct updates, each delivered 3 times at once: the claims wait together in the lane and are
    # written in shared transactions, copies of one update possibly in the same batch.
    raws = [p.body(p.statuses(p.status("delivered", id=f"wamid.S{i}")))
            for i in range(20)]
    handled = asyncio.run(_deliver_concurrently(receiver, [r for r in raws for _ in range(3)]))
    assert sum(handled) == 20
    assert sorted(u.update_id for u in seen) == sorted({u.update_id for u in seen}) and len(seen) == 20
    receiver.close()
    store.close()
