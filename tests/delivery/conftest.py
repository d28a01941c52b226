"""Fixtures for the delivery tests: the same suite on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from wacloud.delivery import Store, open_store


def pg_dsn() -> str | None:
    """The test server's DSN; in CI its absence is a failure, never a skip."""
    dsn = os.environ.get("WACLOUD_TEST_PG_DSN")
    if not dsn:
        if os.environ.get("CI"):
            pytest.fail("CI is set but WACLOUD_TEST_PG_DSN is not: run `eval \"$(bash .ci/postgres.sh)\"`")
        pytest.skip("WACLOUD_TEST_PG_DSN is not set (run: eval \"$(bash .ci/postgres.sh)\")")
    return dsn


def _pg_schema_url() -> Iterator[str]:
    dsn = pg_dsn()
    assert dsn is not None
    import psycopg

    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    yield f"{dsn}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A fresh, empty store URL: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/wacloud.db"
        return
    yield from _pg_schema_url()


@pytest.fixture
def pg_store_url() -> Iterator[str]:
    """A fresh PostgreSQL store URL, for the tests about PostgreSQL itself."""
    yield from _pg_schema_url()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open store on ``store_url``."""
    s = open_store(store_url)
    yield s
    s.close()


# --- the sandbox rig: sandbox + store + real webhook receiver feeding the outbox ----------------------

import time as _time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from wacloud.delivery import Outbox, RetryPolicy  # noqa: E402

#: Retry timings shrunk for tests (the shapes stay those of the policy).
FAST_POLICY = dict(backoff_base_s=0.02, backoff_cap_s=0.1, auth_pause_s=0.3, pair_base_s=2.0)


@dataclass
class Rig:
    """A sandbox on loopback whose webhooks reach a real receiver that feeds the outbox's store."""

    sandbox: Any
    store_url: str
    hook_outbox: Outbox
    opened: list[Any] = field(default_factory=list)

    def outbox(self, *, client: Any = None, policy: RetryPolicy | None = None, **kw: Any) -> Outbox:
        """An outbox on the rig's store, sending to the sandbox."""
        kw.setdefault("mps", 500)
        # Retries to one recipient wait for its pair token; a short interval keeps the tests quick.
        kw.setdefault("pair_interval_s", 0.05)
        ob = Outbox(open_store(self.store_url), client or self.sandbox.async_client(),
                    policy=policy or RetryPolicy(**FAST_POLICY), **kw)  # type: ignore[arg-type]
        self.opened.append(ob)
        return ob

    def wait(self, predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
        """Poll until ``predicate()`` holds."""
        deadline = _time.monotonic() + timeout
        while _time.monotonic() < deadline:
            if predicate():
                return
            _time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def attempts(self) -> list[dict[str, Any]]:
        """Every send attempt the sandbox saw."""
        return list(self.sandbox.log())


@pytest.fixture
def rig(store_url: str) -> Iterator[Rig]:
    """Sandbox (500 mps) + store + webhook receiver (signed, dedup and inbox on the store)."""
    from wacloud.sandbox import ServerThread
    from wacloud.sandbox.testing import run_sandbox
    from wacloud.webhooks.asgi import create_webhook_app
    from wacloud.webhooks.receiver import WebhookReceiver

    with run_sandbox(mps=500, seed=11) as sandbox:
        hook_store = open_store(store_url)
        hook_outbox = Outbox(hook_store, phone_number_id=sandbox.phone_number_id)
        receiver = WebhookReceiver(app_secret=sandbox.app_secret, dedup=hook_store, inbox=hook_store,
                                   on_update=hook_outbox.handle)
        server = ServerThread(create_webhook_app(receiver))
        server.start()
        sandbox.configure(webhook_url=f"{server.base_url}/webhook")
        r = Rig(sandbox, store_url, hook_outbox)
        try:
            yield r
        finally:
            server.stop()
            for ob in r.opened:
                ob.close()
            hook_store.close()
