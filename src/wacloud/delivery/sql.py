"""The SQL both stores share: every query written once with ``?`` placeholders, split by concern.

:class:`SqlStore` is the sum of one mixin per concern (jobs, the worker's leases, pacing, contacts,
statuses, the webhook inbox), each over the shared dialect and transaction layer
(:mod:`wacloud.delivery._sql_base`). A dialect (:mod:`~wacloud.delivery.sqlite`,
:mod:`~wacloud.delivery.postgres`) supplies the connection, the transaction and the phrases that differ.
"""

from __future__ import annotations

from wacloud.delivery._sql_base import SqlBase, Tx
from wacloud.delivery._sql_campaigns import CampaignsSql
from wacloud.delivery._sql_contacts import ContactsSql
from wacloud.delivery._sql_inbox import InboxSql
from wacloud.delivery._sql_jobs import JobsSql
from wacloud.delivery._sql_leases import LeasesSql
from wacloud.delivery._sql_limits import LimitsSql
from wacloud.delivery._sql_pacing import PacingSql
from wacloud.delivery._sql_schema import LATEST_VERSION, MIGRATIONS
from wacloud.delivery._sql_statuses import StatusesSql

__all__ = ["LATEST_VERSION", "MIGRATIONS", "SqlBase", "SqlStore", "Tx"]


class SqlStore(JobsSql, LeasesSql, PacingSql, ContactsSql, StatusesSql, InboxSql, LimitsSql, CampaignsSql):
    """Every store operation, on top of a dialect's transactions."""

    MIGRATIONS = MIGRATIONS
