"""The conversation log's schema steps for databases older versions made (run at each start, cheap once done)."""

from __future__ import annotations

from wacloud.gateway._db import Database

#: Among rows of one job, the one kept by the migration: the one with a wamid, else the first.
_DUPLICATE_JOB_ROWS = """DELETE FROM wacloud_gw_messages WHERE job_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM wacloud_gw_messages o WHERE o.job_id = wacloud_gw_messages.job_id
    AND o.id <> wacloud_gw_messages.id
    AND ((o.wamid IS NOT NULL AND wacloud_gw_messages.wamid IS NULL)
         OR ((o.wamid IS NULL) = (wacloud_gw_messages.wamid IS NULL) AND o.id < wacloud_gw_messages.id)))"""


def one_row_per_job(db: Database) -> None:
    """A unique index on ``job_id`` (one log row per outbox job), removing duplicates older versions left.

    Before it, concurrent requests with one Idempotency-Key could each log the job (check-then-insert).
    """
    probe = (
        "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?"
        if db.is_postgres
        else "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?"
    )
    if db.execute(probe, ("wacloud_gw_messages_job_once",)):
        return  # migrated already: no scan of the whole log at every start
    for attempt in (1, 2):
        try:
            db.execute(_DUPLICATE_JOB_ROWS)
            db.execute(
                "CREATE UNIQUE INDEX IF NOT EXISTS wacloud_gw_messages_job_once ON wacloud_gw_messages (job_id)"
            )
            break
        except Exception as exc:
            # An older process still running logged a duplicate between the two statements: once more.
            if attempt == 2 or ("unique" not in str(exc).lower() and "duplicate" not in str(exc).lower()):
                raise
    db.execute("DROP INDEX IF EXISTS wacloud_gw_messages_job")  # the old, non-unique index


def contact_column(db: Database) -> None:
    """The ``contact`` column (the person a message belongs to), carried over from ``wa_id`` for older rows."""
    probe = (
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'wacloud_gw_messages' AND column_name = 'contact'"
        if db.is_postgres
        else "SELECT 1 FROM pragma_table_info('wacloud_gw_messages') WHERE name = 'contact'"
    )
    if not db.execute(probe):
        try:
            db.execute("ALTER TABLE wacloud_gw_messages ADD COLUMN contact TEXT")
        except Exception as exc:
            # Another process added it first.
            if "duplicate" not in str(exc).lower() and "exists" not in str(exc).lower():
                raise
        db.execute("UPDATE wacloud_gw_messages SET contact = wa_id WHERE contact IS NULL")
    db.execute("CREATE INDEX IF NOT EXISTS wacloud_gw_messages_contact ON wacloud_gw_messages (contact, ts)")
