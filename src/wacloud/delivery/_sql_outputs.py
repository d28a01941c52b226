"""The outputs' tables (migration 9): relay cursors and the queue of incoming media to keep.

Both work on any SQL store (:class:`~wacloud.delivery._sql_base.SqlBase`: SQLite or PostgreSQL), each
call in its own short transaction of that store, so they can be called from worker threads. Settling a
download writes its ``media.stored`` / ``media.failed`` event in the same transaction: an event exists
if and only if the download's new state does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final, Literal

from wacloud.delivery._job_events import customer_of
from wacloud.delivery._sql_base import SqlBase
from wacloud.events.log import NewEvent, append

#: A download waiting (or being retried), kept, given up on, or not wanted (too large, type not kept).
MediaState = Literal["pending", "stored", "failed", "skipped"]
MEDIA_STATES: Final = ("pending", "stored", "failed", "skipped")

_COLUMNS = ("media_id, wamid, phone_number_id, sender, kind, mime_type, sha256, filename, state, attempts, "
            "next_at, location, size, last_error, created_at, updated_at")


class EventCursors:
    """Where each named output stands in the event log (``event_output_cursors``)."""

    def __init__(self, store: SqlBase) -> None:
        self.store = store

    def position(self, name: str) -> int:
        """The last position ``name`` has delivered (0: nothing yet)."""
        with self.store._tx(write=False) as tx:
            rows = tx.rows("SELECT position FROM event_output_cursors WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else 0

    def advance(self, name: str, position: int) -> None:
        """Record that ``name`` delivered everything up to ``position`` (never moves backwards)."""
        with self.store._tx() as tx:
            tx.run(
                "INSERT INTO event_output_cursors (name, position, updated_at) VALUES (?, ?, ?) "
                f"ON CONFLICT (name) DO UPDATE SET position = {self.store.GREATEST}(event_output_cursors.position, "
                "excluded.position), updated_at = excluded.updated_at",
                (name, int(position), time.time()),
            )

    def reset(self, name: str, position: int) -> None:
        """Move ``name`` to ``position`` (backwards too: a replay)."""
        with self.store._tx() as tx:
            tx.run(
                "INSERT INTO event_output_cursors (name, position, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
                (name, int(position), time.time()),
            )


@dataclass(frozen=True, slots=True)
class MediaTask:
    """One incoming media file to keep: what the webhook said, and how keeping it went."""

    media_id: str
    wamid: str
    phone_number_id: str
    sender: str
    kind: str
    mime_type: str | None = None
    #: As the webhook announced it (Meta sends base64; hex is accepted too).
    sha256: str | None = None
    filename: str | None = None
    state: MediaState = "pending"
    attempts: int = 0
    next_at: float = 0.0
    #: Where the media store keeps it (its key), once stored.
    location: str | None = None
    size: int | None = None
    last_error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The task as JSON (the API's answer, an event's data)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def media_event_data(task: MediaTask) -> dict[str, Any]:
    """The payload of a settled download's event (docs/events.md, ``media.stored`` / ``media.failed``)."""
    data: dict[str, Any] = {
        "media_id": task.media_id, "wamid": task.wamid, "from": task.sender, "kind": task.kind,
        "mime_type": task.mime_type, "state": task.state, "attempts": task.attempts,
        "path": f"/v1/media/kept/{task.media_id}",
    }
    if task.state == "stored":
        data.update(sha256=task.sha256, size=task.size, location=task.location)
    else:
        data["error"] = task.last_error
    return data


def media_event(task: MediaTask) -> NewEvent:
    """``media.stored`` for a kept download, ``media.failed`` for one given up on or not wanted (skipped)."""
    kind = "media.stored" if task.state == "stored" else "media.failed"
    return NewEvent(kind, task.phone_number_id, media_event_data(task), customer_of(task.sender), task.updated_at)


def _task(row: tuple[Any, ...]) -> MediaTask:
    (media_id, wamid, phone, sender, kind, mime, sha, filename, state, attempts, next_at, location, size,
     error, created, updated) = row
    return MediaTask(
        media_id=str(media_id), wamid=str(wamid), phone_number_id=str(phone), sender=str(sender), kind=str(kind),
        mime_type=mime, sha256=sha, filename=filename, state=state, attempts=int(attempts), next_at=float(next_at),
        location=location, size=int(size) if size is not None else None, last_error=error,
        created_at=float(created), updated_at=float(updated),
    )


