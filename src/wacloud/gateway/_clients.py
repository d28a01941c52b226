"""The gateway's two Cloud API clients: one counting sends for the metrics, one logging the bot's sends."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from wacloud import errors
from wacloud.client import AsyncClient
from wacloud.client.core import Request, Response
from wacloud.client.models import SentMessage
from wacloud.gateway._calls import call_engine
from wacloud.gateway._history import History
from wacloud.gateway._metrics import Metrics

log = logging.getLogger("wacloud.gateway")


class InstrumentedAsyncClient(AsyncClient):
    """The outbox's client: counts sends (``wacloud_sends``) and retryable failures (``wacloud_retries``)."""

    def __init__(self, *, metrics: Metrics, **options: Any) -> None:
        super().__init__(**options)
        self.metrics = metrics

    async def send_body(
        self, body: Mapping[str, Any], *, phone_number_id: str | None = None
    ) -> SentMessage:
        """Send, counting the outcome."""
        metrics = self.metrics
        try:
            result: SentMessage = await super().send_body(body, phone_number_id=phone_number_id)
        except errors.WhatsAppError as exc:
            metrics.sends.labels(outcome="error", code=str(exc.code)).inc()
            if exc.retry in (errors.RetryClass.BACKOFF, errors.RetryClass.RECIPIENT_LATER):
                metrics.retries.labels(code=str(exc.code)).inc()
            raise
        except errors.TransportError:
            metrics.sends.labels(outcome="transport_error", code="0").inc()
            metrics.retries.labels(code="transport").inc()
            raise
        metrics.sends.labels(outcome="accepted", code="0").inc()
        return result


class LoggingAsyncClient(AsyncClient):
    """The bot's client: logs each accepted send (wamid, recipient, body) in the conversation log.

    A failing log never fails the send.
    """

    def __init__(self, *, history: History, **options: Any) -> None:
        super().__init__(**options)
        self.history = history

    async def _send(self, request: Request) -> Response:
        """Send, then log an accepted message."""
        resp = await super()._send(request)
        body = request.json
        if request.method == "POST" and request.path.endswith("/messages") and resp.status_code == 200 \
                and isinstance(body, dict) and "to" in body:
            answer = resp.json() or {}
            try:
                wamid = answer["messages"][0]["id"]
                wa_id = (answer.get("contacts") or [{}])[0].get("wa_id") or str(body["to"]).lstrip("+")
                await call_engine(self.history.record_sent, wa_id, wamid, body)
            except Exception:
                log.warning("could not log a bot's message in the conversation log", exc_info=True)
        return resp
