"""The conversation log: every message to and from each customer, as the gateway saw it.

Inbound messages come from webhooks; outbound ones from the HTTP API (with their outbox job id) and from
status webhooks (which also cover messages a bot sent directly). The outbox stays the source of truth for a
job's state; this log answers "show me my conversation with +52…".
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wacloud.delivery import contact_ids
from wacloud.delivery.model import NewJob
from wacloud.delivery.store import Transaction
from wacloud.events.log import NewEvent, append
from wacloud.gateway._db import Database
from wacloud.gateway._history_schema import contact_column, one_row_per_job

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_EXISTS = "SELECT 1 FROM wacloud_gw_messages"
_STATUS_RANK = {"queued": 0, "accepted": 0, "sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 5}
_INSERT = (
    "INSERT INTO wacloud_gw_messages (wa_id, direction, type, wamid, job_id, status, summary, ts, body, name, contact) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_RANK_SQL = (
    "CASE COALESCE(status, '') " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in _STATUS_RANK.items()) + " ELSE -1 END"
)


# The unique index on job_id keeps one row per job (two API requests racing on one Idempotency-Key,
# a campaign re-run); a row a status webhook made first gets the content.
_INSERT_QUEUED = f"{_INSERT} ON CONFLICT DO NOTHING"
_FILL_QUEUED = "UPDATE wacloud_gw_messages SET type = ?, summary = ?, body = ? WHERE job_id = ? AND body IS NULL"


_Row = tuple[Any, ...]


def _queued_rows(
    items: Sequence[tuple[str, str, dict[str, Any]]], contacts: dict[str, str] | None = None
) -> tuple[list[_Row], list[_Row]]:
    """The log rows (and content fills) for queued messages (wa_id, job_id, body); ``contacts`` maps an
    address to its person's contact id (the address itself stands for a customer not yet known)."""
    now = time.time()
    rows: list[_Row] = []
    fills: list[_Row] = []
    for wa_id, job_id, body in items:
        kind, text = summarize(body)
        kind, text, dumped = storable(kind), storable(text), json.dumps(body)
        contact = storable((contacts or {}).get(wa_id, wa_id))
        rows.append((storable(wa_id), "out", kind, None, job_id, "queued", text, now, dumped, None, contact))
        fills.append((kind, text, dumped, job_id))
    return rows, fills


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """A status webhook as the log records it (see :meth:`History.record_status`)."""

    wa_id: str
    wamid: str
    status: str
    job_id: str | None = None
    ts: float | None = None
    #: The body that went out as ``wamid`` when it differs from the one queued (a fallback template).
    sent: dict[str, Any] | None = None
    #: Its ``message.status`` event.
    event: NewEvent | None = None


def _rows_in(tx: Transaction, select: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """``select`` (ending in a column name) ``IN`` ``values``, 500 at a time (SQLite's parameter cap)."""
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(values), 500):
        part = values[start:start + 500]
        out.extend(tx.rows(f"{select} IN ({', '.join('?' * len(part))})", part))
    return out


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    """One line of a conversation."""

    id: int
    wa_id: str
    direction: str  # "in" or "out"
    type: str
    wamid: str | None
    job_id: str | None
    status: str | None
    summary: str
    ts: float
    body: dict[str, Any] | None
    #: The person (their contact id), whichever of their ids the message went to or came from.
    contact_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "wa_id": self.wa_id,
            "contact_id": self.contact_id,
            "direction": self.direction,
            "type": self.type,
            "wamid": self.wamid,
            "job_id": self.job_id,
            "status": self.status,
            "summary": self.summary,
            "ts": self.ts,
            "body": self.body,
        }


