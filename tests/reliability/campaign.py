"""A template campaign through the real outbox against the sandbox, and the end-of-campaign checks.

Used by the fault and crash tests: the sandbox runs in its own process with fault injection and posts
signed status webhooks to the rig's durable receiver (another process), which feeds them back to the
outbox; workers are processes too, so a test can SIGKILL any of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from benchmarks import _harness as h

TEMPLATE = "winter_sale"
COMPONENTS = [{"type": "BODY", "text": "Hi {{1}}, our winter sale starts today.",
               "example": {"body_text": [["Ana"]]}}]
FINAL = {"accepted", "sent", "delivered", "read", "failed", "dead", "uncertain"}
FAILURES = {"failed", "dead"}


@dataclass
class Rig:
    """The running parts of one campaign test."""

    store_url: str
    sandbox: h.Server
    hooks: h.Server
    tmp: Path
    recipients: list[str] = field(default_factory=list)
    workers: list[subprocess.Popen[str]] = field(default_factory=list)

    def start_worker(self, *, mps: float = 1000, forever: bool = False, name: str = "w0") -> subprocess.Popen[str]:
        """An outbox worker process (``until_idle`` unless ``forever``)."""
        env = {**os.environ, "PYTHONPATH": f"{h.ROOT}{os.pathsep}{h.ROOT / 'src'}"}
        args = [h.PYTHON, "-m", "tests.reliability.rig", "worker", "--store", self.store_url, "--base-url",
                self.sandbox.base_url, "--mps", str(mps), "--name", name]
        if forever:
            args.append("--forever")
        log = (self.tmp / f"worker-{name}.log").open("ab")
        proc = subprocess.Popen(args, cwd=h.ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True,
                                preexec_fn=h.die_with_parent)
        self.workers.append(proc)
        return proc

    def stop_workers(self) -> None:
        """SIGKILL every worker still running (a failed test must not leave one behind)."""
        for proc in self.workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def control(self, path: str, **params: Any) -> Any:
        """GET a sandbox control endpoint."""
        return httpx.get(self.sandbox.base_url + "/_sandbox" + path, params=params, timeout=60).json()

    def wait_quiet(self, timeout: float = 60) -> None:
        """Wait until the sandbox has nothing left to emit and the receiver has processed all it stored.

        The receiver answers 200 once a payload is stored and applies it afterwards, so on a loaded
        machine statuses can still be waiting in its inbox when the sandbox is already quiet: the checks
        must not run before they are applied.
        """
        from wacloud.delivery import open_store

        deadline = time.monotonic() + timeout
        while True:
            info = self.control("/")
            if info["pending_callbacks"] == 0 and info["pending_webhooks"] == 0:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"sandbox still busy after {timeout}s: {info}")
            time.sleep(0.2)
        store = open_store(self.store_url)
        try:
            while store.pending(1):
                if time.monotonic() > deadline:
                    raise AssertionError(f"the receiver's inbox is not drained after {timeout}s")
                time.sleep(0.1)
        finally:
            store.close()


def queue(rig: Rig, n: int) -> None:
    """Approve the template in the sandbox and queue it to ``n`` distinct recipients."""
    from reliability.rig import outbox

    resp = httpx.post(rig.sandbox.base_url + "/_sandbox/templates", timeout=10, json={
        "name": TEMPLATE, "language": "en_US", "category": "MARKETING", "components": COMPONENTS,
        "status": "APPROVED"})
    resp.raise_for_status()
    rig.recipients = h.recipients(n, 0)
    box = outbox(rig.store_url)
    result = box.broadcast(TEMPLATE, [(to, [f"Customer {i}"]) for i, to in enumerate(rig.recipients)],
                           language="en_US", category="marketing", chunk=1000)
    box.close()
    assert result.queued == n, result.invalid[:3]


def special_customers(n: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """A few recipients not on WhatsApp (131026) or opted out of marketing (131050): async failures."""
    customers, expected = [], {}
    for i, to in enumerate(h.recipients(n, 0)):
        wa_id = to.lstrip("+")
        if i % 97 == 3:
            customers.append({"wa_id": wa_id, "on_whatsapp": False})
            expected[wa_id] = 131026
        elif i % 89 == 5:
            customers.append({"wa_id": wa_id, "marketing_opt_out": True})
            expected[wa_id] = 131050
    return customers, expected


def jobs(store_url: str) -> list[Any]:
    """Every job of the sandbox's number, straight from the store."""
    from reliability.rig import outbox

    box = outbox(store_url)
    out: list[Any] = []
    after = None
    while True:
        page = box.jobs(after=after, limit=10_000)
        if not page:
            break
        out += page
        after = page[-1].id
    box.close()
    return out


