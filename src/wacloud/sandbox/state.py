"""The sandbox's memory: customers, sent and received messages, media, templates, logs and counters."""

from __future__ import annotations

import json
import random
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wacloud import limits
from wacloud.sandbox.clock import Clock
from wacloud.sandbox.config import SandboxConfig
from wacloud.sandbox.dispatch import Dispatcher
from wacloud.sandbox.ids import IdFactory
from wacloud.sandbox.ratelimit import RateLimiter
from wacloud.sandbox.scheduler import Scheduler

if TYPE_CHECKING:
    from wacloud.sandbox.management import ManagementState
    from wacloud.sandbox.templates import Template

_CUSTOMER_FIELDS = (
    "wa_id",
    "profile_name",
    "on_whatsapp",
    "marketing_opt_out",
    "blocked",
    "read_receipts",
    "last_inbound_at",
)


@dataclass(slots=True)
class Customer:
    """A simulated WhatsApp user."""

    wa_id: str
    profile_name: str = "Sandbox User"
    on_whatsapp: bool = True
    marketing_opt_out: bool = False
    blocked: bool = False
    #: When False the user never sends ``read`` receipts (a WhatsApp privacy setting).
    read_receipts: bool = True
    #: Sandbox time of the user's last message; None means the 24 h window has never opened.
    last_inbound_at: float | None = None
    #: When the user last came in through an ad (free entry point window).
    referral_at: float | None = None

    def window_open(self, now: float) -> bool:
        """True inside the customer-service window."""
        return self.last_inbound_at is not None and now - self.last_inbound_at < limits.SERVICE_WINDOW_S

    def fep_open(self, now: float) -> bool:
        """True inside a free-entry-point window (72 h after an ad click reply)."""
        return self.referral_at is not None and now - self.referral_at < limits.FREE_ENTRY_POINT_WINDOW_S

    def to_dict(self, now: float) -> dict[str, Any]:
        """JSON view for the control API."""
        return {
            "wa_id": self.wa_id,
            "profile_name": self.profile_name,
            "on_whatsapp": self.on_whatsapp,
            "marketing_opt_out": self.marketing_opt_out,
            "blocked": self.blocked,
            "read_receipts": self.read_receipts,
            "last_inbound_at": self.last_inbound_at,
            "window_open": self.window_open(now),
        }

    def update(self, data: dict[str, Any]) -> None:
        """Apply a partial update; raises ``ValueError`` on unknown keys or wrong types."""
        for key, value in data.items():
            if key not in _CUSTOMER_FIELDS or key == "wa_id":
                if key == "wa_id" and value == self.wa_id:
                    continue
                raise ValueError(f"unknown or read-only customer field {key!r}")
            if key == "profile_name":
                if not isinstance(value, str) or not value:
                    raise ValueError("profile_name must be a non-empty string")
            elif key == "last_inbound_at":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                    raise ValueError("last_inbound_at must be a number (sandbox epoch seconds) or null")
            elif not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
            setattr(self, key, value)


