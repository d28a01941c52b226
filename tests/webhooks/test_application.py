"""The bot framework: kinds, filters, groups, propagation, sync/async handlers, shortcuts."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from wacloud.bot import Application, ContinuePropagation, StopPropagation
from wacloud.bot import filters as f
from wacloud.webhooks import MessageUpdate, NotBoundError, TemplateQualityUpdate, Update, parse

from . import payloads as p


class RecordingClient:
    """Stands in for wacloud.Client where only the call made matters (the sandbox test uses the real one)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def method(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            return f"{name}-result"

        return method


class AsyncRecordingClient(RecordingClient):
    """The same, with coroutine methods like wacloud.AsyncClient."""

    def __getattr__(self, name: str) -> Any:
        async def method(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            return f"{name}-result"

        return method


def _app(**kw: Any) -> Application:
    return Application(app_secret=p.SECRET, verify_token=p.VERIFY_TOKEN, **kw)


def _deliver(app: Application, payload: Any) -> int:
    raw = p.body(payload)
    status, _ = app.handle_post(raw, p.signed_headers(raw))
    return status


def _message(name: str) -> dict[str, Any]:
    return dict(next(mm for n, mm, _ in p.MESSAGES if n == name), id=p.wamid())


# --- filters ----------------------------------------------------------------------------------


def _upd(name: str) -> MessageUpdate:
    upd = parse(p.inbound(_message(name)))[0]
    assert isinstance(upd, MessageUpdate)
    return upd


def test_kind_filters() -> None:
    assert f.text(_upd("text")) and not f.text(_upd("image"))
    assert f.media(_upd("image")) and f.media(_upd("sticker")) and not f.media(_upd("location"))
    assert f.voice(_upd("voice")) and not f.voice(_upd("audio")) and f.audio(_upd("audio"))
    assert f.button(_upd("button")) and f.button(_upd("button_reply")) and not f.button(_upd("list_reply"))
    assert f.template_button(_upd("button")) and not f.template_button(_upd("button_reply"))
    assert f.list_reply(_upd("list_reply")) and f.flow_reply(_upd("nfm_reply"))
    assert f.reaction(_upd("reaction")) and f.reaction_removed(_upd("reaction removal"))
    assert not f.reaction_removed(_upd("reaction"))
    assert f.reply(_upd("reply")) and not f.reply(_upd("text"))
    assert f.forwarded(_upd("forwarded")) and f.forwarded(_upd("frequently forwarded"))
    assert f.referral(_upd("referral")) and f.edited(_upd("edit")) and f.revoked(_upd("revoke"))
    assert f.order(_upd("order")) and f.system(_upd("system number change"))
    assert f.unsupported(_upd("unknown")) and f.message_types("document", "video")(_upd("video"))


def test_value_filters_and_composition() -> None:
    hi = _upd("text")  # body "hi there"
    assert f.matches(r"^hi")(hi) and not f.matches(r"^bye")(hi)
    assert (f.text & f.matches(r"^hi"))(hi)
    assert not (f.text & ~f.matches(r"^hi"))(hi)
    assert (f.image | f.matches("there"))(hi)
    assert f.matches("invoice")(_upd("document"))  # captions count
    assert f.from_users("+1 650-555-1234")(hi) and not f.from_users("999")(hi)
    assert f.button_ids("yes")(_upd("button_reply")) and f.button_ids("unsub-1")(_upd("button"))
    assert f.button_matches(r"^un")(_upd("button")) and f.list_ids("priority_express")(_upd("list_reply"))
    assert f.phone_number_ids(p.PHONE_ID)(hi) and not f.phone_number_ids("other")(hi)
    failed = parse(p.statuses(p.status("failed", errors=[p.ERROR_131050])))[0]
    assert f.failed(failed) and f.status("read", "failed")(failed) and not f.delivered(failed)
    assert f.error_codes(131050)(failed) and not f.error_codes(1)(failed)
    template = parse(p.envelope(p.TEMPLATE_STATUS))[0]
    assert f.template_events("rejected")(template) and not f.template_events("APPROVED")(template)
    assert f.opted_out(parse(p.envelope(p.USER_PREFERENCES))[0])
    assert "matches" in repr(f.text & f.matches("x"))


def test_command_filter() -> None:
    def text(body: str) -> MessageUpdate:
        upd = parse(p.inbound(p.msg("text", {"body": body})))[0]
        assert isinstance(upd, MessageUpdate)
        return upd

    start = f.command("start", "help")
    assert start(text("/start")) and start(text("  /HELP me please")) and not start(text("/stop"))
    assert not start(text("start")) and f.command("menu", prefixes=["!", "/"])(text("!menu"))
    assert not f.command("Start", case_sensitive=True)(text("/start"))


def test_a_raising_filter_is_no_match(caplog: pytest.LogCaptureFixture) -> None:
    broken = f.create(lambda upd: 1 / 0, "broken")
    assert broken(_upd("text")) is False
    assert any("broken" in r.getMessage() for r in caplog.records)


# --- routing ----------------------------------------------------------------------------------


def test_each_kind_reaches_its_decorator() -> None:
    app = _app()
    got: list[tuple[str, str]] = []
    for kind in ("message", "button", "list_reply", "flow_reply", "reaction", "status", "template_status",
                 "user_preferences", "raw"):
        getattr(app, f"on_{kind}")()(lambda upd, kind=kind: got.append((kind, type(upd).__name__)))
    app.on(TemplateQualityUpdate)(lambda upd: got.append(("quality", type(upd).__name__)))
    payload = p.envelope(
        p.change("messages", p.messages_value(
            _message("text"), _message("button"), _message("button_reply"), _message("list_reply"),
            _message("nfm_reply"), _message("reaction"), p.msg("hologram", {}))),
        p.change("messages", {"messaging_product": "whatsapp", "metadata": p.METADATA,
                              "statuses": [p.status("read")]}),
        p.TEMPLATE_STATUS, p.USER_PREFERENCES, p.TEMPLATE_QUALITY,
    )
    assert _deliver(app, payload) == 200
    assert [k for k, _ in got] == ["message", "button", "button", "list_reply", "flow_reply", "reaction",
                                   "raw", "status", "template_status", "user_preferences", "quality"]


def test_groups_order_and_propagation() -> None:
    app = _app()
    order: list[str] = []

    @app.on_message(f.text, group=1)
    def second_group(upd: Update) -> None:
        order.append("g1")

    @app.on_message(f.text)
    def first(upd: Update) -> None:
        order.append("g0-first")

    @app.on_message(f.text)
    def shadowed(upd: Update) -> None:
        order.append("g0-shadowed")

    @app.on_update(group=-1)
    def earliest(upd: Update) -> None:
        order.append("g-1")

    _deliver(app, p.inbound(p.msg("text", {"body": "a"})))
    assert order == ["g-1", "g0-first", "g1"]

    order.clear()
    app2 = _app()

    @app2.on_message
    def cont(upd: Update) -> None:
        order.append("a")
        raise ContinuePropagation

    @app2.on_message
    def stop(upd: Update) -> None:
        order.append("b")
        raise StopPropagation

    @app2.on_message(group=5)
    def never(upd: Update) -> None:
        order.append("never")

    _deliver(app2, p.inbound(p.msg("text", {"body": "a"})))
    assert order == ["a", "b"]


def test_handler_exceptions_are_logged_with_the_update_id(caplog: pytest.LogCaptureFixture) -> None:
    app = _app()
    after: list[str] = []

    @app.on_message
    def broken(upd: Update) -> None:
        raise KeyError("oops")

    @app.on_message(group=1)
    def still_runs(upd: Update) -> None:
        after.append(upd.update_id)

    message = p.msg("text", {"body": "a"})
    assert _deliver(app, p.inbound(message)) == 200
    assert after == [message["id"]]
    logged = [r for r in caplog.records if "broken" in r.getMessage()]
    assert logged and message["id"] in logged[0].getMessage() and logged[0].exc_info


def test_filters_must_be_filter_objects() -> None:
    with pytest.raises(TypeError, match=r"filters\.create"):
        _app().add_handler("message", print, lambda upd: True)  # type: ignore[arg-type]


def test_store_argument_serves_as_dedup_and_inbox() -> None:
    from wacloud.webhooks.store import MemoryDedupStore, MemoryInboxStore

    class Both(MemoryDedupStore, MemoryInboxStore):
        def __init__(self) -> None:
            MemoryDedupStore.__init__(self)
            MemoryInboxStore.__init__(self)

    store = Both()
    app = _app(store=store)
    assert app.receiver.dedup is store and app.receiver.inbox is store
    with pytest.raises(TypeError):
        _app(store=object())


# --- sync and async handlers, shortcuts -------------------------------------------------------


def test_shortcuts_call_the_client_from_the_receiving_number() -> None:
    client = RecordingClient()
    app = _app(client=client)
    results: list[Any] = []

    @app.on_message(f.image)
    def handle(msg: MessageUpdate) -> None:
        results.append(msg.reply_text("thanks", quote=True))
        results.append(msg.react("👍"))
        results.append(msg.mark_as_read())
        results.append(msg.typing())
        assert msg.media is not None
        results.append(msg.media.download())
        results.append(msg.reply({"type": "text"}))

    message = _message("image")
    _deliver(app, p.inbound(message))
    pid = {"phone_number_id": p.PHONE_ID}
    assert client.calls == [
        ("send_text", (p.USER, "thanks"), {"preview_url": False, "reply_to": message["id"], **pid}),
        ("react", (p.USER, message["id"], "👍"), pid),
        ("mark_as_read", (message["id"],), {"typing": False, **pid}),
        ("typing", (message["id"],), pid),
        ("download", ("1003383421387256",), {"to": None, **pid}),
        ("send", (p.USER, {"type": "text"}), {"reply_to": None, **pid}),
    ]
    assert results[0] == "send_text-result"


def test_unbound_updates_say_so() -> None:
    upd = _upd("image")
    with pytest.raises(NotBoundError, match="bind"):
        upd.reply_text("x")
    assert upd.media is not None
    with pytest.raises(NotBoundError):
        upd.media.download()


async def test_async_handlers_and_async_client_under_asgi_dispatch() -> None:
    client = AsyncRecordingClient()
    app = _app(client=client)
    threads: list[str] = []

    @app.on_message(f.text & f.matches("^echo"))
    async def echo(msg: MessageUpdate) -> None:
        await msg.reply_text(msg.text or "")

    @app.on_message(f.text, group=1)
    def sync_returns_awaitable(msg: MessageUpdate) -> Any:
        threads.append(threading.current_thread().name)
        return msg.mark_as_read()  # a coroutine from the async client: the app awaits it

    for upd in parse(p.inbound(p.msg("text", {"body": "echo me"}))):
        await app.dispatch(upd)
    assert [c[0] for c in client.calls] == ["send_text", "mark_as_read"]
    assert client.calls[0][1] == (p.USER, "echo me")
    assert threads and threads[0] != threading.current_thread().name  # sync handler ran in a worker thread


def test_async_handler_under_sync_dispatch() -> None:
    client = AsyncRecordingClient()
    app = _app(client=client)

    @app.on_message
    async def handler(msg: MessageUpdate) -> None:
        await asyncio.sleep(0)
        await msg.react("✅")

    _deliver(app, p.inbound(p.msg("text", {"body": "x"})))
    assert [c[0] for c in client.calls] == ["react"]


def test_an_application_used_only_as_a_dispatcher_needs_no_secret() -> None:
    app = Application(client=RecordingClient())  # e.g. handed to the gateway, which verifies itself
    got: list[str] = []
    app.on_message()(lambda upd: got.append(upd.update_id))
    message = p.msg("text", {"body": "x"})
    for upd in parse(p.inbound(message)):
        app.dispatch_sync(upd)
    assert got == [message["id"]]
    with pytest.raises(ValueError, match="allow_unsigned"):
        app.asgi()  # serving it needs the secret (or the explicit opt-out)
