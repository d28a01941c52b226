"""The gateway's ``/webhook``: Meta's updates go to the outbox, the conversation log and the user's bot.

One :class:`~wacloud.webhooks.WebhookReceiver` checks signatures and sizes, writes each payload to the
durable store before answering 200 (when the store is an inbox), and suppresses duplicates across
processes (when it is a dedup store). Every new update is then handed, in order, to:

1. the outbox (statuses move jobs forward, ``failed`` applies the retry policy, inbound messages open
   the 24-hour window, ``user_preferences`` record opt-outs);
2. the conversation log;
3. the bot ``Application`` given to ``wacloud serve --app module:attr`` (bound to the gateway's client;
   its replies are queued in the outbox's priority lane unless it asked for ``replies="direct"``).

Steps 1 and 2 are the system: when one fails (the database is down), the exception goes back to the
receiver, which keeps the payload pending and retries it with backoff (then dead-letters it after its
last attempt); the bot is not run for an update the system has not recorded. Step 3 is user code: a
bot that raises is logged with the update id and the update counts as handled.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from wacloud.bot import Application, OutboxReplies
from wacloud.delivery import Job
from wacloud.delivery.sqlite import SqliteStore
from wacloud.server.db import BUSY_TIMEOUT_S
from wacloud.server.runtime import Gateway

log = logging.getLogger("wacloud.server.webhook")

#: How long the webhook's store calls wait for a locked SQLite file (the workers wait longer).
WEBHOOK_BUSY_TIMEOUT_S = BUSY_TIMEOUT_S / 2

#: Outbox methods that take a whole update, in order of preference (first found is used).
_OUTBOX_HOOKS = ("handle", "handle_update", "on_update")


async def _maybe_await(result: Any) -> Any:
    if inspect.isawaitable(result):
        return await result
    return result


class GatewayDispatcher:
    """The receiver's dispatcher: outbox, then conversation log, then bot."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def dispatch(self, update: Any) -> None:
        """Handle one update in the event loop: outbox and log (errors propagate), then the bot."""
        from wacloud.server.api import call

        await self._to_outbox(update)
        await call(self._log, update)
        bot = self.gw.bot
        if bot is None:
            return
        try:
            if hasattr(bot, "dispatch"):
                if getattr(bot, "client", True) is None:
                    bot.client = self.gw.bot_client or self.gw.client
                if isinstance(bot, Application) and bot.replies is None:
                    bot.replies = OutboxReplies(self.gw.outbox, on_queued=self._log_reply)
                await bot.dispatch(update)
            else:
                update.bind(self.gw.bot_client or self.gw.client)
                await _maybe_await(bot(update))
        except Exception:
            # User code: logged, and the update counts as handled (no retry loop on a buggy bot).
            log.exception("bot failed on update %s", update.update_id)

    async def _to_outbox(self, update: Any) -> None:
        """Apply the update to the outbox (which rides out a short outage itself); errors propagate."""
        from wacloud.server.api import call

        outbox = self.gw.outbox
        hook = next((getattr(outbox, n) for n in _OUTBOX_HOOKS if hasattr(outbox, n)), None)
        if hook is not None:
            await call(hook, update)

    def _log_reply(self, job: Job) -> None:
        """A bot reply queued in the outbox goes in the conversation log like an API send."""
        self.gw.history.record_outbound(job.to, job.id, dict(job.body))

    def dispatch_sync(self, update: Any) -> None:  # pragma: no cover - the gateway is ASGI only
        """Not used: the gateway serves ASGI."""
        raise RuntimeError("the gateway dispatches in its event loop")

    def _log(self, update: Any) -> None:
        from wacloud.webhooks import MessageUpdate, StatusUpdate

        history = self.gw.history
        if isinstance(update, MessageUpdate):
            msg = update.message
            contact = update.contact
            name = contact.profile.name if contact is not None and contact.profile is not None else None
            raw = update.raw if isinstance(update.raw, dict) else {"type": msg.type}
            history.record_inbound(msg.from_, msg.id, raw, name=name, ts=msg.timestamp.timestamp())
        elif isinstance(update, StatusUpdate):
            st = update.status
            if st.recipient_id:
                job_id = job_id_for_wamid(self.gw, st.id)
                sent = _fallback_sent(self.gw, job_id, st.id) if job_id is not None else None
                history.record_status(
                    st.recipient_id, st.id, st.status, job_id=job_id, ts=st.timestamp.timestamp(), sent=sent
                )
            code = st.errors[0].code if st.errors else 0
            if st.status == "failed":
                self.gw.metrics.sends.labels(outcome="failed", code=str(code)).inc()
            elif st.status in ("delivered", "read"):
                self.gw.metrics.sends.labels(outcome=st.status, code="0").inc()


def _fallback_sent(gw: Gateway, job_id: str, wamid: str) -> dict[str, Any] | None:
    """The fallback template a job went out as ``wamid`` (the log queued its original body), else None."""
    job = gw.outbox.job(job_id) if gw.outbox is not None else None
    if job is None or not getattr(job, "used_fallback", False) or getattr(job, "wamid", None) != wamid:
        return None
    # Requeued with its fallback after Meta refused the original (131047): ``wamid`` is still the
    # refused original's until the template is accepted.
    if str(getattr(job, "state", "")) in ("queued", "claimed", "sending"):
        return None
    return dict(job.body)


def job_id_for_wamid(gw: Gateway, wamid: str) -> str | None:
    """The outbox job that sent ``wamid`` (a read-only look at the outbox's ``jobs`` table)."""
    by_wamid = getattr(gw.outbox, "job_by_wamid", None)
    if by_wamid is not None:
        job = by_wamid(wamid)
        return str(job.id) if job is not None else None
    try:
        rows = gw.db.execute("SELECT id FROM jobs WHERE wamid = ?", (wamid,))
    except Exception:
        return None
    return str(rows[0][0]) if rows else None


class WebhookSqliteStore(SqliteStore):
    """The receiver's SQLite store: its own connections, short busy timeouts, and ``put`` apart.

    While another process holds the file's lock, a webhook must get a 503 within seconds (Meta
    redelivers it) rather than wait behind the workers' long waits, or behind the receiver's own
    background calls (retry claims, lease renewals): ``put``, the one call made before the answer,
    has a connection (and thread lock) of its own.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.set_busy_timeout(WEBHOOK_BUSY_TIMEOUT_S)
        self._front = SqliteStore(path)
        self._front.set_busy_timeout(WEBHOOK_BUSY_TIMEOUT_S)

    def put(self, raw: bytes, headers_json: str, lease_s: float | None = None) -> int:
        """Store a payload (on the request path's own connection); returns its id."""
        return self._front.put(raw, headers_json, lease_s)

    def close(self) -> None:
        """Close both connections."""
        self._front.close()
        super().close()


def build_webhook_app(gw: Gateway) -> Any:
    """The ASGI app mounted at ``/webhook``."""
    from wacloud.webhooks import DedupStore, InboxStore, WebhookApp, WebhookReceiver

    store = gw.store
    if isinstance(store, SqliteStore):
        store = WebhookSqliteStore(store.path)
        gw.extras["webhook_store"] = store
    receiver = WebhookReceiver(
        app_secret=gw.creds.app_secret,
        verify_token=gw.creds.verify_token,
        allow_unsigned=gw.settings.allow_unsigned_webhooks,
        max_body_bytes=gw.settings.webhook_max_body,
        dedup=store if isinstance(store, DedupStore) else None,
        inbox=store if isinstance(store, InboxStore) else None,
        on_update=GatewayDispatcher(gw),
    )
    return WebhookApp(receiver)
