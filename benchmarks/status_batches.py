"""A payload's status webhooks in the outbox and the conversation log: one by one against together.

    python -m benchmarks.status_batches [--n 3000] [--batch 17] [--profile]

In one process, on one SQLite file (as ``wacloud serve`` keeps them): ``n`` accepted template jobs, then
their sent, delivered and read statuses (with ``pricing``, as Meta sends them) in payloads of ``batch``,
applied the way the gateway did before (each update through ``Outbox.handle``, then the log one status at a
time) and the way it does now (``handle_statuses`` and ``History.record_statuses``, one transaction each
per payload). Reported: CPU µs per status of each way (the gateway's
writers queue for one file, so less work inside a transaction is a worker's send waiting less).
"""

from __future__ import annotations

import cProfile
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import _harness as h
from wacloud.delivery import Outbox, open_store
from wacloud.delivery.model import JobState, NewJob, Outcome
from wacloud.delivery.statuses import handle_statuses, in_one_transaction
from wacloud.gateway._db import Database
from wacloud.gateway._history import History, StatusRecord
from wacloud.webhooks import StatusUpdate, parse

PID = h.SANDBOX_PHONE_ID
BODY = {"messaging_product": "whatsapp", "type": "template",
        "template": {"name": "order_update", "language": {"code": "en_US"},
                     "components": [{"type": "body", "parameters": [{"type": "text", "text": "Customer"}]}]}}
PRICING = {"billable": True, "pricing_model": "PMP", "category": "utility", "type": "regular"}


def _setup(path: Path, n: int) -> tuple[Outbox, History, list[str]]:
    store = open_store(f"sqlite:///{path}")
    outbox = Outbox(store, phone_number_id=PID)
    history = History(Database(f"sqlite:///{path}"))
    now = time.time()
    tos = h.recipients(n, 0)
    jobs = [NewJob(PID, to.lstrip("+"), {**BODY, "to": to.lstrip("+")}, True, category="utility") for to in tos]
    ids = [i for i, _ in store.add(jobs, now)]
    history.record_outbound_many([(to.lstrip("+"), job_id, BODY) for to, job_id in zip(tos, ids, strict=True)])
    for start in range(0, n, 500):
        part = ids[start:start + 500]
        store.claim(PID, len(part), now, lease_s=600, worker="w", pair_interval_s=0.0, pair_burst=10)
        store.mark_sending(part, now, lease_s=600, worker="w")
        store.settle([Outcome(i, JobState.ACCEPTED, now, wamid=f"wamid.{i}", worker="w") for i in part])
    return outbox, history, [t.lstrip("+") for t in tos]


def _payloads(ids: list[str], tos: list[str], batch: int) -> list[list[StatusUpdate]]:
    statuses = [{"id": f"wamid.{i}", "status": s, "timestamp": str(int(time.time()) + k), "recipient_id": to,
                 "pricing": PRICING, "conversation": {"id": "c1", "origin": {"type": "utility"}}}
                for k, s in enumerate(("sent", "delivered", "read")) for i, to in zip(ids, tos, strict=True)]
    out = []
    for start in range(0, len(statuses), batch):
        body = {"object": "whatsapp_business_account", "entry": [{"id": h.SANDBOX_WABA_ID, "changes": [{
            "field": "messages", "value": {"messaging_product": "whatsapp",
                                           "metadata": {"display_phone_number": "15550000000", "phone_number_id": PID},
                                           "statuses": statuses[start:start + batch]}}]}]}
        out.append([u for u in parse(body) if isinstance(u, StatusUpdate)])
    return out


def _record(update: StatusUpdate, job_id: str | None) -> StatusRecord:
    st = update.status
    return StatusRecord(st.recipient_id or "", st.id, st.status, job_id=job_id, ts=st.timestamp.timestamp())


def one_by_one(outbox: Outbox, history: History, payloads: list[list[StatusUpdate]]) -> None:
    """Before: each update through ``Outbox.handle``, its job read back, the log one status at a time."""
    for payload in payloads:
        jobs = {}
        for update in payload:
            outbox.handle(update)
            job = outbox.job_by_wamid(update.status.id)
            jobs[update.status.id] = job.id if job else None
        for update in payload:
            r = _record(update, jobs[update.status.id])
            history.record_status(r.wa_id, r.wamid, r.status, job_id=r.job_id, ts=r.ts)


def together(outbox: Outbox, history: History, payloads: list[list[StatusUpdate]]) -> None:
    """Now: a payload's statuses in one outbox transaction and one log transaction."""
    for payload in payloads:
        changes = in_one_transaction(outbox.store, lambda p=payload: handle_statuses(outbox, p))
        history.record_statuses([_record(u, c.job.id if c.job else None)
                                 for u, c in zip(payload, changes, strict=True)])


def run(way: str, n: int, batch: int, profile: bool) -> dict[str, Any]:
    """One way on a fresh file; CPU µs per status."""
    with tempfile.TemporaryDirectory() as tmp:
        outbox, history, tos = _setup(Path(tmp) / "gw.db", n)
        ids = [str(i) for i in range(1, n + 1)]
        payloads = _payloads(ids, tos, batch)
        fn = one_by_one if way == "one_by_one" else together
        prof = cProfile.Profile() if profile else None
        cpu0 = h.cpu_seconds()
        if prof:
            prof.enable()
        fn(outbox, history, payloads)
        if prof:
            prof.disable()
        cpu = h.cpu_seconds() - cpu0
        states = outbox.summary().by_state
        outbox.close()
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    assert states.get("read") == n, states
    return {"way": way, "statuses": 3 * n, "cpu_us_per_status": cpu / (3 * n) * 1e6}


def main() -> None:
    """Both ways, interleaved rounds; the figures."""
    parser = h.base_parser(__doc__ or "")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=17, help="statuses per payload (the gateway saw ~17 "
                        "per coalesced group at 300-400 msg/s)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    runs = [run(way, args.n, args.batch, args.profile) for _ in range(args.rounds)
            for way in ("one_by_one", "together")]
    best = {w: min(r["cpu_us_per_status"] for r in runs if r["way"] == w) for w in ("one_by_one", "together")}
    summary = (f"CPU µs per status, payloads of {args.batch}: one by one {best['one_by_one']:.0f}, together "
               f"{best['together']:.0f} ({best['one_by_one'] / best['together']:.1f}x)")
    print(summary, flush=True)
    h.report("status_batches", {"runs": runs, "best": best, "n": args.n, "batch": args.batch}, summary, args.json)


if __name__ == "__main__":
    main()
