"""The framework-free webhook receiver: raw request in, status and body out.

``handle_get(query)`` answers Meta's verification handshake. ``handle_post(raw_body, headers)``
checks the size cap, the ``X-Hub-Signature-256`` of the exact raw bytes (constant time), the content
type and the JSON envelope; only then is the payload stored (when an inbox is configured: before the
200) and its updates dispatched. Duplicates (by message id, by status id and status) are dropped
through a :class:`~wacloud.webhooks.store.DedupStore`. A handler's failure is logged and never turns
into a non-200, because Meta would redeliver the whole payload for days.

Adapters split the POST in two to ack fast: :meth:`WebhookReceiver.accept` (checks + store, then
answer) and :meth:`WebhookReceiver.process` / :meth:`process_sync` (after the answer is sent).
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qs

from wacloud.limits import WEBHOOK_MAX_BODY_BYTES
from wacloud.webhooks import signature
from wacloud.webhooks.parsing import loads, parse
from wacloud.webhooks.store import DedupStore, InboxStore, MemoryDedupStore
from wacloud.webhooks.updates import Update

logger = logging.getLogger("wacloud.webhooks")

_OK = b'{"ok":true}'
_SIG = signature.HEADER.lower()
#: How many stored payloads a resume reads at a time.
RESUME_BATCH = 100


def _error(reason: str) -> bytes:
    return json.dumps({"error": reason}).encode()


@dataclass(slots=True)
class Delivery:
    """An accepted POST: its decoded payload and, in durable mode, its inbox id."""

    payload: Any
    inbox_id: int | None = None
    resumed: bool = False


@runtime_checkable
class Dispatcher(Protocol):
    """What the receiver hands updates to (the bot :class:`~wacloud.webhooks.Application` is one)."""

    async def dispatch(self, update: Update) -> None:
        """Handle one update in an event loop."""
        ...

    def dispatch_sync(self, update: Update) -> None:
        """Handle one update in the calling thread."""
        ...


class CallbackDispatcher:
    """Adapts a plain ``fn(update)`` (sync, or returning an awaitable) to :class:`Dispatcher`."""

    def __init__(self, fn: Callable[[Update], Any]) -> None:
        self.fn = fn

    async def dispatch(self, update: Update) -> None:
        """Call ``fn`` and await its result when it is awaitable."""
        result = self.fn(update)
        if inspect.isawaitable(result):
            await result

    def dispatch_sync(self, update: Update) -> None:
        """Call ``fn``; an awaitable result is run to completion in a private event loop."""
        result = self.fn(update)
        if inspect.isawaitable(result):
            _run_awaitable(result)


def _run_awaitable(result: Awaitable[Any]) -> Any:
    async def wait() -> Any:
        return await result

    return asyncio.run(wait())


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup on any mapping (``name`` given in lower case)."""
    value = headers.get(name)
    if value is None:
        for key, val in headers.items():
            if key.lower() == name:
                return val
    return value


