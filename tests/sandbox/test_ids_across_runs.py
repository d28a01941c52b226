"""``wacloud sandbox`` restarted: new runs mint new wamids (a receiver's durable dedup store would drop
repeats), unless ``--seed`` asks for a reproducible run."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from wacloud.sandbox import free_port

WA_ID = "16505550101"


def _one_run(tmp_path: Path, *extra: str) -> list[str]:
    """Start ``wacloud sandbox``, have a customer write twice and get one reply, stop it; the wamids."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wacloud", "sandbox", "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                httpx.get(f"{base}/_sandbox/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        ids = [httpx.post(f"{base}/_sandbox/inbound", json={"from": WA_ID, "text": f"hi {i}"}).json()["id"]
               for i in range(2)]
        info = httpx.get(f"{base}/_sandbox/").json()
        sent = httpx.post(
            f"{base}/{info['version']}/{info['phone_number_id']}/messages",
            headers={"Authorization": "Bearer sandbox-token"},
            json={"messaging_product": "whatsapp", "to": WA_ID, "text": {"body": "hello"}},
        )
        ids.append(sent.json()["messages"][0]["id"])
        return ids
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_restarted_sandbox_mints_new_wamids(tmp_path: Path) -> None:
    first = _one_run(tmp_path)
    second = _one_run(tmp_path)
    assert len(set(first)) == 3 and not set(first) & set(second)


def test_a_seeded_sandbox_is_reproducible(tmp_path: Path) -> None:
    assert _one_run(tmp_path, "--seed", "7") == _one_run(tmp_path, "--seed", "7")