def summarize(body: dict[str, Any]) -> tuple[str, str]:
    """The type and a one-line human summary of a Graph message body (incoming or outgoing)."""
    kind = str(body.get("type") or "unknown")
    content = body.get(kind)
    text = ""
    if isinstance(content, dict):
        if kind == "text":
            text = str(content.get("body", ""))
        elif kind == "template":
            text = f"template {content.get('name', '?')}"
        elif kind == "interactive":
            reply = content.get("button_reply") or content.get("list_reply")
            if isinstance(reply, dict):
                text = str(reply.get("title", ""))
            else:
                inner = content.get("body")
                text = str(inner.get("text", "")) if isinstance(inner, dict) else str(content.get("type", ""))
        elif kind == "button":
            text = str(content.get("text", ""))
        elif kind == "reaction":
            text = str(content.get("emoji", ""))
        else:
            text = str(content.get("caption") or content.get("filename") or content.get("name") or "")
    return kind, text[:200]


def _row(row: tuple[Any, ...]) -> LoggedMessage:
    id_, wa_id, direction, kind, wamid, job_id, status, summary, ts, body, contact = row
    return LoggedMessage(
        id=int(id_),
        wa_id=wa_id,
        direction=direction,
        type=kind,
        wamid=wamid,
        job_id=job_id,
        status=status,
        summary=summary,
        ts=float(ts),
        body=json.loads(body) if body else None,
        contact_id=contact if contact and contact != wa_id else None,
    )


def storable(text: str) -> str:
    """Text as the log can store it: NUL (PostgreSQL refuses it) and lone surrogates (UTF-8 cannot hold
    them) replaced by U+FFFD. Inbound webhooks are what they are; the log must not fail on them."""
    return _UNSTORABLE.sub("\ufffd", text)


def _storable_records(records: Sequence[StatusRecord]) -> list[StatusRecord]:
    """The records with their text :func:`storable` (copied only when it changes: most never do)."""
    return [r if not _UNSTORABLE.search(r.wa_id + r.wamid + r.status)
            else dataclasses.replace(r, wa_id=storable(r.wa_id), wamid=storable(r.wamid), status=storable(r.status))
            for r in records]