def check(rig: Rig, n: int, *, expected_codes: dict[str, int] | None = None,
          allow_behind: bool = False) -> dict[str, Any]:
    """The campaign invariants; returns the figures for the test to print.

    ``allow_behind`` returns the jobs whose state is behind the sandbox's (``figures["behind"]``)
    instead of failing on them, for a test that reports that one known problem separately.
    """
    all_jobs = jobs(rig.store_url)
    states = Counter(str(j.state) for j in all_jobs)
    # None lost: one job per recipient, every one in a final state.
    assert len(all_jobs) == n, f"{len(all_jobs)} jobs for {n} recipients"
    assert Counter(j.to for j in all_jobs).most_common(1)[0][1] == 1
    not_final = [j for j in all_jobs if str(j.state) not in FINAL]
    assert not not_final, f"{len(not_final)} jobs not final: {states}"
    # None sent twice, from the sandbox's own record of what it accepted.
    stats = rig.control("/stats")
    assert stats["max_accepted_per_recipient"] <= 1, {k: v for k, v in stats["accepted_per_recipient"].items()
                                                      if v > 1}
    messages = rig.control("/messages", limit=10 * n)["messages"]
    accepted_by_sandbox = {m["id"]: m for m in messages}
    # Every message the sandbox accepted belongs to a job that knows its wamid, or to an uncertain job
    # (the answer was lost: at_most_once never resends it).
    wamids = {j.wamid for j in all_jobs if j.wamid}
    unaccounted = set(accepted_by_sandbox) - wamids
    uncertain_to = {j.to for j in all_jobs if str(j.state) == "uncertain"}
    assert all(accepted_by_sandbox[w]["wa_id"] in uncertain_to for w in unaccounted), len(unaccounted)
    # Every failure has its code; every uncertain job says why.
    for j in all_jobs:
        if str(j.state) in FAILURES:
            assert j.error_code is not None, f"job {j.id} {j.state} without a code: {j.error_title}"
            assert j.error_title, f"job {j.id} {j.state} without a title"
        if str(j.state) == "uncertain":
            assert j.error_title, f"uncertain job {j.id} without a reason"
    # Async failures (failed status webhooks) land on the right job with the right code.
    for wa_id, code in (expected_codes or {}).items():
        job = next(j for j in all_jobs if j.to == wa_id)
        if job.wamid:  # it was accepted, so the failed status must have reached it
            assert str(job.state) == "failed" and job.error_code == code, (wa_id, job.state, job.error_code)
    # Statuses moved every accepted job forward to what the sandbox reports, never backwards.
    rank = {"accepted": 1, "sent": 2, "delivered": 3, "read": 4, "played": 4}
    behind = [j.id for j in all_jobs if j.wamid and str(j.state) in rank
              and rank[str(j.state)] < rank.get(accepted_by_sandbox.get(j.wamid, {}).get("status", ""), 0)]
    assert allow_behind or not behind, f"{len(behind)} jobs behind the sandbox's status"
    codes = Counter(j.error_code for j in all_jobs if str(j.state) in FAILURES)
    return {"states": dict(states), "failure_codes": {str(k): v for k, v in codes.items()},
            "sandbox_errors": stats["errors"], "attempts": stats["attempts"], "accepted": stats["accepted"],
            "webhooks": stats.get("webhooks"), "behind": behind}


def sandbox_args(faults: dict[str, Any], customers: list[dict[str, Any]], **settings: Any) -> list[str]:
    """``--set`` flags for :func:`benchmarks._harness.sandbox`."""
    out = ["--set", "faults=" + json.dumps(faults), "--set", "customers=" + json.dumps(customers)]
    for key, value in settings.items():
        out += ["--set", f"{key}={json.dumps(value)}"]
    return out
