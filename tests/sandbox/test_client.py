"""Our own Client and AsyncClient against the sandbox, and the ``serve()`` entry point with curl-like calls."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sandbox.helpers import WA_ID, open_window
from wacloud import errors
from wacloud.sandbox import free_port
from wacloud.sandbox.testing import SandboxHandle, WebhookSink


def test_client_send_text_and_statuses(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    inbound = open_window(sandbox)
    with sandbox.client() as client:
        sent = client.send_text("+" + WA_ID, "hello from the client", reply_to=inbound)
        assert sent.wamid.startswith("wamid.") and sent.wa_id == WA_ID
        assert client.mark_as_read(inbound) is True
        assert client.typing(inbound) is True
    webhook_sink.wait_statuses(sent.wamid, "sent", "delivered", "read")
    body = sandbox.message(sent.wamid)["body"]
    assert body["context"] == {"message_id": inbound}


def test_client_media_round_trip(sandbox: SandboxHandle, tmp_path: Path) -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"1" * 100
    with sandbox.client() as client:
        media_id = client.upload(data, "image/png")
        info = client.media_url(media_id)
        assert info.file_size == len(data) or str(info.file_size) == str(len(data))
        assert client.download(info) == data
        assert client.delete_media(media_id) is True


def test_client_errors_are_typed(sandbox: SandboxHandle) -> None:
    sandbox.configure(mps=1)
    sandbox.freeze()
    with sandbox.client() as client:
        client.send_template("+" + WA_ID, "hello_world")
        with pytest.raises(errors.RateLimited) as info:
            client.send_template("+16505550000", "hello_world")
        assert info.value.code == 130429 and info.value.fbtrace_id
    with sandbox.client(token="wrong") as client, pytest.raises(errors.AuthError):
        client.send_template("+" + WA_ID, "hello_world")


async def test_async_client(sandbox: SandboxHandle) -> None:
    open_window(sandbox)
    async with sandbox.async_client() as client:
        sent = await client.send_text("+" + WA_ID, "async hello")
        assert sent.wamid.startswith("wamid.")
        with pytest.raises(errors.TemplateError):
            await client.send_template("+" + WA_ID, "no_such_template")


def test_serve_prints_what_to_use_and_answers_curl() -> None:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    code = f"from wacloud.sandbox import serve; serve(port={port}, seed=3)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
    )
    try:
        lines = []
        assert proc.stdout is not None
        for _ in range(20):
            line = proc.stdout.readline()
            lines.append(line)
            if "control API" in line:
                break
        text = "".join(lines)
        assert f"http://127.0.0.1:{port}" in text and "access token" in text and "phone number id" in text
        token = text.split("access token:")[1].split()[0]
        phone = text.split("phone number id:")[1].split()[0]
        for _ in range(200):
            try:
                r = httpx.post(
                    f"http://127.0.0.1:{port}/v25.0/{phone}/messages",
                    headers={"Authorization": f"Bearer {token}"},
                    json={
                        "messaging_product": "whatsapp",
                        "to": WA_ID,
                        "type": "template",
                        "template": {"name": "hello_world", "language": {"code": "en_US"}},
                    },
                )
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert r.status_code == 200 and r.json()["messages"][0]["id"].startswith("wamid.")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