class History:
    """The conversation log table, in the gateway database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Re-entrant: a batch (see batch()) holds it around the records it makes.
        self._lock = threading.RLock()
        self._known = threading.local()
        db.execute(f"""CREATE TABLE IF NOT EXISTS wacloud_gw_messages (
            id {db.serial}, wa_id TEXT NOT NULL, direction TEXT NOT NULL, type TEXT NOT NULL,
            wamid TEXT, job_id TEXT, status TEXT, summary TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL,
            body TEXT, name TEXT, contact TEXT)""")
        db.execute("CREATE INDEX IF NOT EXISTS wacloud_gw_messages_wa ON wacloud_gw_messages (wa_id, ts)")
        db.execute("CREATE UNIQUE INDEX IF NOT EXISTS wacloud_gw_messages_wamid ON wacloud_gw_messages (wamid)")
        one_row_per_job(db)
        contact_column(db)
        #: An address (phone number or BSUID) → its person's contact id, when known (the gateway sets it
        #: to the outbox's lookup); without it each address is its own conversation.
        self.resolve: Callable[[str], str | None] | None = None

    def unlogged(self, statuses: Sequence[tuple[str, str | None]]) -> set[str]:
        """Which of these (wamid, job id) the log has no row for, by wamid or by job: their statuses make
        new rows (keyed by the customer's contact)."""
        wamids = sorted({storable(w) for w, _ in statuses})
        jobs = sorted({j for _, j in statuses if j is not None})

        def read(tx: Transaction) -> set[str]:
            seen = {str(r[0]) for r in _rows_in(tx, "SELECT wamid FROM wacloud_gw_messages WHERE wamid", wamids)}
            seen_jobs = {str(r[0]) for r in _rows_in(tx, "SELECT job_id FROM wacloud_gw_messages WHERE job_id", jobs)}
            return {w for w, j in statuses if storable(w) not in seen and (j is None or j not in seen_jobs)}

        return self.db.read(read)

    @contextlib.contextmanager
    def batch(self, contacts: Mapping[str, str | None] | None = None) -> Iterator[None]:
        """Records made by this thread inside the block go in one transaction (see ``Database.batch``).

        ``contacts`` (address -> contact id) answers the conversation key of those addresses without
        calling ``resolve``: a lookup in another store while this one's write lock is held could wait
        on a writer that waits on us.
        """
        with self._lock, self.db.batch():
            self._known.contacts = contacts or {}
            try:
                yield
            finally:
                self._known.contacts = None

    def _contact(self, wa_id: str) -> str:
        """The conversation key of an address: its contact id, else the address itself."""
        known: Mapping[str, str | None] | None = getattr(self._known, "contacts", None)
        if known is not None:
            return known.get(wa_id) or wa_id
        if self.resolve is not None:
            try:
                found = self.resolve(wa_id)
            except Exception:  # the log must not fail on a lookup: the address keys the row instead
                found = None
            if found:
                return found
        return wa_id

    def record_inbound(
        self,
        wa_id: str,
        wamid: str | None,
        body: dict[str, Any],
        *,
        name: str | None = None,
        ts: float | None = None,
        event: NewEvent | None = None,
    ) -> None:
        """Log a customer's message (a duplicate wamid is ignored); ``event`` (its ``message.received``) is
        appended in the same transaction, only when the message is new."""
        kind, text = summarize(body)
        self._insert(wa_id, "in", kind, None if wamid is None else storable(wamid), None, None, text, ts, body, name,
                     event=event)

    def record_outbound(self, wa_id: str, job_id: str, body: dict[str, Any]) -> None:
        """Log a message the API queued (its wamid arrives later); once per job, however often called."""
        self.record_outbound_many([(wa_id, job_id, body)])

    def record_sent(self, wa_id: str, wamid: str, body: dict[str, Any]) -> None:
        """Log a message sent outside the outbox (a bot's reply), with its wamid and what it said."""
        kind, text = summarize(body)
        with self._lock:
            self._insert(wa_id, "out", kind, storable(wamid), None, "accepted", text, None, body, None)
            # A status webhook may have beaten the send's answer and logged the wamid with no content.
            self.db.execute(
                "UPDATE wacloud_gw_messages SET type = ?, summary = ?, body = ? WHERE wamid = ? AND body IS NULL",
                (storable(kind), storable(text), json.dumps(body), storable(wamid)),
            )

    def record_outbound_many(self, items: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Log many queued messages (wa_id, job_id, body) at once (a campaign)."""
        rows, fills = _queued_rows(items, {wa_id: self._contact(wa_id) for wa_id in {i[0] for i in items}})
        self.db.executemany(_INSERT_QUEUED, rows)
        self.db.executemany(_FILL_QUEUED, fills)

    def log_queued(self, tx: Transaction, stored: Sequence[tuple[NewJob, str, bool]]) -> None:
        """A :data:`~wacloud.delivery.store.StoredHook`: log newly queued jobs in the outbox's own transaction.

        Passed as ``on_stored`` to ``Outbox.enqueue``/``broadcast``, the log row and its job commit
        together (same database): neither exists without the other.
        """
        new = [(job, job_id) for job, job_id, created in stored if created]
        contacts: dict[str, str] = {}
        for pid in sorted({job.phone_number_id for job, _ in new}):
            contacts.update(contact_ids(tx, pid, sorted({job.to for job, _ in new if job.phone_number_id == pid})))
        rows, fills = _queued_rows([(job.to, job_id, dict(job.body)) for job, job_id in new], contacts)
        if rows:
            tx.many(_INSERT_QUEUED, rows)
            tx.many(_FILL_QUEUED, fills)

    def record_status(
        self,
        wa_id: str,
        wamid: str,
        status: str,
        *,
        job_id: str | None = None,
        ts: float | None = None,
        sent: dict[str, Any] | None = None,
        event: NewEvent | None = None,
    ) -> None:
        """Apply a status webhook: update the message (never backwards) or log an unseen outbound one.

        ``sent``: the body that actually went out as ``wamid`` when it differs from the one queued (the
        job's fallback template); the logged message then shows it. ``event`` (its ``message.status``) is
        appended in the transaction that records the status.
        """
        # Webhooks for one wamid arrive concurrently (Meta, and the sandbox, post in parallel): one writer
        # per process, and a retry for the cross-process race on the unique wamid index.
        wa_id, wamid, status = storable(wa_id), storable(wamid), storable(status)
        with self._lock:
            for attempt in (1, 2):
                try:
                    self._record_status(wa_id, wamid, status, job_id=job_id, ts=ts, event=event)
                    break
                except Exception as exc:
                    if attempt == 2 or "unique" not in str(exc).lower():
                        raise
            if sent is not None:
                kind, text = summarize(sent)
                self.db.execute(
                    "UPDATE wacloud_gw_messages SET type = ?, summary = ?, body = ? "
                    "WHERE wamid = ? AND direction = 'out'",
                    (kind, text, json.dumps(sent), wamid),
                )

    def record_statuses(self, records: Sequence[StatusRecord]) -> None:
        """:meth:`record_status` for each record, in order, in one transaction with a statement per step
        (attach the API's rows, log the unseen, move forward, append the events), not ~5 per status."""
        recs = _storable_records(records)
        if recs:
            with self._lock:
                self.db.run(lambda tx: self._statuses(tx, recs))

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """This process's other log writers wait for the block (:meth:`record_statuses_in` runs inside it)."""
        with self._lock:
            yield

    def record_statuses_in(self, tx: Transaction, records: Sequence[StatusRecord]) -> None:
        """:meth:`record_statuses` in the caller's open transaction of this database (the outbox's, which
        applied the statuses): the log's rows commit, or roll back, with the jobs' changes. An unseen
        message's row is keyed by ``resolve``, which must then read in that same transaction (the outbox's
        store joins its open batch); the caller holds :meth:`writing`."""
        recs = _storable_records(records)
        if recs:
            self._statuses(tx, recs)

    def _statuses(self, tx: Transaction, recs: list[StatusRecord]) -> None:
        by_wamid: dict[str, list[tuple[int, str | None]]] = {}
        for row_id, status, wamid in _rows_in(tx, "SELECT id, status, wamid FROM wacloud_gw_messages WHERE wamid",
                                               sorted({r.wamid for r in recs})):
            by_wamid.setdefault(str(wamid), []).append((int(row_id), status))
        own: dict[str, tuple[int, str | None]] = {}  # the API's rows still waiting for their wamid
        logged_jobs: set[str] = set()
        for row_id, status, job_id, wamid in _rows_in(
                tx, "SELECT id, status, job_id, wamid FROM wacloud_gw_messages WHERE job_id",
                sorted({r.job_id for r in recs if r.job_id is not None})):
            logged_jobs.add(str(job_id))
            if wamid is None:
                own[str(job_id)] = (int(row_id), status)
        deletes: list[tuple[Any, ...]] = []
        attaches: list[tuple[Any, ...]] = []
        inserts: list[tuple[Any, ...]] = []
        events: list[NewEvent] = []
        for r in recs:
            if r.job_id is not None and r.job_id in own:
                # As _attach: the API's row takes the wamid, folding in rows a status made for it first.
                row_id, status = own.pop(r.job_id)
                for stray_id, stray_status in by_wamid.get(r.wamid, []):
                    if _STATUS_RANK.get(stray_status or "", -1) > _STATUS_RANK.get(status or "", -1):
                        status = stray_status
                    deletes.append((stray_id,))
                attaches.append((r.wamid, status, row_id))
                by_wamid[r.wamid] = [(row_id, status)]
            if r.wamid not in by_wamid:
                # A message the log has not seen (a bot's direct send); beside its job's row on a resend.
                job_id = None if r.job_id in logged_jobs else r.job_id
                ts = r.ts if r.ts is not None else time.time()
                inserts.append((r.wa_id, "out", "unknown", r.wamid, job_id, r.status, "", ts, None, None,
                                storable(self._contact(r.wa_id))))
                by_wamid[r.wamid] = [(0, r.status)]
                logged_jobs.update([job_id] if job_id is not None else [])
            if r.event is not None:
                events.append(r.event)
        for sql, rows in (("DELETE FROM wacloud_gw_messages WHERE id = ?", deletes),
                          ("UPDATE wacloud_gw_messages SET wamid = ?, status = ? WHERE id = ?", attaches),
                          (f"{_INSERT} ON CONFLICT DO NOTHING", inserts)):
            if rows:
                tx.many(sql, rows)
        # Forward only, decided inside the UPDATE (a row just inserted with its status stays as it is).
        tx.many(f"UPDATE wacloud_gw_messages SET status = ? WHERE wamid = ? AND {_RANK_SQL} < ?",
                [(r.status, r.wamid, _STATUS_RANK.get(r.status, -1)) for r in recs])
        fills = [(*summarize(r.sent), json.dumps(r.sent), r.wamid) for r in recs if r.sent is not None]
        if fills:
            tx.many("UPDATE wacloud_gw_messages SET type = ?, summary = ?, body = ? "
                    "WHERE wamid = ? AND direction = 'out'", fills)
        append(tx, events)

    def _record_status(self, wa_id: str, wamid: str, status: str, *, job_id: str | None, ts: float | None,
                       event: NewEvent | None = None) -> None:
        if job_id is not None:
            self._attach(job_id, wamid)
        if not self.db.execute(f"{_EXISTS} WHERE wamid = ?", (wamid,)):
            if job_id is not None and self.has_job(job_id):
                job_id = None  # the job's row holds another wamid (a resend): log this one beside it
            self._insert(wa_id, "out", "unknown", wamid, job_id, status, "", ts, None, None, event=event,
                         event_if_new_only=False)
            return

        def forward(tx: Transaction) -> None:
            # Forward only, decided inside the UPDATE so a concurrent writer cannot move it back.
            tx.run(f"UPDATE wacloud_gw_messages SET status = ? WHERE wamid = ? AND {_RANK_SQL} < ?",
                   (status, wamid, _STATUS_RANK.get(status, -1)))
            if event is not None:
                append(tx, [event])

        self.db.run(forward)

    def _attach(self, job_id: str, wamid: str) -> None:
        """Give the API's row for ``job_id`` its wamid, folding in a row an earlier status made for it."""
        own = self.db.execute(
            "SELECT id, status FROM wacloud_gw_messages WHERE job_id = ? AND wamid IS NULL", (job_id,)
        )
        if not own:
            return
        # A status may have been logged before the API's row existed (a campaign's first sends race
        # its logging), with or without the job id: fold every such row into the API's one.
        stray = self.db.execute(
            "SELECT id, status FROM wacloud_gw_messages WHERE wamid = ? AND id <> ?", (wamid, own[0][0])
        )
        status = own[0][1]
        for row_id, stray_status in stray:
            # A status webhook overtook the outbox's record of the send: keep the furthest status.
            if _STATUS_RANK.get(stray_status or "", -1) > _STATUS_RANK.get(status or "", -1):
                status = stray_status
            self.db.execute("DELETE FROM wacloud_gw_messages WHERE id = ?", (row_id,))
        self.db.execute("UPDATE wacloud_gw_messages SET wamid = ?, status = ? WHERE id = ?", (wamid, status, own[0][0]))

    def _insert(
        self,
        wa_id: str,
        direction: str,
        kind: str,
        wamid: str | None,
        job_id: str | None,
        status: str | None,
        text: str,
        ts: float | None,
        body: dict[str, Any] | None,
        name: str | None,
        *,
        event: NewEvent | None = None,
        event_if_new_only: bool = True,
    ) -> None:
        if event is None and wamid is not None and self.db.execute(f"{_EXISTS} WHERE wamid = ?", (wamid,)):
            return
        # Webhook content is stored as it came, but text the database cannot hold is replaced
        # (json.dumps escapes it in ``body``), so one odd message never blocks its payload.
        row = (
            storable(wa_id),
            direction,
            storable(kind),
            None if wamid is None else storable(wamid),
            job_id,
            status,
            storable(text),
            ts if ts is not None else time.time(),
            json.dumps(body) if body is not None else None,
            None if name is None else storable(name),
            storable(self._contact(wa_id)),
        )

        def insert(tx: Transaction) -> None:
            # Two processes logging the same wamid at once: the unique index keeps one, which is right.
            new = not (wamid is not None and tx.rows(f"{_EXISTS} WHERE wamid = ?", (row[3],)))
            if new:
                new = bool(tx.rows(f"{_INSERT} ON CONFLICT DO NOTHING RETURNING id", row))
            if event is not None and (new or not event_if_new_only):
                append(tx, [event])

        self.db.run(insert)

    def record_app_message(
        self, wa_id: str, wamid: str, body: dict[str, Any], *, direction: str, ts: float, status: str | None = None
    ) -> None:
        """Log a message the gateway did not see pass (coexistence: imported history, the Business app's
        echoes) at its own time; a wamid already logged is left as it is."""
        kind, text = summarize(body)
        self._insert(wa_id, direction, kind, storable(wamid), None, status, text, ts, body, None)

    def amend_message(self, wamid: str, change: Callable[[dict[str, Any] | None], dict[str, Any]], status: str) -> bool:
        """Rewrite a logged message's content (an ``edit`` or ``revoke``): ``change`` maps its body to the new
        one; False when ``wamid`` is not in the log."""
        with self._lock:
            rows = self.db.execute("SELECT body FROM wacloud_gw_messages WHERE wamid = ?", (storable(wamid),))
            if not rows:
                return False
            body = change(json.loads(rows[0][0]) if rows[0][0] else None)
            kind, text = summarize(body)
            self.db.execute(
                "UPDATE wacloud_gw_messages SET type = ?, summary = ?, body = ?, status = ? WHERE wamid = ?",
                (storable(kind), storable(text), json.dumps(body), status, storable(wamid)),
            )
            return True

    def has_job(self, job_id: str) -> bool:
        """True when the API already logged this outbox job (an idempotent re-send)."""
        return bool(self.db.execute(f"{_EXISTS} WHERE job_id = ?", (job_id,)))

    def job_for_wamid(self, wamid: str) -> str | None:
        """The outbox job that sent ``wamid``, when the API queued it."""
        rows = self.db.execute(
            "SELECT job_id FROM wacloud_gw_messages WHERE wamid = ? AND job_id IS NOT NULL", (wamid,)
        )
        return str(rows[0][0]) if rows else None

    def messages(
        self, wa_id: str, *, limit: int = 100, before: float | None = None, ids: Sequence[str] = ()
    ) -> list[LoggedMessage]:
        """A customer's messages, oldest first (the last ``limit`` before ``before``).

        ``ids``: every id of the person (their contact id, phone number, BSUIDs): the conversation is the
        person's, whichever id each message used.
        """
        keys = sorted({wa_id, *ids})
        marks = ", ".join("?" * len(keys))
        rows = self.db.execute(
            "SELECT id, wa_id, direction, type, wamid, job_id, status, summary, ts, body, contact "
            f"FROM wacloud_gw_messages WHERE (wa_id IN ({marks}) OR contact IN ({marks})) AND ts < ? "
            "ORDER BY ts DESC, id DESC LIMIT ?",
            (*keys, *keys, before if before is not None else 1e18, limit),
        )
        return [_row(row) for row in reversed(rows)]

    def conversations(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """One row per customer, most recent first: wa_id, name, counts, last message and times."""
        # One conversation per person: rows are grouped by contact (the address for unknown customers);
        # the phone number (digits sort first) stands for the person when they have one.
        rows = self.db.execute(
            "SELECT MIN(wa_id), COUNT(*), SUM(CASE WHEN direction = 'in' THEN 1 ELSE 0 END), MAX(ts), "
            "MAX(CASE WHEN direction = 'in' THEN ts END), MAX(name), COALESCE(contact, wa_id) "
            "FROM wacloud_gw_messages GROUP BY COALESCE(contact, wa_id) ORDER BY MAX(ts) DESC LIMIT ?",
            (limit,),
        )
        out = []
        for wa_id, total, inbound, last_ts, last_in, name, contact in rows:
            last = self.messages(wa_id, limit=1, ids=[contact])
            out.append(
                {
                    "wa_id": wa_id,
                    "contact_id": contact if contact != wa_id else None,
                    "name": name,
                    "messages": int(total),
                    "inbound": int(inbound or 0),
                    "last_message_at": last_ts,
                    "last_inbound_at": last_in,
                    "last_message": last[0].summary if last else "",
                }
            )
        return out
