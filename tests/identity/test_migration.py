"""Migration 7 carries an existing single-number (version 6) database over to contacts as people."""

from __future__ import annotations

import re
import time

from wacloud.delivery import JobState, open_store
from wacloud.delivery._sql_schema import LATEST_VERSION
from wacloud.delivery.sql import MIGRATIONS

P = "1234567890"


def test_a_version_6_database_is_carried_over(store_url: str) -> None:
    s = open_store(store_url)
    now = time.time()
    with s._tx() as tx:  # type: ignore[attr-defined]
        # Rebuild the store exactly as version 6 left it.
        # Every table any migration creates (later ones included), then the first six again.
        created = {t for _, statements in MIGRATIONS for st in statements
                   for t in re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", st)}
        for table in sorted(created | {"schema_version"}):
            tx.run(f"DROP TABLE IF EXISTS {table}")
        tx.run("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, statements in MIGRATIONS:
            if version > 6:
                break
            for statement in statements:
                tx.run(statement.format(**s.TYPES))  # type: ignore[attr-defined]
            tx.run("INSERT INTO schema_version (version) VALUES (?)", (version,))
        tx.run("INSERT INTO contacts (phone_number_id, wa_id, last_inbound, marketing_opt_out, preference_at) "
               "VALUES (?, '15550001111', ?, 1, ?)", (P, now - 60, now - 30))
        tx.run("INSERT INTO contacts (phone_number_id, wa_id, last_inbound) VALUES (?, '15550002222', ?)",
               (P, now - 7200))
        # A queued job to a customer never heard from, whose pair bucket is already in use.
        tx.run("INSERT INTO jobs (phone_number_id, recipient, state, body, is_template, not_before, created_at, "
               "updated_at) VALUES (?, '15550003333', 'queued', ?, 0, 0, ?, ?)",
               (P, '{"messaging_product": "whatsapp", "to": "15550003333", "type": "text", "text": {"body": "x"}}',
                now, now))
        tx.run("INSERT INTO pair_buckets (phone_number_id, recipient, tat) VALUES (?, '15550003333', ?)",
               (P, now + 1000))
    s.close()

    upgraded = open_store(store_url)
    try:
        with upgraded._tx() as tx:  # type: ignore[attr-defined]
            assert tx.rows("SELECT max(version) FROM schema_version")[0][0] == LATEST_VERSION
            buckets = tx.rows("SELECT recipient, tat FROM pair_buckets")
        first = upgraded.find_contact(P, "15550001111")
        assert first is not None and first.marketing_opt_out
        assert first.last_inbound is not None and abs(first.last_inbound - (now - 60)) < 1e-3
        assert first.ids is not None and first.ids.wa_id == "15550001111" and first.contact_id
        second = upgraded.find_contact(P, "15550002222")
        assert second is not None and not second.marketing_opt_out and second.contact_id != first.contact_id
        # The queued job's customer is a contact, and its pair bucket now hangs on that contact.
        third = upgraded.find_contact(P, "15550003333")
        assert third is not None and third.last_inbound is None
        assert [(r, float(t)) for r, t in buckets if r == third.contact_id] == [(third.contact_id, now + 1000)]
        # The worker's lookups by address still answer, and the carried-over pair bucket still holds the job.
        seen = upgraded.contacts(P, ["15550001111", "15550002222"])
        assert seen["15550001111"].marketing_opt_out and seen["15550002222"].last_inbound is not None
        assert upgraded.claim(P, 10, now, lease_s=30, worker="w", pair_interval_s=6.0, pair_burst=1) == []
        (job,) = upgraded.find(phone_number_id=P)
        assert job.state is JobState.QUEUED and job.to == "15550003333"
        # A new inbound by BSUID linked to the old phone number lands on the carried-over record.
        from wacloud.identity import CustomerIds

        assert upgraded.learn_contact(P, CustomerIds(wa_id="15550001111", bsuid="US.42"), now) == first.contact_id
    finally:
        upgraded.close()
