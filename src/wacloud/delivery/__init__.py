"""The delivery engine: a durable outbox paced to Meta's limits, retrying by error code.

``open_store(url)`` gives a SQLite or PostgreSQL store; ``Outbox(store, client)`` queues, sends
(``run()`` / ``run_forever()``), follows statuses and runs campaigns (``broadcast``).
"""

from __future__ import annotations

from typing import Any

from wacloud._deprecation import renamed
from wacloud.delivery._bodies import address, graph_body
from wacloud.delivery._factory import open_store
from wacloud.delivery._priority import urgent
from wacloud.delivery._sql_contacts import contact_ids
from wacloud.delivery._sql_outputs import (
    MEDIA_STATES,
    EventCursors,
    MediaQueue,
    MediaState,
    MediaTask,
    media_event_data,
)
from wacloud.delivery.campaign import Campaign, Recipient
from wacloud.delivery.campaigns import CampaignOps, CampaignReport, DryRun
from wacloud.delivery.costs import CostRow, RateCard
from wacloud.delivery.holds import HoldReason
from wacloud.delivery.model import (
    FINAL_STATES,
    ContactRecord,
    DeliveryEvent,
    InFlightPolicy,
    Job,
    JobEvent,
    JobState,
    Recovery,
    StatusChange,
    Summary,
)
from wacloud.delivery.outbox import Outbox
from wacloud.delivery.pacing import Pacing
from wacloud.delivery.policy import Action, Decision, RetryPolicy
from wacloud.delivery.store import Store, StoredHook, StoreError, Transaction
from wacloud.delivery.worker import RunReport

#: Old names kept for one release: ``Contact`` is the message type in :mod:`wacloud.messages`.
_RENAMED = {"Contact": "ContactRecord"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals().__getitem__)


__all__ = [
    "FINAL_STATES",
    "MEDIA_STATES",
    "Action",
    "Campaign",
    "CampaignOps",
    "CampaignReport",
    "ContactRecord",
    "CostRow",
    "Decision",
    "DeliveryEvent",
    "DryRun",
    "EventCursors",
    "HoldReason",
    "InFlightPolicy",
    "Job",
    "JobEvent",
    "JobState",
    "MediaQueue",
    "MediaState",
    "MediaTask",
    "Outbox",
    "Pacing",
    "RateCard",
    "Recipient",
    "Recovery",
    "RetryPolicy",
    "RunReport",
    "StatusChange",
    "Store",
    "StoreError",
    "StoredHook",
    "Summary",
    "Transaction",
    "address",
    "contact_ids",
    "graph_body",
    "media_event_data",
    "open_store",
    "urgent",
]
