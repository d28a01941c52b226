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

import logging
from typing import Any

from wacloud.bot import Application, OutboxReplies
from wacloud.delivery import Job
from wacloud.delivery.model import PENDING_STATES
from wacloud.delivery.sqlite import SqliteStore
from wacloud.gateway._calls import call_engine
from wacloud.gateway._coexistence import AppContacts, CoexistenceLog
from wacloud.gateway._runtime import Gateway
from wacloud.gateway._webhook_store import WebhookSqliteStore
from wacloud.webhooks import (
    DedupStore,
    InboxStore,
    MessageUpdate,
    StatusUpdate,
    Update,
    WebhookApp,
    WebhookReceiver,
)

log = logging.getLogger("wacloud.gateway.webhook")


class GatewayDispatcher:
    """The receiver's dispatcher: outbox, then conversation log, then bot."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        #: History imports, app echoes and contacts, edits and revokes (coexistence numbers).
        self.coexistence = CoexistenceLog(gw.history, AppContacts(gw.db))

    async def dispatch(self, update: Update) -> None:
        """Handle one update in the event loop: outbox and log (errors propagate), then the bot."""
        outbox = self.gw.outbox
        if outbox is not None:
            # The outbox rides out a short outage itself; a longer one propagates (the receiver retries).
            await call_engine(outbox.handle, update)
        await call_engine(self._log, update)
        bot = self.gw.bot
        if bot is None:
            return
        try:
            if isinstance(bot, Application) and bot.replies is None and self.gw.outbox is not None:
                # Replies go through the outbox (paced, durable, retried) unless the app chose direct mode.
                bot.replies = OutboxReplies(self.gw.outbox, on_queued=self._log_reply)
            await bot.dispatch(update)
        except Exception:
            # User code: logged, and the update counts as handled (no retry loop on a buggy bot).
            log.exception("bot failed on update %s", update.update_id)

    def _log_reply(self, job: Job) -> None:
        """A bot reply queued in the outbox goes in the conversation log like an API send."""
        self.gw.history.record_outbound(job.to, job.id, dict(job.body))

    def dispatch_sync(self, update: Update) -> None:  # pragma: no cover - the gateway is ASGI only
        """Not used: the gateway serves ASGI."""
        raise RuntimeError("the gateway dispatches in its event loop")

    def _log(self, update: Update) -> None:
        if self.coexistence.apply(update):
            return
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
                job = job_for_wamid(self.gw, st.id)
                history.record_status(
                    st.recipient_id, st.id, st.status, job_id=job.id if job is not None else None,
                    ts=st.timestamp.timestamp(), sent=_fallback_sent(job, st.id) if job is not None else None,
                )
            code = st.errors[0].code if st.errors else 0
            if st.status == "failed":
                self.gw.metrics.sends.labels(outcome="failed", code=str(code)).inc()
            elif st.status in ("delivered", "read"):
                self.gw.metrics.sends.labels(outcome=st.status, code="0").inc()


def _fallback_sent(job: Job, wamid: str) -> dict[str, Any] | None:
    """The fallback template ``job`` went out as ``wamid`` (the log queued its original body), else None."""
    if not job.used_fallback or job.wamid != wamid:
        return None
    # Requeued with its fallback after Meta refused the original (131047): ``wamid`` is still the
    # refused original's until the template is accepted.
    if job.state in PENDING_STATES:
        return None
    return dict(job.body)


def job_for_wamid(gw: Gateway, wamid: str) -> Job | None:
    """The outbox job that sent ``wamid`` (None without an outbox in this process, or for another's)."""
    return gw.outbox.job_by_wamid(wamid) if gw.outbox is not None else None


def build_webhook_app(gw: Gateway) -> WebhookApp:
    """The ASGI app mounted at ``/webhook`` (it also becomes ``gw.webhook_app``)."""
    store = gw.store
    if isinstance(store, SqliteStore):
        store = gw.webhook_store = WebhookSqliteStore(store.path)
    receiver = WebhookReceiver(
        app_secret=gw.creds.app_secret,
        verify_token=gw.creds.verify_token,
        allow_unsigned=gw.settings.allow_unsigned_webhooks,
        max_body_bytes=gw.settings.webhook_max_body,
        dedup=store if isinstance(store, DedupStore) else None,
        inbox=store if isinstance(store, InboxStore) else None,
        on_update=GatewayDispatcher(gw),
    )
    gw.webhook_app = WebhookApp(receiver)
    return gw.webhook_app
