"""The outbox's schema: every migration, in order (applied by :meth:`SqlBase.migrate`)."""

from __future__ import annotations

import wacloud.delivery.recovery as recovery
import wacloud.events.log as event_log

# --- schema ----------------------------------------------------------------------------------------
# {ID} {REAL} {BLOB} are filled per dialect. Each migration is applied once, in order, in one
# transaction, and recorded in schema_version; never edit a released one, add the next. A statement
# starting with {SQLITE_ONLY} is one dialect's own: the others fill it in as a comment and skip it.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (
        """CREATE TABLE jobs (
            id {ID},
            phone_number_id TEXT NOT NULL,
            recipient TEXT NOT NULL,
            state TEXT NOT NULL,
            body TEXT NOT NULL,
            is_template INTEGER NOT NULL,
            idem_key TEXT UNIQUE,
            category TEXT,
            fallback TEXT,
            campaign TEXT,
            not_before {REAL} NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            failures INTEGER NOT NULL DEFAULT 0,
            throttles INTEGER NOT NULL DEFAULT 0,
            pair_retries INTEGER NOT NULL DEFAULT 0,
            used_fallback INTEGER NOT NULL DEFAULT 0,
            wamid TEXT,
            error_code INTEGER,
            error_title TEXT,
            error_details TEXT,
            fbtrace_id TEXT,
            lease_until {REAL},
            worker TEXT,
            created_at {REAL} NOT NULL,
            updated_at {REAL} NOT NULL,
            accepted_at {REAL},
            sent_at {REAL},
            delivered_at {REAL},
            read_at {REAL},
            finished_at {REAL}
        )""",
        # The claim query reads this partial index only: its cost does not grow with the backlog
        # of finished jobs, nor with queued jobs further in the future.
        "CREATE INDEX jobs_ready ON jobs (phone_number_id, not_before, id) WHERE state = 'queued'",
        "CREATE INDEX jobs_leased ON jobs (phone_number_id, lease_until) "
        "WHERE state IN ('claimed', 'sending')",
        "CREATE UNIQUE INDEX jobs_wamid ON jobs (wamid) WHERE wamid IS NOT NULL",
        "CREATE INDEX jobs_campaign ON jobs (campaign, state) WHERE campaign IS NOT NULL",
        "CREATE INDEX jobs_recipient ON jobs (recipient, id)",
        """CREATE TABLE rate_buckets (
            phone_number_id TEXT PRIMARY KEY,
            tat {REAL},
            paused_until {REAL},
            pause_reason TEXT
        )""",
        """CREATE TABLE pair_buckets (
            phone_number_id TEXT NOT NULL,
            recipient TEXT NOT NULL,
            tat {REAL} NOT NULL,
            PRIMARY KEY (phone_number_id, recipient)
        )""",
        """CREATE TABLE contacts (
            phone_number_id TEXT NOT NULL,
            wa_id TEXT NOT NULL,
            last_inbound {REAL},
            marketing_opt_out INTEGER NOT NULL DEFAULT 0,
            preference_at {REAL},
            PRIMARY KEY (phone_number_id, wa_id)
        )""",
        """CREATE TABLE early_statuses (
            wamid TEXT NOT NULL,
            status TEXT NOT NULL,
            ts {REAL},
            error_code INTEGER,
            error_title TEXT,
            error_details TEXT,
            received_at {REAL} NOT NULL,
            PRIMARY KEY (wamid, status)
        )""",
        "CREATE TABLE webhook_dedup (key TEXT PRIMARY KEY, seen_at {REAL} NOT NULL)",
        """CREATE TABLE webhook_inbox (
            id {ID},
            raw {BLOB} NOT NULL,
            headers TEXT NOT NULL,
            received_at {REAL} NOT NULL
        )""",
    )),
    # 2: pruning old dedup keys and unclaimed early statuses without a full scan.
    (2, (
        "CREATE INDEX webhook_dedup_seen ON webhook_dedup (seen_at)",
        "CREATE INDEX early_statuses_received ON early_statuses (received_at)",
    )),
    # 3: webhook payloads leased to one receiver at a time, retried with a delay, or set aside.
    (3, (
        "ALTER TABLE webhook_inbox ADD COLUMN lease_until {REAL}",
        "ALTER TABLE webhook_inbox ADD COLUMN failures INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE webhook_inbox ADD COLUMN last_error TEXT",
        "ALTER TABLE webhook_inbox ADD COLUMN dead_at {REAL}",
    )),
    # 4: a priority lane, so a one-off message (an OTP) does not wait behind a campaign. Its own
    # small partial index keeps both claim queries on an index.
    (4, (
        "ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX jobs_ready_first ON jobs (phone_number_id, not_before, id) "
        "WHERE state = 'queued' AND priority > 0",
    )),
    recovery.MIGRATION,  # 5: which jobs were taken back from lost workers
    # 6: each job's history, append-only, written with every change; rebuilt for existing jobs from
    # their timestamps (in life order: the ids keep it).
    (6, (
        """CREATE TABLE job_events (
            id {ID},
            job_id BIGINT NOT NULL,
            state TEXT NOT NULL,
            at {REAL} NOT NULL,
            code INTEGER,
            detail TEXT,
            attempt INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX job_events_job ON job_events (job_id, id)",
        "INSERT INTO job_events (job_id, state, at, attempt) SELECT id, 'queued', created_at, 0 FROM jobs ORDER BY id",
        "INSERT INTO job_events (job_id, state, at, code, detail, attempt) "
        "SELECT id, 'fallback', COALESCE(accepted_at, updated_at), 131047, "
        "'window closed → sent fallback template ' || COALESCE({FALLBACK_NAME}, 'unnamed'), attempts "
        "FROM jobs WHERE used_fallback = 1 ORDER BY id",
        *(f"INSERT INTO job_events (job_id, state, at, attempt) SELECT id, '{state}', {state}_at, attempts "
          f"FROM jobs WHERE {state}_at IS NOT NULL ORDER BY id"
          for state in ("accepted", "sent", "delivered", "read")),
        "INSERT INTO job_events (job_id, state, at, code, detail, attempt) "
        "SELECT id, state, finished_at, error_code, COALESCE(error_details, error_title), attempts FROM jobs "
        "WHERE state IN ('failed', 'dead', 'uncertain') AND finished_at IS NOT NULL ORDER BY id",
    )),
    # 7: a person, not a phone number. One ``contacts`` row per customer per business number, with a
    # stable ``contact_id``; ``contact_ids`` maps each id the customer is known by (phone ``wa_id``,
    # ``bsuid``, ``parent_bsuid``, ``username``) to it. Existing contacts (one per phone number) are
    # carried over with an id derived from their old key; pair buckets and every queued recipient's
    # phone number get one too, so pacing and windows continue where they were.
    (7, (
        # Copied, not renamed: PostgreSQL keeps a renamed table's index names (contacts_pkey).
        "CREATE TABLE contacts_v6 AS SELECT * FROM contacts",
        "DROP TABLE contacts",
        """CREATE TABLE contacts (
            contact_id TEXT PRIMARY KEY,
            phone_number_id TEXT NOT NULL,
            last_inbound {REAL},
            marketing_opt_out INTEGER NOT NULL DEFAULT 0,
            preference_at {REAL},
            created_at {REAL} NOT NULL,
            merged_into TEXT
        )""",
        """CREATE TABLE contact_ids (
            phone_number_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            seen_at {REAL} NOT NULL,
            PRIMARY KEY (phone_number_id, kind, value)
        )""",
        "CREATE INDEX contact_ids_contact ON contact_ids (contact_id)",
        "CREATE INDEX contact_ids_value ON contact_ids (phone_number_id, value)",
        "INSERT INTO contacts (contact_id, phone_number_id, last_inbound, marketing_opt_out, preference_at, "
        "created_at) SELECT 'ct_' || phone_number_id || '_' || wa_id, phone_number_id, last_inbound, "
        "marketing_opt_out, preference_at, COALESCE(last_inbound, preference_at, 0) FROM contacts_v6",
        # Customers written to but never heard from (queued or paced jobs) become contacts too.
        "INSERT INTO contacts (contact_id, phone_number_id, created_at) "
        "SELECT DISTINCT 'ct_' || phone_number_id || '_' || recipient, phone_number_id, 0 FROM ("
        "SELECT phone_number_id, recipient FROM jobs UNION SELECT phone_number_id, recipient FROM pair_buckets"
        ") known WHERE NOT EXISTS (SELECT 1 FROM contacts c "
        "WHERE c.contact_id = 'ct_' || known.phone_number_id || '_' || known.recipient)",
        "INSERT INTO contact_ids (phone_number_id, kind, value, contact_id, seen_at) "
        "SELECT phone_number_id, 'wa_id', substr(contact_id, length(phone_number_id) + 5), contact_id, created_at "
        "FROM contacts",
        "UPDATE pair_buckets SET recipient = 'ct_' || phone_number_id || '_' || recipient",
        "DROP TABLE contacts_v6",
    )),
    event_log.MIGRATION,  # 8: the event log (wacloud.events.log), written with every change it reports
    # 9: the outputs' cursors (a relay resumes where its broker last confirmed) and incoming media kept
    # (a durable download queue, worked off the webhook path). Tables of wacloud.delivery._sql_outputs.
    (9, (
        """CREATE TABLE event_output_cursors (
            name TEXT PRIMARY KEY,
            position BIGINT NOT NULL,
            updated_at {REAL} NOT NULL
        )""",
        """CREATE TABLE kept_media (
            media_id TEXT PRIMARY KEY,
            wamid TEXT NOT NULL,
            phone_number_id TEXT NOT NULL,
            sender TEXT NOT NULL,
            kind TEXT NOT NULL,
            mime_type TEXT,
            sha256 TEXT,
            filename TEXT,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at {REAL} NOT NULL,
            location TEXT,
            size BIGINT,
            last_error TEXT,
            created_at {REAL} NOT NULL,
            updated_at {REAL} NOT NULL
        )""",
        "CREATE INDEX kept_media_due ON kept_media (next_at) WHERE state = 'pending'",
        "CREATE INDEX kept_media_wamid ON kept_media (wamid)",
    )),
    # 10: limits and cost. A job the limits would refuse is ``held`` with a reason, a key (template,
    # campaign, portfolio) and when to look again; what each status said it cost; the portfolio's
    # unique out-of-window reach (rolling 24 h, shared by every process on the store); limit states
    # learnt from the Graph API and webhooks; campaigns with their budget, pause and schedule.
    (10, (
        "ALTER TABLE jobs ADD COLUMN hold_reason TEXT",
        "ALTER TABLE jobs ADD COLUMN hold_key TEXT",
        "ALTER TABLE jobs ADD COLUMN hold_until {REAL}",
        "ALTER TABLE jobs ADD COLUMN est_price {REAL}",
        "ALTER TABLE jobs ADD COLUMN cost {REAL}",
        "ALTER TABLE jobs ADD COLUMN pricing TEXT",
        "CREATE INDEX jobs_held ON jobs (phone_number_id, hold_until) WHERE state = 'held'",
        """CREATE TABLE portfolio_reach (
            portfolio TEXT NOT NULL,
            wa_id TEXT NOT NULL,
            at {REAL} NOT NULL,
            PRIMARY KEY (portfolio, wa_id)
        )""",
        "CREATE INDEX portfolio_reach_at ON portfolio_reach (portfolio, at)",
        """CREATE TABLE limit_state (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT,
            until {REAL},
            updated_at {REAL} NOT NULL,
            PRIMARY KEY (scope, key)
        )""",
        """CREATE TABLE campaigns (
            id TEXT PRIMARY KEY,
            phone_number_id TEXT NOT NULL,
            state TEXT NOT NULL,
            budget {REAL},
            api TEXT,
            options TEXT,
            start_at {REAL},
            created_at {REAL} NOT NULL,
            updated_at {REAL} NOT NULL
        )""",
    )),
    # 11: a customer's security identity (``customer_identity_changed``): its hash and when it changed, so
    # a redelivered notice is recognised and the change is written once, with its event.
    (11, (
        "ALTER TABLE contacts ADD COLUMN identity_hash TEXT",
        "ALTER TABLE contacts ADD COLUMN identity_at {REAL}",
    )),
    # 12: SQLite's dedup keys in one b-tree (WITHOUT ROWID, no age index): the request path writes two keys
    # a webhook, each a write to the table, its key index and its age index before; pruning sweeps the keys
    # in key order instead (InboxSql.prune). PostgreSQL keeps its table and age index ({SQLITE_ONLY}).
    (12, (
        "{SQLITE_ONLY}CREATE TABLE webhook_dedup_v12 (key TEXT PRIMARY KEY, seen_at {REAL} NOT NULL) WITHOUT ROWID",
        "{SQLITE_ONLY}INSERT INTO webhook_dedup_v12 (key, seen_at) SELECT key, seen_at FROM webhook_dedup",
        "{SQLITE_ONLY}DROP TABLE webhook_dedup",
        "{SQLITE_ONLY}ALTER TABLE webhook_dedup_v12 RENAME TO webhook_dedup",
    )),
    # 13: the pair-bucket TAT a claimed job's pair token allows at its send (burst included). A send
    # comes after its claim; if other sends to the recipient moved the bucket past this meanwhile, the
    # job is held back at ``mark_sending`` instead of going out inside the pair gap.
    (13, (
        "ALTER TABLE jobs ADD COLUMN pair_until {REAL}",
    )),
    # 14: an early status keeps its ``pricing`` and its recipient's number: a status that beat its send's
    # answer into the store had its price dropped (a campaign's cost came out short).
    (14, (
        "ALTER TABLE early_statuses ADD COLUMN pricing TEXT",
        "ALTER TABLE early_statuses ADD COLUMN wa_id TEXT",
    )),
)

LATEST_VERSION = MIGRATIONS[-1][0]
