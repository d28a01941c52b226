"""Incoming media kept: queued on receipt, downloaded off the webhook path, checked, stored, reported.

Media ids in webhooks expire after 7 days and their download URLs after 5 minutes, so the gateway keeps
a copy of what customers send. The webhook dispatch only adds a row to the durable queue
(:class:`wacloud.delivery.MediaQueue`); :class:`MediaKeeper` works the queue in its own task: it looks the
media up through the client (``GET /{media-id}``), refuses it when larger than the configured cap,
downloads it (the client checks the sha256 the Cloud API announces), checks it again against the
webhook's sha256, and hands it to the media store. A failed attempt is retried with growing pauses;
after the last one the download is recorded as failed. The queue writes each outcome's ``media.stored`` /
``media.failed`` event in the transaction that settles it; ``on_kept`` is told afterwards (a notification).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from wacloud import errors
from wacloud.client import AsyncClient
from wacloud.delivery import MediaQueue, MediaTask, media_event_data
from wacloud.gateway._media_store import MediaStore, MediaStoreError, media_key
from wacloud.webhooks import MessageUpdate, Update
from wacloud.webhooks.models import Media

log = logging.getLogger("wacloud.gateway.media")

#: The message types that carry a media file.
MEDIA_TYPES: Final = ("image", "audio", "video", "document", "sticker")
#: Meta's largest media file (documents): the default cap on what is kept.
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
#: How long one download may hold its claim before another worker may take it over.
LEASE_S = 300.0


@dataclass(frozen=True)
class KeepPolicy:
    """What is kept, and how hard the keeper tries."""

    types: frozenset[str] = frozenset(MEDIA_TYPES)
    max_bytes: int = DEFAULT_MAX_BYTES
    #: Attempts before a download is recorded as failed.
    attempts: int = 6
    #: Pause after the first failed attempt, doubled after each (capped at ``retry_max_s``).
    retry_first_s: float = 30.0
    retry_max_s: float = 3600.0

    def pause(self, attempts: int) -> float:
        """The pause before the next attempt, after ``attempts`` failed ones (with a little jitter)."""
        base = min(self.retry_first_s * 2.0 ** max(0, attempts - 1), self.retry_max_s)
        return float(base * (1 + random.random() * 0.1))


@dataclass(frozen=True)
class KeptOutcome:
    """A download settled: ``event_type`` is ``media.stored`` or ``media.failed`` (failed after its last
    attempt, or ``state == "skipped"``: larger than the cap)."""

    event_type: str
    task: MediaTask

    def data(self) -> dict[str, Any]:
        """The event's payload (docs/events.md), as the queue wrote it."""
        return media_event_data(self.task)


#: Told of each settled download (called in a worker thread; an exception is logged, not raised).
OnKept = Callable[[KeptOutcome], None]


def _sha_matches(announced: str | None, digest: bytes) -> bool:
    """The webhook's sha256 (Meta sends base64; hex is accepted too) against the file's digest."""
    if not announced:
        return True
    text = announced.strip()
    return text.lower() == digest.hex() or text == base64.b64encode(digest).decode()


