"""The delivery engine: a durable outbox paced to Meta's limits, retrying by error code.

``open_store(url)`` gives a SQLite or PostgreSQL store; ``Outbox(store, client)`` queues, sends
(``run()`` / ``run_forever()``), follows statuses and runs campaigns (``broadcast``).

The names below are imported on first use, as ``wacloud``'s and ``wacloud.gateway``'s are: a module that
needs one part (``wacloud.delivery.pacing``'s constants, the CLI's settings) does not load the whole engine,
the HTTP clients and the PostgreSQL driver with it (``wacloud --help`` took 1.4-2 s for that).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from wacloud._deprecation import renamed

_EXPORTS: dict[str, str] = {
    "Action": "wacloud.delivery.policy",
    "Campaign": "wacloud.delivery.campaign",
    "CampaignOps": "wacloud.delivery.campaigns",
    "CampaignReport": "wacloud.delivery.campaigns",
    "ContactRecord": "wacloud.delivery.model",
    "CostRow": "wacloud.delivery.costs",
    "Decision": "wacloud.delivery.policy",
    "DeliveryEvent": "wacloud.delivery.model",
    "DryRun": "wacloud.delivery.campaigns",
    "EventCursors": "wacloud.delivery._sql_outputs",
    "FINAL_STATES": "wacloud.delivery.model",
    "HoldReason": "wacloud.delivery.holds",
    "InFlightPolicy": "wacloud.delivery.model",
    "Job": "wacloud.delivery.model",
    "JobEvent": "wacloud.delivery.model",
    "JobState": "wacloud.delivery.model",
    "MEDIA_STATES": "wacloud.delivery._sql_outputs",
    "MediaQueue": "wacloud.delivery._sql_outputs",
    "MediaState": "wacloud.delivery._sql_outputs",
    "MediaTask": "wacloud.delivery._sql_outputs",
    "Outbox": "wacloud.delivery.outbox",
    "Pacing": "wacloud.delivery.pacing",
    "RateCard": "wacloud.delivery.costs",
    "Recipient": "wacloud.delivery.campaign",
    "Recovery": "wacloud.delivery.model",
    "RetryPolicy": "wacloud.delivery.policy",
    "RunReport": "wacloud.delivery.worker",
    "StatusChange": "wacloud.delivery.model",
    "Store": "wacloud.delivery.store",
    "StoreError": "wacloud.delivery.store",
    "StoredHook": "wacloud.delivery.store",
    "Summary": "wacloud.delivery.model",
    "Transaction": "wacloud.delivery.store",
    "address": "wacloud.delivery._bodies",
    "contact_ids": "wacloud.delivery._sql_contacts",
    "graph_body": "wacloud.delivery._bodies",
    "media_event_data": "wacloud.delivery._sql_outputs",
    "open_store": "wacloud.delivery._factory",
    "urgent": "wacloud.delivery._priority",
}

if TYPE_CHECKING:
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
    module = _EXPORTS.get(name)
    if module is None:
        return renamed(__name__, name, _RENAMED, __getattr__)
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


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
