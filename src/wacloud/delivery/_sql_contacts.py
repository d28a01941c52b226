"""Contacts: one person per customer per business number, found by any id they are known by.

Since 2026 a customer may write by phone number one day and be known by a business-scoped user id
(BSUID), a parent BSUID or only a username the next. Each person gets one ``contacts`` row with a stable
``contact_id`` (their 24-hour window and marketing opt-out live there), and ``contact_ids`` maps every
id seen for them to it. Ids are learned from webhooks and send answers: ids seen together in one update
belong to one person, so two records that turn out to be one are merged (the later inbound message and
the later preference win, the pair-rate buckets fold into one).

The scope is the business number (``phone_number_id``), not the WABA: the window and the pair rate are
Meta's per number, and the outbox serves one number. (A BSUID is scoped to a business portfolio, so the
same BSUID seen on two numbers makes one contact per number, each with its own window.)

Phone numbers, BSUIDs and parent BSUIDs identify a person; a username does not (a user may drop it and
another take it): it is attached to whoever the other ids name, never a reason to merge two records.

A change of a person's ids (a number change, a new security identity, two records merged) is written as a
``contact.identity_changed`` event in the transaction that makes it (docs/events.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from wacloud.delivery._sql_base import SqlBase, Tx
from wacloud.delivery.model import ContactRecord
from wacloud.delivery.store import Transaction
from wacloud.errors import ValidationError
from wacloud.events.log import NewEvent, append
from wacloud.identity import CustomerIds, address_kind

#: The id kinds, in the order an answer lists them.
KINDS = ("wa_id", "bsuid", "parent_bsuid", "username")
#: The kinds that name one person (a username can pass to someone else).
STRONG = ("wa_id", "bsuid", "parent_bsuid")
#: Prefix of the gateway's own contact ids.
CONTACT_PREFIX = "ct_"
#: How many merge links a lookup by an old contact id follows (each merge flattens the chain).
_MAX_HOPS = 8
#: Values looked up per statement by :meth:`ContactsSql.people` (under every dialect's parameter cap).
_LOOKUP_CHUNK = 500

InFn = Callable[[str, Sequence[Any]], tuple[str, list[Any]]]
Pair = tuple[str, str]


def id_kind(value: str) -> str:
    """The kind of an id: ``wa_id`` (a phone number), ``bsuid``, ``parent_bsuid`` or ``username``.

    A leading ``@`` marks a username (``@anna.b``), whatever else it looks like.
    """
    if value.startswith("@"):
        return "username"
    try:
        kind = address_kind(value, "id")
    except ValidationError:
        return "username"
    return "wa_id" if kind == "phone" else kind


def clean_id(kind: str, value: str) -> str:
    """An id as stored: digits only for a phone number, lower case without ``@`` for a username."""
    value = value.strip()
    if kind == "wa_id":
        return value if value.isdigit() and value.isascii() else "".join(c for c in value if c.isdigit())
    if kind == "username":
        return value.lstrip("@").lower()
    return value


def id_pairs(ids: CustomerIds, kinds: Iterable[str] = KINDS) -> list[Pair]:
    """The (kind, value) pairs of the ids that are known, cleaned."""
    values = {"wa_id": ids.wa_id, "bsuid": ids.bsuid, "parent_bsuid": ids.parent_bsuid, "username": ids.username}
    out = []
    for kind in kinds:
        value = values[kind]
        if value and clean_id(kind, value):
            out.append((kind, clean_id(kind, value)))
    return out


def ids_of(value: str) -> CustomerIds:
    """One id, whatever its kind, as :class:`CustomerIds`."""
    kind = id_kind(value)
    return CustomerIds(**{kind: clean_id(kind, value)})


def identity_event(pid: str, reason: str, ids: CustomerIds, now: float, extra: dict[str, Any]) -> NewEvent:
    """A ``contact.identity_changed`` event: why (``reason``), the person's ids now, and what they were."""
    data: dict[str, Any] = {"reason": reason, "contact_id": ids.contact_id, "ids": ids.as_dict(), **extra}
    return NewEvent("contact.identity_changed", pid, data, ids, now)