def _file_sha256(path: Path) -> tuple[bytes, int]:
    """The file's SHA-256 digest and size."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.digest(), size


class DownloadRefused(Exception):
    """Not kept, and not worth retrying (larger than the cap)."""


@dataclass
class MediaKeeper:
    """Queues media from webhooks (:meth:`enqueue`) and keeps it (:meth:`run`, in the gateway's loop)."""

    queue: MediaQueue
    client: AsyncClient
    store: MediaStore
    policy: KeepPolicy = field(default_factory=KeepPolicy)
    #: Called once per settled download, after its state and event are committed.
    on_kept: OnKept | None = None
    #: The number a webhook without metadata belongs to.
    default_phone_number_id: str = ""
    concurrency: int = 2
    poll_s: float = 1.0
    #: The client of the number a media arrived on (its own token); None, or None for a number: ``client``.
    client_for: Callable[[str], AsyncClient | None] | None = None
    kept: int = 0
    failed: int = 0

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()
        self._stopping = False

    # --- the webhook side ------------------------------------------------------------------------------
    def task_for(self, update: Update) -> MediaTask | None:
        """The download ``update`` asks for (None: no media, a type not kept, an id that is not a Graph id)."""
        if not isinstance(update, MessageUpdate):
            return None
        msg = update.message
        kind = msg.type
        media = getattr(msg, kind, None) if kind in self.policy.types else None
        if not isinstance(media, Media) or not media.id:
            return None
        phone = (update.metadata.phone_number_id if update.metadata else None) or self.default_phone_number_id
        try:
            media_key(phone, media.id, None)
        except MediaStoreError as exc:
            log.warning("media of %s not kept: %s", msg.id, exc)
            return None
        return MediaTask(media_id=media.id, wamid=msg.id, phone_number_id=phone, sender=update.from_, kind=kind,
                         mime_type=media.mime_type, sha256=media.sha256, filename=media.filename)

    def enqueue(self, update: Update) -> bool:
        """Queue the media ``update`` carries (blocking: one insert); True when a download was queued."""
        task = self.task_for(update)
        return task is not None and self.queue.add(task)

    def wake(self) -> None:
        """Look at the queue now (something was just queued)."""
        self._wake.set()

    # --- the worker side -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Work the queue until :meth:`stop`."""
        while not self._stopping:
            try:
                tasks = await asyncio.to_thread(self.queue.claim, self.concurrency, LEASE_S)
            except Exception:
                log.exception("media queue unavailable; retrying")
                tasks = []
            if tasks:
                await asyncio.gather(*(self.keep(t) for t in tasks))
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
            self._wake.clear()

    def stop(self) -> None:
        """Ask :meth:`run` to return after the downloads in flight."""
        self._stopping = True
        self._wake.set()

    async def keep(self, task: MediaTask) -> MediaTask | None:
        """One attempt at ``task`` (claimed): kept, retried later, or given up. Never raises."""
        try:
            location, size, digest = await self._download(task)
        except asyncio.CancelledError:
            raise
        except DownloadRefused as exc:
            return await self._settle("media.failed", self.queue.failed, task.media_id, str(exc), state="skipped")
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:500]
            if task.attempts >= self.policy.attempts:
                self.failed += 1
                log.warning("media %s of %s not kept after %d attempts: %s", task.media_id, task.wamid,
                            task.attempts, reason)
                return await self._settle("media.failed", self.queue.failed, task.media_id, reason)
            pause = self.policy.pause(task.attempts)
            log.info("media %s: attempt %d failed (%s); again in %.0f s", task.media_id, task.attempts, reason,
                     pause)
            return await asyncio.to_thread(self.queue.retry, task.media_id, reason, time.time() + pause)
        self.kept += 1
        return await self._settle("media.stored", self.queue.stored, task.media_id, location, size, digest.hex())

    async def _settle(self, event_type: str, settle: Callable[..., MediaTask | None], *args: Any,
                      **kwargs: Any) -> MediaTask | None:
        """Record the outcome (with its event, one transaction), then tell ``on_kept``."""
        done = await asyncio.to_thread(settle, *args, **kwargs)
        hook = self.on_kept
        if done is not None and hook is not None:
            try:
                await asyncio.to_thread(hook, KeptOutcome(event_type, done))
            except Exception:
                log.exception("on_kept failed for media %s", done.media_id)
        return done

    async def _download(self, task: MediaTask) -> tuple[str, int, bytes]:
        """Look up, download, check and store ``task``'s media: its location, size and digest."""
        client = (self.client_for(task.phone_number_id) if self.client_for is not None else None) or self.client
        try:
            info = await client.media_url(task.media_id)
        except errors.WacloudError as exc:
            raise RuntimeError(f"media lookup failed: {exc}") from exc
        cap = self.policy.max_bytes
        if info.file_size is not None and info.file_size > cap:
            raise DownloadRefused(f"{info.file_size} bytes, more than the {cap} kept (media_keep_max_bytes)")
        mime = info.mime_type or task.mime_type
        key = media_key(task.phone_number_id, task.media_id, mime)
        part = self.store.scratch_dir() / f"{task.media_id}.{secrets.token_hex(4)}"
        try:
            await client.download(info, to=part)
            digest, size = await asyncio.to_thread(_file_sha256, part)
            if size > cap:
                raise DownloadRefused(f"{size} bytes, more than the {cap} kept (media_keep_max_bytes)")
            if not _sha_matches(task.sha256, digest):
                raise errors.WacloudError(f"sha256 mismatch: the webhook announced {task.sha256}, "
                                          f"the file is {digest.hex()}")
            location = await asyncio.to_thread(self.store.put, key, part, mime)
        finally:
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
        return location, size, digest


async def keep_media(keeper: MediaKeeper | None, update: Update) -> None:
    """The webhook dispatch's hook: queue the media ``update`` carries. Never raises (a failure to queue
    is logged): keeping media must not hold up or fail the update itself."""
    if keeper is None or not isinstance(update, MessageUpdate) or update.message.type not in keeper.policy.types:
        return
    try:
        if await asyncio.to_thread(keeper.enqueue, update):
            keeper.wake()
    except Exception:
        log.exception("could not queue the media of %s", update.message.id)