class MediaQueue:
    """The durable queue of incoming media downloads (``kept_media``): added on receipt, claimed by a
    worker with a lease (a crashed worker's claim comes back when the lease ends), then settled."""

    def __init__(self, store: SqlBase) -> None:
        self.store = store

    def add(self, task: MediaTask) -> bool:
        """Queue ``task`` (due now unless ``next_at`` says otherwise); False when its media id is known."""
        now = time.time()
        with self.store._tx() as tx:
            return tx.run(
                f"INSERT INTO kept_media ({_COLUMNS}) VALUES ({', '.join('?' * 16)}) "
                "ON CONFLICT (media_id) DO NOTHING",
                (task.media_id, task.wamid, task.phone_number_id, task.sender, task.kind, task.mime_type,
                 task.sha256, task.filename, task.state, 0, task.next_at or now, None, None, task.last_error,
                 now, now),
            ) == 1

    def claim(self, limit: int, lease_s: float, *, now: float | None = None) -> list[MediaTask]:
        """Up to ``limit`` due downloads, each leased for ``lease_s`` (its next attempt counted)."""
        now = time.time() if now is None else now
        with self.store._tx() as tx:
            rows = tx.rows(
                f"SELECT {_COLUMNS} FROM kept_media WHERE state = 'pending' AND next_at <= ? "
                f"ORDER BY next_at LIMIT ?{self.store.CLAIM_LOCK}",
                (now, max(0, int(limit))),
            )
            for row in rows:
                tx.run("UPDATE kept_media SET next_at = ?, attempts = attempts + 1, updated_at = ? "
                       "WHERE media_id = ?", (now + lease_s, now, row[0]))
        return [
            _task((*row[:9], int(row[9]) + 1, now + lease_s, *row[11:15], now)) for row in rows
        ]

    def stored(self, media_id: str, location: str, size: int, sha256: str) -> MediaTask | None:
        """Settle a download: kept at ``location`` (``sha256`` as hex, the file's)."""
        return self._settle(media_id, "stored", location=location, size=size, sha256=sha256, error=None)

    def retry(self, media_id: str, error: str, at: float) -> MediaTask | None:
        """A failed attempt: try again at ``at``."""
        now = time.time()
        with self.store._tx() as tx:
            tx.run("UPDATE kept_media SET next_at = ?, last_error = ?, updated_at = ? "
                   "WHERE media_id = ? AND state = 'pending'", (at, error[:500], now, media_id))
        return self.get(media_id)

    def failed(self, media_id: str, error: str, *, state: MediaState = "failed") -> MediaTask | None:
        """Give up on a download (``failed``), or record it was not wanted (``skipped``)."""
        return self._settle(media_id, state, error=error[:500])

    def _settle(self, media_id: str, state: MediaState, *, error: str | None, location: str | None = None,
                size: int | None = None, sha256: str | None = None) -> MediaTask | None:
        """Settle a pending download and write its event, in one transaction; None when it was not pending
        (another worker, whose lease this one outlived, settled it first: one outcome, one event)."""
        now = time.time()
        with self.store._tx() as tx:
            changed = tx.run(
                "UPDATE kept_media SET state = ?, location = COALESCE(?, location), size = COALESCE(?, size), "
                "sha256 = COALESCE(?, sha256), last_error = ?, updated_at = ? WHERE media_id = ? AND state = 'pending'",
                (state, location, size, sha256, error, now, media_id),
            )
            if not changed:
                return None
            task = _task(tx.rows(f"SELECT {_COLUMNS} FROM kept_media WHERE media_id = ?", (media_id,))[0])
            append(tx, [media_event(task)])
        return task

    def get(self, ref: str) -> MediaTask | None:
        """The task of a media id, else of a message id (wamid); None when neither is known."""
        with self.store._tx(write=False) as tx:
            rows = tx.rows(f"SELECT {_COLUMNS} FROM kept_media WHERE media_id = ?", (ref,))
            if not rows:
                rows = tx.rows(f"SELECT {_COLUMNS} FROM kept_media WHERE wamid = ? ORDER BY created_at LIMIT 1",
                               (ref,))
        return _task(rows[0]) if rows else None

    def counts(self) -> dict[str, int]:
        """How many downloads are in each state."""
        with self.store._tx(write=False) as tx:
            rows = tx.rows("SELECT state, count(*) FROM kept_media GROUP BY state")
        found = {str(state): int(n) for state, n in rows}
        return {state: found.get(state, 0) for state in MEDIA_STATES}