def pair_keys(tx: Tx, in_: InFn, phone_number_id: str, recipients: Sequence[str]) -> dict[str, str]:
    """Each recipient address's pair-bucket key: the id of its contact, else the address itself.

    Keyed by the person, a customer reached by phone and by BSUID shares one pair-rate bucket.
    """
    keys = {r: r for r in recipients}
    if not keys:
        return keys
    test, params = in_("value", sorted(keys))
    rows = tx.rows(f"SELECT value, contact_id FROM contact_ids WHERE phone_number_id = ? AND kind <> 'username' "
                   f"AND {test}", [phone_number_id, *params])
    for value, contact_id in rows:
        keys[str(value)] = str(contact_id)
    return keys


class ContactsSql(SqlBase):
    """Customers as people: their ids, service windows and marketing preferences."""

    # --- the public side -----------------------------------------------------------------------
    def learn_contact(self, phone_number_id: str, ids: CustomerIds, now: float) -> str | None:
        """Record that these ids are one person (merging records that turn out to be one); their contact id.

        Only a username, with no other id, is looked up but never creates a contact (it names nobody for sure).
        """
        events: list[NewEvent] = []
        with self._tx() as tx:
            contact_id = self._link(tx, phone_number_id, ids, now, events)
            append(tx, events)  # last: the log's lock is taken after the rows' (log.append)
            return contact_id

    def change_number(self, phone_number_id: str, old: str, new_wa_id: str, now: float) -> str | None:
        """A customer moved from ``old`` (their phone number or BSUID) to the phone number ``new_wa_id``."""
        old_ids, new = ids_of(old), clean_id("wa_id", new_wa_id)
        events: list[NewEvent] = []
        with self._tx() as tx:
            # The record as it was: the old id's, else (a repeated notice) the new number's.
            owners = self._owners(tx, phone_number_id, [*id_pairs(old_ids, STRONG), ("wa_id", new)], lock=True)
            owner = next((c for pair, c in owners.items() if pair != ("wa_id", new)), owners.get(("wa_id", new)))
            before = self._ids(tx, owner) if owner is not None else None
            contact_id = self._link(tx, phone_number_id, old_ids, now, events, also=[("wa_id", new)] if new else [])
            if old_ids.wa_id and old_ids.wa_id != new:
                # The old number may be given to someone else: it no longer names this person.
                tx.run("DELETE FROM contact_ids WHERE phone_number_id = ? AND kind = 'wa_id' AND value = ?",
                       (phone_number_id, old_ids.wa_id))
            if contact_id is not None:
                after = self._ids(tx, contact_id)
                if before is None or before.as_dict() != after.as_dict():  # a redelivered notice changes nothing
                    events.append(identity_event(phone_number_id, "user_changed_number", after, now, {
                        "old": old, "new_wa_id": new, "previous": before.as_dict() if before else None}))
            append(tx, events)
            return contact_id

    def identity_changed(self, phone_number_id: str, ids: CustomerIds, identity_hash: str | None,
                         now: float, *, created_at: float | None = None) -> str | None:
        """A customer's security identity changed (``customer_identity_changed``): record its hash on their
        record and the event, in one transaction; their contact id (None: nobody is known by ``ids``)."""
        events: list[NewEvent] = []
        with self._tx() as tx:
            contact_id = self._link(tx, phone_number_id, ids, now, events)
            if contact_id is None:
                return None
            row = tx.rows(f"SELECT identity_hash, identity_at FROM contacts WHERE contact_id = ?{self.LOCK}",
                          (contact_id,))
            previous, seen_at = (row[0][0], row[0][1]) if row else (None, None)
            if (identity_hash is not None and previous == identity_hash) or (seen_at is not None
                                                                              and float(seen_at) > now):
                append(tx, events)  # the same notice again, or an older one arriving late: nothing changes
                return contact_id
            tx.run("UPDATE contacts SET identity_hash = ?, identity_at = ? WHERE contact_id = ?",
                   (identity_hash, now, contact_id))
            identity: dict[str, Any] = {"hash": identity_hash}
            if created_at is not None:
                identity["created_timestamp"] = created_at
            events.append(identity_event(phone_number_id, "customer_identity_changed", self._ids(tx, contact_id),
                                         now, {"identity": identity, "previous_hash": previous}))
            append(tx, events)
            return contact_id

    def touch_inbound(self, phone_number_id: str, wa_id: str, ts: float) -> None:
        """Record a customer's message (opens the 24 h window); ``wa_id`` may be any id of theirs."""
        events: list[NewEvent] = []
        with self._tx() as tx:
            contact_id = self._link(tx, phone_number_id, ids_of(wa_id), ts, events)
            if contact_id is not None:
                tx.run(f"UPDATE contacts SET last_inbound = {self.GREATEST}(COALESCE(last_inbound, ?), ?) "
                       "WHERE contact_id = ?", (ts, ts, contact_id))
            append(tx, events)

    def set_marketing(self, phone_number_id: str, wa_id: str, opted_out: bool, ts: float) -> None:
        """Record a marketing opt-out or resume; the latest timestamp wins. ``wa_id`` may be any id."""
        events: list[NewEvent] = []
        with self._tx() as tx:
            contact_id = self._link(tx, phone_number_id, ids_of(wa_id), ts, events)
            if contact_id is not None:
                tx.run("UPDATE contacts SET marketing_opt_out = ?, preference_at = ? "
                       "WHERE contact_id = ? AND (preference_at IS NULL OR preference_at <= ?)",
                       (int(opted_out), ts, contact_id, ts))
            append(tx, events)

    def contacts(self, phone_number_id: str, wa_ids: Iterable[str]) -> dict[str, ContactRecord]:
        """What is known about these customers, by the id asked (phone numbers or BSUIDs, as stored in jobs)."""
        ids = sorted(set(wa_ids))
        if not ids:
            return {}
        test, params = self._in("i.value", ids)
        with self._tx(write=False) as tx:
            rows = tx.rows("SELECT i.value, c.contact_id, c.last_inbound, c.marketing_opt_out FROM contact_ids i "
                           "JOIN contacts c ON c.contact_id = i.contact_id "
                           f"WHERE i.phone_number_id = ? AND i.kind <> 'username' AND {test}",
                           [phone_number_id, *params])
        return {str(r[0]): ContactRecord(str(r[0]), float(r[2]) if r[2] is not None else None, bool(r[3]),
                                         contact_id=str(r[1])) for r in rows}

    def people(self, phone_number_id: str, addresses: Iterable[str]) -> dict[str, CustomerIds]:
        """All the ids of the person each address names (as :meth:`find_contact` gives them), by address;
        unknown addresses are absent. A few statements for any number of addresses (a campaign's chunk)."""
        pairs: dict[str, Pair] = {}
        for value in set(addresses):
            if value and not value.startswith(CONTACT_PREFIX):
                kind = id_kind(value)
                pairs[value] = (kind, clean_id(kind, value))
        out: dict[str, CustomerIds] = {}
        wanted = sorted(set(pairs.values()))
        with self._tx(write=False) as tx:
            owners: dict[Pair, str] = {}
            for start in range(0, len(wanted), _LOOKUP_CHUNK):
                owners.update(self._owners(tx, phone_number_id, wanted[start:start + _LOOKUP_CHUNK], lock=False))
            found = sorted(set(owners.values()))
            latest: dict[str, dict[str, str]] = {}
            for start in range(0, len(found), _LOOKUP_CHUNK):
                test, params = self._in("contact_id", found[start:start + _LOOKUP_CHUNK])
                live = {str(r[0]) for r in tx.rows(f"SELECT contact_id FROM contacts WHERE phone_number_id = ? "
                                                   f"AND {test}", [phone_number_id, *params])}
                # The latest seen of each kind, as _ids picks it.
                for contact_id, kind, value in tx.rows(f"SELECT contact_id, kind, value FROM contact_ids WHERE {test} "
                                                       "ORDER BY seen_at DESC, value", params):
                    if str(contact_id) in live:
                        latest.setdefault(str(contact_id), {}).setdefault(str(kind), str(value))
        for value, pair in pairs.items():
            contact_id = owners.get(pair)
            if contact_id is not None and contact_id in latest:
                out[value] = CustomerIds(contact_id=contact_id, **{k: latest[contact_id].get(k) for k in KINDS})
        return out

    def find_contact(self, phone_number_id: str, any_id: str) -> ContactRecord | None:
        """The person known by ``any_id`` (phone number, BSUID, parent BSUID, ``@username`` or contact id)
        with all their ids, window and opt-out; None when nobody is known by it."""
        with self._tx(write=False) as tx:
            if any_id.startswith(CONTACT_PREFIX):
                contact_id = self._follow(tx, any_id)
            else:
                kind = id_kind(any_id)
                found = self._owners(tx, phone_number_id, [(kind, clean_id(kind, any_id))], lock=False)
                contact_id = next(iter(found.values()), None)
            if contact_id is None:
                return None
            row = tx.rows("SELECT last_inbound, marketing_opt_out, phone_number_id FROM contacts "
                          "WHERE contact_id = ?", (contact_id,))
            if not row or str(row[0][2]) != phone_number_id:
                return None
            ids = self._ids(tx, contact_id)
        last = row[0][0]
        return ContactRecord(any_id, float(last) if last is not None else None, bool(row[0][1]),
                             contact_id=contact_id, ids=ids)

    def opted_out(self, phone_number_id: str, limit: int = 500) -> list[ContactRecord]:
        """Customers of this number opted out of marketing, latest first, each with all their ids."""
        with self._tx(write=False) as tx:
            people = tx.rows("SELECT contact_id, last_inbound, preference_at FROM contacts WHERE phone_number_id = ? "
                             "AND marketing_opt_out = 1 AND merged_into IS NULL "
                             "ORDER BY preference_at DESC, contact_id LIMIT ?", (phone_number_id, int(limit)))
            test, params = self._in("contact_id", [str(r[0]) for r in people])
            known = tx.rows(f"SELECT contact_id, kind, value FROM contact_ids WHERE {test} "
                            "ORDER BY seen_at DESC, value", params) if people else []
        latest: dict[str, dict[str, str]] = {}
        for contact_id, kind, value in known:
            latest.setdefault(str(contact_id), {}).setdefault(str(kind), str(value))
        out = []
        for contact_id, last, _ in people:
            found = latest.get(str(contact_id), {})
            ids = CustomerIds(contact_id=str(contact_id), **{k: found.get(k) for k in KINDS})
            shown = next((found[k] for k in KINDS if k in found), str(contact_id))
            out.append(ContactRecord(shown, float(last) if last is not None else None, True,
                                     contact_id=str(contact_id), ids=ids))
        return out

    # --- linking and merging ----------------------------------------------------------------------
    def _link(self, tx: Tx, pid: str, ids: CustomerIds, now: float, events: list[NewEvent], *,
              also: Sequence[Pair] = ()) -> str | None:
        """Link ``ids`` to one record (merging records they show to be one); a merge's event goes to
        ``events``, for the caller to append at the end of its transaction."""
        strong = [*id_pairs(ids, STRONG), *also]
        username = id_pairs(ids, ("username",))
        if not strong:
            found = self._owners(tx, pid, username, lock=False) if username else {}
            return next(iter(found.values()), None)
        found = self._owners(tx, pid, strong, lock=True)
        owners = set(found.values())
        if not owners:
            created = CONTACT_PREFIX + secrets.token_hex(8)
            tx.run("INSERT INTO contacts (contact_id, phone_number_id, created_at) VALUES (?, ?, ?)",
                   (created, pid, now))
            owners.add(created)
        survivor = self._oldest(tx, owners)
        # The new ids in one statement, in one order (two writers never wait on each other's in a cycle).
        new = sorted({pair for pair in strong if pair not in found})
        lost: list[Pair] = []
        if new:
            added = {(str(k), str(v)) for k, v in tx.rows(
                "INSERT INTO contact_ids (phone_number_id, kind, value, contact_id, seen_at) VALUES "
                f"{', '.join(['(?, ?, ?, ?, ?)'] * len(new))} ON CONFLICT (phone_number_id, kind, value) DO NOTHING "
                "RETURNING kind, value", [x for kind, value in new for x in (pid, kind, value, survivor, now)])}
            lost = [pair for pair in new if pair not in added]
            if lost:
                # Another process linked them to a record of its own meanwhile: the same person, merged below.
                owners.update(self._owners(tx, pid, lost, lock=True).values())
            # Sends to these addresses so far were paced under the address itself: carry that on.
            self._fold_buckets(tx, pid, sorted({value for _, value in added}), survivor)
        merged: list[CustomerIds] = []
        if len(owners) > 1:
            survivor = self._oldest(tx, owners)
            merged = [self._ids(tx, o) for o in sorted(owners)]  # each record as it was, for the event
            for other in sorted(owners - {survivor}):
                self._merge(tx, pid, other, survivor)
        # The ids made just now were seen now already: only the others are touched (none, for a new customer).
        seen = sorted({v for k, v in strong if (k, v) in found} | {v for _, v in lost})
        if seen:
            test, params = self._in("value", seen)
            tx.run(f"UPDATE contact_ids SET seen_at = ? WHERE phone_number_id = ? AND contact_id = ? "
                   f"AND seen_at < ? AND kind <> 'username' AND {test}", [now, pid, survivor, now, *params])
        if username:
            # One username per person, and a username names one person: the latest sighting wins.
            tx.run("DELETE FROM contact_ids WHERE phone_number_id = ? AND kind = 'username' "
                   "AND (value = ? OR contact_id = ?)", (pid, username[0][1], survivor))
            tx.run("INSERT INTO contact_ids (phone_number_id, kind, value, contact_id, seen_at) "
                   "VALUES (?, 'username', ?, ?, ?)", (pid, username[0][1], survivor, now))
        if merged:
            events.append(identity_event(pid, "merged", self._ids(tx, survivor), now, {
                "merged_contact_ids": sorted(owners - {survivor}), "previous": [m.as_dict() for m in merged]}))
        return survivor

    def _ids(self, tx: Tx, contact_id: str) -> CustomerIds:
        """Every id of the record ``contact_id`` (the latest seen of each kind)."""
        known = tx.rows("SELECT kind, value FROM contact_ids WHERE contact_id = ? ORDER BY seen_at DESC, value",
                        (contact_id,))
        latest: dict[str, str] = {}
        for kind, value in known:
            latest.setdefault(str(kind), str(value))
        return CustomerIds(contact_id=contact_id, **{k: latest.get(k) for k in KINDS})


    def _owners(self, tx: Tx, pid: str, pairs: Sequence[Pair], *, lock: bool) -> dict[Pair, str]:
        """The contact each known pair belongs to."""
        if not pairs:
            return {}
        wanted = set(pairs)
        test, params = self._in("value", sorted({v for _, v in pairs}))
        # Rows are locked in one order (PostgreSQL). Without a lock the order is of no use, and SQLite,
        # asked for it, walks the primary key (every id of the number, 10,000 rows in a campaign)
        # instead of looking the values up in contact_ids_value: O(contacts) per status webhook.
        order = f" ORDER BY kind, value{self.LOCK}" if lock and self.LOCK else ""
        rows = tx.rows(f"SELECT kind, value, contact_id FROM contact_ids WHERE phone_number_id = ? AND {test}{order}",
                       [pid, *params])
        return {(str(k), str(v)): str(c) for k, v, c in rows if (str(k), str(v)) in wanted}

    def _oldest(self, tx: Tx, contact_ids: set[str]) -> str:
        """The record that survives a merge: the first made (the id a caller most likely holds)."""
        if len(contact_ids) == 1:
            return next(iter(contact_ids))
        test, params = self._in("contact_id", sorted(contact_ids))
        rows = tx.rows(f"SELECT contact_id FROM contacts WHERE {test} ORDER BY created_at, contact_id", params)
        return str(rows[0][0]) if rows else sorted(contact_ids)[0]

    def _follow(self, tx: Tx, contact_id: str) -> str | None:
        """The live record an old contact id stands for (a merged one points at its survivor)."""
        for _ in range(_MAX_HOPS):
            rows = tx.rows("SELECT merged_into FROM contacts WHERE contact_id = ?", (contact_id,))
            if not rows:
                return None
            if rows[0][0] is None:
                return contact_id
            contact_id = str(rows[0][0])
        return None

    def _merge(self, tx: Tx, pid: str, loser: str, survivor: str) -> None:
        """Fold ``loser`` into ``survivor``: the later inbound, the later preference, one pair bucket."""
        test, params = self._in("contact_id", sorted((loser, survivor)))
        rows = tx.rows(f"SELECT contact_id, last_inbound, marketing_opt_out, preference_at FROM contacts "
                       f"WHERE {test} ORDER BY contact_id{self.LOCK}", params)
        inbound = [float(r[1]) for r in rows if r[1] is not None]
        prefs = sorted((float(r[3]), bool(r[2])) for r in rows if r[3] is not None)
        tx.run("UPDATE contacts SET last_inbound = ?, marketing_opt_out = ?, preference_at = ? WHERE contact_id = ?",
               (max(inbound) if inbound else None, int(prefs[-1][1]) if prefs else 0,
                prefs[-1][0] if prefs else None, survivor))
        # The old id keeps answering (a caller may hold it): it points at the survivor, chains flattened.
        tx.run("UPDATE contacts SET merged_into = ? WHERE contact_id = ? OR merged_into = ?", (survivor, loser, loser))
        tx.run("UPDATE contact_ids SET contact_id = ? WHERE contact_id = ?", (survivor, loser))
        self._fold_buckets(tx, pid, [loser], survivor)

    def _fold_buckets(self, tx: Tx, pid: str, old_keys: Sequence[str], new_key: str) -> None:
        """Move pair-rate buckets to a new key, keeping the latest of them (never a fresh burst);
        ``old_keys`` sorted (the rows are locked in that order, as claim locks buckets)."""
        if not old_keys:
            return
        test, params = self._in("recipient", old_keys)
        rows = tx.rows(f"SELECT tat FROM pair_buckets WHERE phone_number_id = ? AND {test} "
                       f"ORDER BY recipient{self.LOCK}", [pid, *params])
        if not rows:
            return
        tx.run(f"INSERT INTO pair_buckets (phone_number_id, recipient, tat) VALUES (?, ?, ?) "
               "ON CONFLICT (phone_number_id, recipient) DO UPDATE SET "
               f"tat = {self.GREATEST}(pair_buckets.tat, excluded.tat)", (pid, new_key, max(r[0] for r in rows)))
        tx.run(f"DELETE FROM pair_buckets WHERE phone_number_id = ? AND {test}", [pid, *params])



def contact_ids(tx: Transaction, phone_number_id: str, addresses: Sequence[str]) -> dict[str, str]:
    """The contact id of each known address (phone number or BSUID) of a number's customers, read in an
    open transaction of the store (a :data:`~wacloud.delivery.store.StoredHook` logging queued jobs)."""
    wanted = sorted(set(addresses))
    if not wanted:
        return {}
    rows = tx.rows(f"SELECT value, contact_id FROM contact_ids WHERE phone_number_id = ? AND kind <> 'username' "
                   f"AND value IN ({', '.join('?' * len(wanted))})", [phone_number_id, *wanted])
    return {str(v): str(c) for v, c in rows}