@dataclass(slots=True)
class SentMessage:
    """A message the business sent (accepted with a wamid), with its status history."""

    id: str
    phone_number_id: str
    to: str
    wa_id: str
    type: str
    body: dict[str, Any]
    created_at: float
    version: tuple[int, int]
    category: str = "service"
    pricing_type: str = "free_customer_service"
    billable: bool = False
    template_id: str | None = None
    statuses: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON view for the control API."""
        return {
            "id": self.id,
            "to": self.to,
            "wa_id": self.wa_id,
            "type": self.type,
            "category": self.category,
            "created_at": self.created_at,
            "status": self.statuses[-1]["status"] if self.statuses else "accepted",
            "statuses": list(self.statuses),
            "body": self.body,
        }


@dataclass(slots=True)
class InboundMessage:
    """A message a customer sent (injected through the control API)."""

    id: str
    wa_id: str
    type: str
    timestamp: float
    message: dict[str, Any]
    read: bool = False


@dataclass(slots=True)
class Media:
    """An uploaded (or customer-sent) media file."""

    id: str
    phone_number_id: str
    mime_type: str
    data: bytes
    sha256_hex: str
    uploaded_at: float
    filename: str | None = None


@dataclass(slots=True)
class Attempt:
    """One call to ``POST /messages`` and how it ended (``code`` 0 = accepted)."""

    seq: int
    at: float
    phone_number_id: str
    to: str | None
    wa_id: str | None
    type: str | None
    code: int
    http_status: int
    outcome: str
    wamid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "seq": self.seq,
            "at": self.at,
            "phone_number_id": self.phone_number_id,
            "to": self.to,
            "wa_id": self.wa_id,
            "type": self.type,
            "code": self.code,
            "http_status": self.http_status,
            "outcome": self.outcome,
            "wamid": self.wamid,
        }


class SandboxState:
    """Everything the sandbox knows; one instance per app, reset between tests."""

    def __init__(self, config: SandboxConfig) -> None:
        self.initial = config.copy()
        self.clock = Clock()
        self.config = config.copy()
        self.ids = IdFactory(config.seed)
        self.scheduler = Scheduler(self.clock)
        self.dispatcher = Dispatcher(self)
        #: Callbacks run after every reset, so parts that keep their own run state start afresh too.
        self._reset_hooks: list[Callable[[], None]] = []
        #: The management half of the state (``wacloud.sandbox.management.management_state``).
        self.management: ManagementState | None = None
        self._init_run_state()

    def _init_run_state(self) -> None:
        cfg = self.config
        self.rng = random.Random(f"faults:{cfg.seed}")
        self.limiter = RateLimiter(
            mps=cfg.mps,
            capacity=cfg.bucket_capacity,
            pair_interval_s=cfg.pair_rate_interval_s,
            pair_burst=cfg.pair_rate_burst,
        )
        self.customers: dict[str, Customer] = {}
        self.messages: dict[str, SentMessage] = {}
        self.by_customer: dict[str, list[str]] = {}
        self.inbound: dict[str, InboundMessage] = {}
        self.media: dict[str, Media] = {}
        self.templates: dict[str, Template] = {}
        self.attempts: deque[Attempt] = deque(maxlen=cfg.log_max)
        self.attempt_seq = 0
        #: Every error code answered synchronously, and every code of a ``failed`` status.
        self.sync_errors: Counter[int] = Counter()
        self.async_failures: Counter[int] = Counter()
        self.accepted_by_wa_id: Counter[str] = Counter()
        self.accepted_total = 0
        self.webhook_log: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.webhook_stats: Counter[str] = Counter()
        self.template_webhooks: list[dict[str, Any]] = []
        self._seed_customers()
        from wacloud.sandbox.templates import seed_templates

        seed_templates(self)

    def reset(self) -> None:
        """Forget everything and restore the initial configuration (ids stay unique)."""
        self.config = self.initial.copy()
        self.scheduler.clear()
        self.dispatcher.clear()
        self.clock.reset()
        self._init_run_state()
        for hook in list(self._reset_hooks):
            hook()

    def on_reset(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` after every :meth:`reset` (once per registration, in registration order)."""
        self._reset_hooks.append(hook)

    def reconfigure_limits(self) -> None:
        """Apply changed rate settings."""
        cfg = self.config
        self.limiter.configure(
            mps=cfg.mps,
            capacity=cfg.bucket_capacity,
            pair_interval_s=cfg.pair_rate_interval_s,
            pair_burst=cfg.pair_rate_burst,
        )

    # --- customers ---------------------------------------------------------------------------

    def _seed_customers(self) -> None:
        items = list(self.config.customers)
        if self.config.customers_file:
            loaded = json.loads(Path(self.config.customers_file).read_text(encoding="utf-8"))
            items.extend(loaded["customers"] if isinstance(loaded, dict) else loaded)
        for item in items:
            self.add_customer(dict(item))

    def add_customer(self, data: dict[str, Any]) -> Customer:
        """Create or replace a customer from JSON (``wa_id`` required)."""
        wa_id = data.get("wa_id")
        if not isinstance(wa_id, str) or not wa_id.isdigit() or not 7 <= len(wa_id) <= 15:
            raise ValueError("wa_id must be 7 to 15 digits")
        customer = Customer(wa_id=wa_id)
        customer.update({k: v for k, v in data.items() if k != "wa_id"})
        self.customers[wa_id] = customer
        return customer

    def customer_for_send(self, wa_id: str) -> Customer | None:
        """The recipient; unknown ones are created (on WhatsApp, window closed) unless configured not to."""
        customer = self.customers.get(wa_id)
        if customer is None and self.config.unknown_recipients == "auto":
            customer = self.customers[wa_id] = Customer(wa_id=wa_id)
        return customer

    # --- log ---------------------------------------------------------------------------------

    def log_attempt(
        self,
        *,
        phone_number_id: str,
        to: str | None,
        wa_id: str | None,
        type_: str | None,
        code: int,
        http_status: int,
        outcome: str,
        wamid: str | None = None,
    ) -> None:
        """Record one send attempt and count its outcome."""
        self.attempt_seq += 1
        self.attempts.append(
            Attempt(
                self.attempt_seq,
                self.clock.now(),
                phone_number_id,
                to,
                wa_id,
                type_,
                code,
                http_status,
                outcome,
                wamid,
            )
        )
        if code:
            self.sync_errors[code] += 1
        elif wa_id is not None and outcome.startswith("accepted"):
            self.accepted_by_wa_id[wa_id] += 1
            self.accepted_total += 1

    def stats(self) -> dict[str, Any]:
        """Counters for benchmarks and reliability tests."""
        return {
            "attempts": self.attempt_seq,
            "accepted": self.accepted_total,
            "errors": {str(k): v for k, v in sorted(self.sync_errors.items())},
            "failed_statuses": {str(k): v for k, v in sorted(self.async_failures.items())},
            "accepted_per_recipient": dict(self.accepted_by_wa_id),
            "max_accepted_per_recipient": max(self.accepted_by_wa_id.values(), default=0),
            "webhooks": dict(self.webhook_stats),
        }
