"""wacloud.bot: routers that compose, middleware, error handlers, conversation state, outbox replies.

Every behaviour is checked with both runners (``dispatch_sync`` and ``dispatch``): the dispatch is
written once, so they must agree.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
import warnings
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from wacloud.bot import (
    Application,
    ContinuePropagation,
    MemoryStateStore,
    OutboxReplies,
    PostgresStateStore,
    ReplyNotQueued,
    Router,
    SqliteStateStore,
    State,
    StateRecord,
    StateStore,
    StopPropagation,
    filters,
)
from wacloud.delivery import Outbox, open_store
from wacloud.webhooks import MessageUpdate, Update, parse

from . import payloads as p

Run = Callable[[Application, Update], None]


def _sync(app: Application, update: Update) -> None:
    app.dispatch_sync(update)


def _async(app: Application, update: Update) -> None:
    asyncio.run(app.dispatch(update))


@pytest.fixture(params=[_sync, _async], ids=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Run:
    fn: Run = request.param
    return fn


def _text(text: str, sender: str = p.USER) -> MessageUpdate:
    [update] = parse(p.inbound(p.msg("text", {"body": text}, sender=sender)))
    assert isinstance(update, MessageUpdate)
    return update


def test_routers_compose_in_group_order(run: Run) -> None:
    app = Application()
    shop, admin, deep = Router("shop"), Router("admin"), Router("deep")
    seen: list[str] = []
    app.include_router(shop)
    app.include_router(admin)
    admin.include_router(deep)

    @app.on_message(filters.text)
    def root(msg: MessageUpdate) -> None:
        seen.append("root")
        raise ContinuePropagation

    @shop.on_message(filters.matches(r"^buy"))
    def buy(msg: MessageUpdate) -> None:
        seen.append("shop")

    @deep.on_message(group=1)
    async def audit(msg: MessageUpdate) -> None:
        seen.append("deep@1")

    @admin.on_message(group=2)
    def last(msg: MessageUpdate) -> None:
        seen.append("admin@2")
        raise StopPropagation

    @app.on_message(group=3)
    def never(msg: MessageUpdate) -> None:
        seen.append("never")

    run(app, _text("buy milk"))
    assert seen == ["root", "shop", "deep@1", "admin@2"]
    seen.clear()
    run(app, _text("hello"))
    assert seen == ["root", "deep@1", "admin@2"]
    with pytest.raises(ValueError, match="already included"):
        app.include_router(deep)
    with pytest.raises(ValueError, match="cycle"):
        deep.include_router(app)
    with pytest.raises(TypeError, match="Router"):
        app.include_router(object())  # type: ignore[arg-type]


def test_outer_and_inner_middleware_wrap_handlers_and_pass_data(run: Run) -> None:
    app = Application()
    sub = app.include_router(Router("sub"))
    order: list[str] = []

    @app.outer_middleware
    def who(update: Update, data: dict[str, Any]) -> Generator[None, Any, None]:
        if isinstance(update, MessageUpdate) and update.text == "spam":
            return  # dropped: no handler sees it
        data["user"] = "ana"
        order.append("outer>")
        yield
        order.append("<outer")

    @sub.middleware
    def timing(update: Update, data: dict[str, Any]) -> Generator[None, Any, None]:
        order.append("inner>")
        result = yield
        order.append(f"<inner:{result}")

    @sub.on_message()
    def handler(msg: MessageUpdate, user: str) -> str:
        order.append(f"handler({user})")
        return "ok"

    run(app, _text("hi"))
    assert order == ["outer>", "inner>", "handler(ana)", "<inner:ok", "<outer"]
    order.clear()
    run(app, _text("spam"))
    assert order == []
    with pytest.raises(TypeError, match="generator"):
        app.middleware(lambda update, data: None)  # type: ignore[arg-type,return-value]


def test_error_handlers_nearest_first_then_logged(run: Run, caplog: pytest.LogCaptureFixture) -> None:
    app = Application()
    sub = app.include_router(Router("sub"))
    caught: list[str] = []
    seen_by_middleware: list[str] = []

    @sub.middleware
    def watch(update: Update, data: dict[str, Any]) -> Generator[None, Any, None]:
        try:
            yield
        except Exception as exc:
            seen_by_middleware.append(type(exc).__name__)
            raise

    @sub.on_message(filters.matches("^boom"))
    def boom(msg: MessageUpdate) -> None:
        raise KeyError("x")

    @app.on_message(filters.matches("^bug"))
    def bug(msg: MessageUpdate) -> None:
        raise ZeroDivisionError

    @sub.on_error
    def only_keys(update: Update, exc: Exception) -> bool:
        caught.append(f"sub:{type(exc).__name__}")
        return isinstance(exc, KeyError)

    @app.on_error
    def root(update: Update, exc: Exception) -> bool:
        caught.append(f"app:{type(exc).__name__}")
        return False

    run(app, _text("boom"))
    assert caught == ["sub:KeyError"] and seen_by_middleware == ["KeyError"]
    caught.clear()
    with caplog.at_level(logging.ERROR, "wacloud.bot"):
        run(app, _text("bug"))
    assert caught == ["app:ZeroDivisionError"]  # the sub-router's handler is not asked for the root's
    assert "failed for update" in caplog.text and "ZeroDivisionError" in caplog.text


def _stores(tmp_path: Path) -> Iterator[tuple[str, StateStore, StateStore]]:
    shared = MemoryStateStore()
    yield "memory", shared, shared
    db = str(tmp_path / "state.db")
    yield "sqlite", SqliteStateStore(db), SqliteStateStore(db)  # two connections: two processes
    dsn = os.environ.get("WACLOUD_TEST_PG_DSN")
    if dsn:
        yield "postgresql", PostgresStateStore(dsn), PostgresStateStore(dsn)


def _conversation_bot(store: StateStore, log: list[str]) -> Application:
    app = Application(state=store)

    @app.on_message(filters.matches("^order"), state=None)
    def start(msg: MessageUpdate, state: State) -> None:
        state.set("asking_size", item=(msg.text or "").split()[-1])
        log.append("asked")

    @app.on_message(state="asking_size")
    def size(msg: MessageUpdate, state: State) -> None:
        log.append(f"{state.data['item']}:{msg.text}")
        state.clear()

    return app


def test_conversation_state_is_shared_by_processes(run: Run, tmp_path: Path) -> None:
    for name, store_a, store_b in _stores(tmp_path):
        customer = f"1650{uuid.uuid4().int % 10**7:07d}"
        log: list[str] = []
        worker_a, worker_b = _conversation_bot(store_a, log), _conversation_bot(store_b, log)
        run(worker_a, _text("order pizza", sender=customer))
        run(worker_b, _text("order tea", sender="16505550000"))  # another customer: own conversation
        run(worker_b, _text("large", sender=customer))  # another process continues the conversation
        run(worker_a, _text("large", sender=customer))  # state cleared: no handler in state None for it
        assert log == ["asked", "asked", "pizza:large"], name
        assert store_a.get((p.PHONE_ID, customer)).name is None, name
        assert store_b.get((p.PHONE_ID, "16505550000")).data == {"item": "tea"}, name
        store_b.put((p.PHONE_ID, "16505550000"), StateRecord())  # deleted: the next run starts clean
        assert store_a.get((p.PHONE_ID, "16505550000")) == StateRecord(), name


def test_state_must_be_json(run: Run) -> None:
    app = Application()

    @app.on_message()
    def bad(msg: MessageUpdate, state: State) -> None:
        state.set("x", when=object())

    with pytest.raises(TypeError, match="JSON"):  # the store refuses: the receiver retries, then dead-letters
        run(app, _text("hi"))


def test_outbox_replies_are_jobs_once_per_update(run: Run, tmp_path: Path) -> None:
    outbox = Outbox(open_store(f"sqlite:///{tmp_path / 'out.db'}"), phone_number_id=p.PHONE_ID)
    queued: list[str] = []
    app = Application(replies=OutboxReplies(outbox, on_queued=lambda job: queued.append(job.id)))

    @app.on_message()
    def twice(msg: MessageUpdate) -> None:
        msg.reply_text("one", quote=True)
        msg.react("👍")

    update = _text("hi")
    run(app, update)
    run(app, update)  # the receiver's retry of the same update: no second pair of jobs
    jobs = outbox.jobs()
    assert len(jobs) == 2 and len(set(queued)) == 2
    assert {j.body["type"] for j in jobs} == {"text", "reaction"}
    assert all(j.priority == 1 and j.to == p.USER for j in jobs)
    assert jobs[0].body["context"] == {"message_id": update.id}


def test_a_reply_the_outbox_cannot_store_goes_back_to_the_receiver(run: Run, tmp_path: Path) -> None:
    outbox = Outbox(open_store(f"sqlite:///{tmp_path / 'out.db'}"), phone_number_id=p.PHONE_ID)
    app = Application(replies=OutboxReplies(outbox))

    @app.on_message()
    def reply(msg: MessageUpdate) -> None:
        msg.reply_text("hello")

    outbox.store.close()  # the database is gone
    with pytest.raises(ReplyNotQueued):
        run(app, _text("hi"))


def test_old_names_still_import_with_a_deprecation_warning() -> None:
    import wacloud.bot
    import wacloud.webhooks

    for name in ("Application", "StopPropagation", "ContinuePropagation", "filters"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            old = getattr(wacloud.webhooks, name)
        assert old is getattr(wacloud.bot, name)
        assert [w.category for w in caught] == [DeprecationWarning]
        assert f"wacloud.bot.{name}" in str(caught[0].message)
