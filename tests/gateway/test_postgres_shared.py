"""Two gateway processes' worth of parts on one PostgreSQL database, in live mode against a sandbox.

Gateway A serves the API and receives the webhooks (``--no-workers``); gateway B only runs workers
(``--no-api``).
Jobs queued through A are sent by B, statuses reaching A move them to read, API keys are shared.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from wacloud.gateway._app import create_app
from wacloud.gateway._settings import load_settings
from wacloud.sandbox import ServerThread, free_port
from wacloud.sandbox import create_sandbox_app as create_sandbox

from .conftest import wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    dsn = os.environ.get("WACLOUD_TEST_PG_DSN")
    if not dsn:
        pytest.skip('WACLOUD_TEST_PG_DSN is not set (run: eval "$(bash .ci/postgres.sh)")')
    import psycopg

    schema = "gw_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    yield f"{dsn}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _metric(url: str, name: str) -> float:
    total = 0.0
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_api_process_and_worker_process_share_one_postgres(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox_app: Any = create_sandbox(None, access_token="pg-shared-token", app_secret="pg-shared-secret")
    sandbox = ServerThread(sandbox_app)
    sandbox.start()
    cfg = sandbox_app.state.config
    servers: list[ServerThread] = [sandbox]
    try:
        urls = []
        apps = []
        for workers, api in ((False, True), (True, False)):
            port = free_port()
            settings = load_settings(
                access_token="pg-shared-token",
                phone_number_id=cfg.phone_number_id,
                waba_id=cfg.waba_id,
                app_secret="pg-shared-secret",
                verify_token="pg-verify",
                graph_url=sandbox.base_url,
                database_url=pg_url,
                port=port,
                workers=workers,
                api=api,
            )
            app = create_app(settings)
            server = ServerThread(app, port=port)
            server.start()
            servers.append(server)
            urls.append(f"http://127.0.0.1:{port}")
            apps.append(app)
        api_url, worker_url = urls
        # Meta (here: the sandbox) posts webhooks to the API process, as a load balancer would route them.
        httpx.post(f"{sandbox.base_url}/_sandbox/config", json={"webhook_url": f"{api_url}/webhook"}).raise_for_status()
        _, key = apps[0].state.gateway.keys.create("shared")
        headers = {"Authorization": f"Bearer {key}"}
        assert apps[1].state.gateway.keys.verify(key) is not None  # keys are shared through the database
        # The worker-only process serves no API and no webhook, only operations endpoints.
        assert httpx.get(f"{worker_url}/v1/jobs", headers=headers).status_code == 404
        assert httpx.post(f"{worker_url}/webhook", content=b"{}").status_code == 404
        assert httpx.get(f"{worker_url}/readyz").json()["checks"] == {"database": "ok", "outbox": "ok", "workers": "ok"}
        recipients = [{"to": f"+1555400{i:04d}"} for i in range(30)]
        started = httpx.post(
            f"{api_url}/v1/campaigns",
            headers=headers,
            timeout=30,
            json={"template": "hello_world", "recipients": recipients, "id": "pg-shared"},
        )
        assert started.status_code == 202, started.text
        done = wait_for(
            lambda: (
                (p := httpx.get(f"{api_url}/v1/campaigns/pg-shared", headers=headers).json())["states"].get("read")
                == 30
                and p
            ),
            30,
            "all 30 messages to be read",
        )
        assert done["failed_by_code"] == {}
        assert _metric(api_url, 'wacloud_sends_total{code="0",outcome="accepted"}') == 0
        assert _metric(worker_url, 'wacloud_sends_total{code="0",outcome="accepted"}') == 30
        received = httpx.get(f"{sandbox.base_url}/_sandbox/messages").json()["messages"]
        assert sorted(m["wa_id"] for m in received) == sorted(r["to"][1:] for r in recipients)
        ready = httpx.get(f"{api_url}/readyz").json()
        assert ready["checks"]["database"] == "ok" and "workers" not in ready["checks"]
    finally:
        for server in reversed(servers):
            server.stop()