class WebhookReceiver:
    """Verification, signature, limits, durable inbox, dedup and dispatch — without a web framework."""

    def __init__(
        self,
        *,
        app_secret: str | None = None,
        verify_token: str | None = None,
        allow_unsigned: bool = False,
        max_body_bytes: int = WEBHOOK_MAX_BODY_BYTES,
        dedup: DedupStore | None = None,
        inbox: InboxStore | None = None,
        on_update: Dispatcher | Callable[[Update], Any] | None = None,
    ) -> None:
        if not app_secret and not allow_unsigned:
            raise ValueError(
                "an app_secret is required to check X-Hub-Signature-256; "
                "pass allow_unsigned=True to accept unsigned webhooks (development only)"
            )
        self._secret = app_secret or None
        self._verify_token = verify_token or None
        self.max_body_bytes = max_body_bytes
        self.dedup: DedupStore | None = dedup if dedup is not None else MemoryDedupStore()
        self.inbox = inbox
        self.dispatcher: Dispatcher | None = None
        self.set_handler(on_update)
        if self._secret is None:
            logger.warning("webhook signature checking is OFF (allow_unsigned=True and no app secret): "
                           "anyone who can reach this endpoint can inject updates")

    @property
    def signed(self) -> bool:
        """True when POSTs must carry a valid signature."""
        return self._secret is not None

    def set_handler(self, on_update: Dispatcher | Callable[[Update], Any] | None) -> None:
        """Set what receives the updates (a :class:`Dispatcher` or a plain callable)."""
        if on_update is None or isinstance(on_update, Dispatcher):
            self.dispatcher = on_update
        else:
            self.dispatcher = CallbackDispatcher(on_update)

    def __repr__(self) -> str:
        token = "'***'" if self._verify_token else None
        inbox = type(self.inbox).__name__ if self.inbox else None
        return (f"{type(self).__name__}(signed={self.signed}, verify_token={token}, "
                f"max_body_bytes={self.max_body_bytes}, inbox={inbox})")

    # --- GET: verification handshake -----------------------------------------------------------

    def handle_get(self, query: Mapping[str, Any] | str) -> tuple[int, str]:
        """Answer ``hub.mode=subscribe&hub.verify_token=...&hub.challenge=...``: (200, challenge) or 403."""
        params = _query(query)
        if params.get("hub.mode") != "subscribe":
            return 403, "hub.mode must be subscribe"
        if self._verify_token is None:
            return 403, "no verify token is configured"
        token = params.get("hub.verify_token") or ""
        if not hmac.compare_digest(token.encode("utf-8", "replace"), self._verify_token.encode()):
            return 403, "hub.verify_token does not match"
        challenge = params.get("hub.challenge")
        if not challenge:
            return 400, "hub.challenge is missing"
        return 200, challenge

    # --- POST ------------------------------------------------------------------------------------

    def accept(self, raw_body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes, Delivery | None]:
        """Check a POST and, in durable mode, store it: (status, body, delivery to process or None)."""
        if len(raw_body) > self.max_body_bytes:
            return 413, _error(f"body is larger than {self.max_body_bytes} bytes"), None
        sig = header(headers, _SIG)
        if self._secret is not None:
            if not sig:
                return 401, _error(f"{signature.HEADER} header is missing"), None
            if not signature.verify(raw_body, sig, self._secret):
                return 403, _error(f"{signature.HEADER} does not match the body"), None
        content_type = header(headers, "content-type") or ""
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            return 400, _error("Content-Type must be application/json"), None
        if not raw_body:
            return 400, _error("body is empty"), None
        try:
            payload = loads(raw_body)
        except ValueError as exc:
            return 400, _error(f"malformed JSON: {exc}"), None
        problem = _envelope_problem(payload)
        if problem:
            return 400, _error(problem), None
        delivery = Delivery(payload)
        if self.inbox is not None:
            try:
                delivery.inbox_id = self.inbox.put(
                    bytes(raw_body), json.dumps({"content-type": content_type, _SIG: sig})
                )
            except Exception:
                # Without the stored copy a 200 could lose the payload; let Meta redeliver instead.
                logger.exception("could not store the webhook payload; answering 503 so Meta retries")
                return 503, _error("could not store the payload; retry later"), None
        return 200, _OK, delivery

    def handle_post(self, raw_body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """Check, store, and dispatch a POST in the calling thread; returns (status, JSON body)."""
        status, body, delivery = self.accept(raw_body, headers)
        if delivery is not None:
            self.process_sync(delivery)
        return status, body

    # --- processing ------------------------------------------------------------------------------

    def updates(self, delivery: Delivery) -> list[Update]:
        """The updates of a delivery that were not seen before."""
        return [upd for upd in parse(delivery.payload) if self._fresh(upd, delivery.resumed)]

    def process_sync(self, delivery: Delivery) -> int:
        """Dispatch the new updates of ``delivery`` in this thread; returns how many were dispatched."""
        updates = self.updates(delivery)
        dispatcher = self.dispatcher
        for upd in updates:
            if dispatcher is not None:
                try:
                    dispatcher.dispatch_sync(upd)
                except Exception:
                    logger.exception("webhook handler failed for update %s", upd.update_id)
            self._completed(upd)
        self._done(delivery)
        return len(updates)

    async def process(self, delivery: Delivery) -> int:
        """Dispatch the new updates of ``delivery`` in the event loop; returns how many were dispatched."""
        updates = self.updates(delivery)
        dispatcher = self.dispatcher
        for upd in updates:
            if dispatcher is not None:
                try:
                    await dispatcher.dispatch(upd)
                except Exception:
                    logger.exception("webhook handler failed for update %s", upd.update_id)
            self._completed(upd)
        self._done(delivery)
        return len(updates)

    def pending(self) -> list[Delivery]:
        """One batch of stored payloads not yet processed (after a crash), oldest first."""
        if self.inbox is None:
            return []
        out: list[Delivery] = []
        for inbox_id, raw in self.inbox.pending(RESUME_BATCH):
            try:
                payload = loads(raw)
            except ValueError:
                logger.error("stored webhook payload %s is not JSON; dropping it", inbox_id)
                self.inbox.done(inbox_id)
                continue
            out.append(Delivery(payload, inbox_id, resumed=True))
        return out

    def resume_sync(self) -> int:
        """Process every stored payload left pending (call at start); returns how many payloads."""
        count = 0
        seen: set[int] = set()
        while batch := [d for d in self.pending() if d.inbox_id not in seen]:
            for delivery in batch:
                seen.add(delivery.inbox_id or 0)
                self.process_sync(delivery)
                count += 1
        if count:
            logger.info("resumed %d stored webhook payload(s)", count)
        return count

    async def resume(self) -> int:
        """Async :meth:`resume_sync`."""
        count = 0
        seen: set[int] = set()
        while batch := [d for d in self.pending() if d.inbox_id not in seen]:
            for delivery in batch:
                seen.add(delivery.inbox_id or 0)
                await self.process(delivery)
                count += 1
        if count:
            logger.info("resumed %d stored webhook payload(s)", count)
        return count

    # --- dedup -----------------------------------------------------------------------------------

    def _fresh(self, update: Update, resumed: bool) -> bool:
        key = update.dedup_key
        if key is None or self.dedup is None:
            return True
        try:
            if self.dedup.first_seen(key):
                return True
            # A resumed payload may hold updates claimed before the crash but never finished:
            # those have no completion mark yet, true duplicates (finished elsewhere) have one.
            return resumed and self.dedup.first_seen("done:" + key)
        except Exception:
            logger.exception("dedup store failed for update %s; processing it (at least once)", key)
            return True

    def _completed(self, update: Update) -> None:
        # Completion marks only matter for resuming from a durable inbox.
        key = update.dedup_key
        if self.inbox is None or key is None or self.dedup is None:
            return
        try:
            self.dedup.first_seen("done:" + key)
        except Exception:
            logger.exception("dedup store failed to mark update %s done", key)

    def _done(self, delivery: Delivery) -> None:
        if self.inbox is not None and delivery.inbox_id is not None:
            try:
                self.inbox.done(delivery.inbox_id)
            except Exception:
                logger.exception("could not mark stored webhook payload %s done", delivery.inbox_id)


def _query(query: Mapping[str, Any] | str) -> dict[str, str]:
    if isinstance(query, str):
        return {k: v[0] for k, v in parse_qs(query.lstrip("?"), keep_blank_values=True).items()}
    out: dict[str, str] = {}
    for key, value in query.items():
        if isinstance(value, list | tuple):
            value = value[0] if value else ""
        out[str(key)] = str(value)
    return out


def _envelope_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "body must be a JSON object"
    if not isinstance(payload.get("object"), str):
        return "object must be a string"
    entries = payload.get("entry")
    if not isinstance(entries, list):
        return "entry must be a list"
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes", []), list):
            return "every entry must be an object with a changes list"
    return None
