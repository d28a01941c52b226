"""The sandbox's memory: customers, sent and received messages, media, templates, logs, counters and the
management half (numbers, flows, uploads, the management call budget).

State only: it imports the plain data (``_model``) and the small infrastructure it owns (clock, ids,
scheduler, rate limiter), never a service. The webhook dispatcher and the seed templates are attached by
the app (``_app.new_state``), so nothing here imports what imports the state.
"""

from __future__ import annotations

import json
import random
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import wacloud.sandbox._identity as _identity
from wacloud import limits
from wacloud.sandbox._clock import Clock
from wacloud.sandbox._config import SandboxConfig
from wacloud.sandbox._errors import GraphError
from wacloud.sandbox._ids import IdFactory
from wacloud.sandbox._model import (
    SANDBOX_APP,
    Attempt,
    CallingState,
    Customer,
    FlowRecord,
    GroupsState,
    InboundMessage,
    Media,
    OutboundMessage,
    PhoneState,
    Template,
    UploadSession,
)
from wacloud.sandbox._portfolio import PortfolioState
from wacloud.sandbox._ratelimit import RateLimiter
from wacloud.sandbox._scheduler import Scheduler

__all__ = [
    "Attempt",
    "Customer",
    "Deliveries",
    "InboundMessage",
    "ManagementRateLimited",
    "ManagementState",
    "Media",
    "OutboundMessage",
    "SandboxState",
    "management_state",
]

_HOUR = 3600.0


class Deliveries(Protocol):
    """What the state needs of its webhook dispatcher (``_dispatch.WebhookQueue``), named here so the state
    does not import the service."""

    def emit(self, shard: str, field: str, value: dict[str, Any], *, with_time: bool = False) -> None: ...

    def emit_status(self, shard: str, status: dict[str, Any], phone_number_id: str | None = None) -> None: ...

    def clear(self) -> None: ...

    def pending(self) -> int: ...

    async def settle(self) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class _NoDeliveries:
    """The dispatcher of a state nobody attached one to (a bare state in a unit test): webhooks go nowhere."""

    def emit(self, shard: str, field: str, value: dict[str, Any], *, with_time: bool = False) -> None:
        """Drop the webhook."""

    def emit_status(self, shard: str, status: dict[str, Any], phone_number_id: str | None = None) -> None:
        """Drop the status webhook."""

    def clear(self) -> None:
        """Nothing queued."""

    def pending(self) -> int:
        """Nothing queued."""
        return 0

    async def settle(self) -> None:
        """Nothing to wait for."""

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""


class SandboxState:
    """Everything the sandbox knows; one instance per app, reset between tests."""

    def __init__(self, config: SandboxConfig) -> None:
        self.initial = config.copy()
        self.clock = Clock()
        self.config = config.copy()
        self.ids = IdFactory(config.seed)
        self.scheduler = Scheduler(self.clock)
        #: The webhook dispatcher; the app attaches the real one (``_app.new_state``).
        self.dispatcher: Deliveries = _NoDeliveries()
        #: Callbacks run after every reset, so parts that keep their own run state start afresh too.
        self._reset_hooks: list[Callable[[], None]] = []
        #: The management half of the state (:func:`management_state`), made on first use.
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
        self.limiter.per_number = cfg.number_rates()
        self.customers: dict[str, Customer] = {}
        self.messages: dict[str, OutboundMessage] = {}
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
        #: BSUID/parent BSUID → customer key, rebuilt on a miss (see ``customer_by_user_id``).
        self._user_index: dict[str, str] = {}
        self.anonymous_seq = 0
        #: Calling API and Groups API emulation (``_calls``, ``_groups``).
        self.calling = CallingState()
        self.groups = GroupsState()
        #: The business portfolio's messaging limit, throughput upgrades and prices (``_portfolio``).
        self.portfolio = PortfolioState()
        self._seed_customers()

    def reset(self) -> None:
        """Forget everything and restore the initial configuration (ids stay unique)."""
        self.config = self.initial.copy()
        self.scheduler.clear()
        self.dispatcher.clear()
        self.clock.reset()
        self._init_run_state()
        if self.management is not None:
            # A reset forgets registrations, flows, uploads and budgets like the rest of the state.
            self.management = ManagementState(self)
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
        self.limiter.per_number = {**cfg.number_rates(), **self.portfolio.upgraded}

    def add_phone_number(self, phone_number_id: str, display_phone_number: str, waba_id: str | None = None) -> None:
        """Serve one more business number from now on (in ``waba_id``, default the main WABA), kept over a
        reset; a number already served stays as it is."""
        for cfg in (self.config, self.initial):
            if phone_number_id not in cfg.numbers:
                cfg.extra_phone_numbers.append({"phone_number_id": phone_number_id, "waba_id": waba_id or cfg.waba_id,
                                                "display_phone_number": display_phone_number})
        if self.management is not None:
            self.management.phones.setdefault(phone_number_id, PhoneState())

    # --- customers ---------------------------------------------------------------------------

    def _seed_customers(self) -> None:
        items = list(self.config.customers)
        if self.config.customers_file:
            loaded = json.loads(Path(self.config.customers_file).read_text(encoding="utf-8"))
            items.extend(loaded["customers"] if isinstance(loaded, dict) else loaded)
        for item in items:
            self.add_customer(dict(item))

    def add_customer(self, data: dict[str, Any]) -> Customer:
        """Create or replace a customer from JSON: ``wa_id`` (a phone number), or no ``wa_id`` and a
        ``username`` (a username-only customer, reachable by BSUID only). ``user_id`` and
        ``parent_user_id`` may choose the BSUIDs (else they are derived from the seed)."""
        data = dict(data)
        ids = {key: data.pop(key, None) for key in ("user_id", "parent_user_id")}
        for key, value in ids.items():
            if value is not None and (not _identity.is_bsuid(value) or (".ENT." in value) != (key != "user_id")):
                raise ValueError(f"{key} must be a BSUID like US.13491208655302741918 (parent: US.ENT.…)")
        wa_id = data.get("wa_id")
        if wa_id is None and "username" in data:
            user_id = ids["user_id"] or self._fresh_user_id()
            customer = Customer(wa_id=user_id, has_phone=False, user_id=user_id)
        elif not isinstance(wa_id, str) or not wa_id.isdigit() or not 7 <= len(wa_id) <= 15:
            raise ValueError("wa_id must be 7 to 15 digits (or give a username and no wa_id)")
        else:
            customer = Customer(wa_id=wa_id, user_id=ids["user_id"] or "")
        customer.parent_user_id = ids["parent_user_id"]
        customer.update({k: v for k, v in data.items() if k != "wa_id"})
        self.customers[customer.wa_id] = self.identify(customer)
        return customer

    def username_only_customer(self, user_id: str | None = None) -> Customer:
        """A new customer with no phone number, known by BSUID (``user_id``, else a fresh one)."""
        user_id = user_id or self._fresh_user_id()
        customer = self.identify(Customer(wa_id=user_id, has_phone=False, user_id=user_id))
        self.customers[user_id] = customer
        return customer

    def _fresh_user_id(self) -> str:
        """A BSUID for a new username-only customer (seeded, so the same run makes the same ids)."""
        while True:
            self.anonymous_seq += 1
            user_id = _identity.bsuid(self.config.seed, f"username-only:{self.anonymous_seq}")
            if user_id not in self.customers:  # (a restored sandbox may hold it already)
                return user_id

    def identify(self, customer: Customer) -> Customer:
        """Give ``customer`` its BSUID (from its phone number) and, if the sandbox has them, a parent id."""
        if not customer.user_id:
            customer.user_id = _identity.bsuid(self.config.seed, customer.wa_id, _identity.country_of(customer.wa_id))
        if self.config.parent_user_ids and not customer.parent_user_id:
            customer.parent_user_id = _identity.parent_bsuid(self.config.seed, customer.user_id)
        return customer

    def change_number(self, customer: Customer, new_wa_id: str) -> str:
        """The customer now uses ``new_wa_id``: re-keyed, with a new BSUID (Meta makes one on a number
        change); returns the old number."""
        old = customer.wa_id
        self.customers.pop(old, None)
        customer.wa_id = new_wa_id
        customer.has_phone = True
        customer.user_id = ""
        customer.parent_user_id = None
        self.customers[new_wa_id] = self.identify(customer)
        # What was sent to and received from the old number stays the customer's.
        if old in self.by_customer:
            self.by_customer[new_wa_id] = self.by_customer.pop(old) + self.by_customer.get(new_wa_id, [])
        return old

    def customer_by_user_id(self, user_id: str) -> Customer | None:
        """The customer with this BSUID or parent BSUID."""
        key = self._user_index.get(user_id)
        found = self.customers.get(key) if key is not None else None
        if found is None or user_id not in (found.user_id, found.parent_user_id):
            # Stale or missing (customers are replaced, deleted, restored): rebuild the index.
            self._user_index = {}
            for c in self.customers.values():
                for uid in (c.user_id, c.parent_user_id):
                    if uid:
                        self._user_index[uid] = c.wa_id
            key = self._user_index.get(user_id)
            found = self.customers.get(key) if key is not None else None
        return found

    def customer_for_send(self, wa_id: str) -> Customer | None:
        """The recipient; unknown ones are created (on WhatsApp, window closed) unless configured not to."""
        customer = self.customers.get(wa_id)
        if customer is None and self.config.unknown_recipients == "auto":
            customer = self.customers[wa_id] = self.identify(Customer(wa_id=wa_id))
        elif customer is not None and not customer.user_id:
            self.identify(customer)  # restored from a save made before BSUIDs
        return customer

    def customer_for_recipient(self, user_id: str) -> Customer | None:
        """The recipient of a send by BSUID; an unknown BSUID becomes a username-only customer unless
        the sandbox is configured to treat unknown recipients as undeliverable."""
        customer = self.customer_by_user_id(user_id)
        if customer is None and self.config.unknown_recipients == "auto" and ".ENT." not in user_id:
            customer = self.username_only_customer(user_id)
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


class ManagementState:
    """The management half of the sandbox state (attached to ``SandboxState`` as ``.management``)."""

    def __init__(self, state: SandboxState) -> None:
        # Every business number of the WABA (extra_phone_numbers too), each registered on its own.
        self.phones: dict[str, PhoneState] = {pid: PhoneState() for pid in state.config.numbers}
        self.flows: dict[str, FlowRecord] = {}
        self.uploads: dict[str, UploadSession] = {}
        self.handles: dict[str, UploadSession] = {}
        self.subscribed: list[dict[str, Any]] = [{"whatsapp_business_api_data": dict(SANDBOX_APP)}]
        self.unsubscribed_webhook_url: str | None = None
        self.calls: dict[str, deque[float]] = {}
        #: Rolling-hour budget of WABA-level management calls, overriding ``SandboxConfig``'s
        #: ``management_calls_per_hour`` (read live, so the control API can change it); with neither,
        #: Meta's: 200, or 5,000 while the WABA is "active" (has a registered number).
        self.calls_per_hour: int | None = None
        self._state = state
        #: The code ``request_code`` "sends"; ``verify_code`` expects it.
        self.verification_code = "123456"

    def charge(self, state: SandboxState, waba_id: str) -> dict[str, str]:
        """Count one WABA-level call; return the usage header, or raise 80007 when over the budget."""
        now = state.clock.now()
        window = self.calls.setdefault(waba_id, deque())
        while window and now - window[0] >= _HOUR:
            window.popleft()
        budget = self.budget()
        over = len(window) >= budget
        if not over:
            window.append(now)
        pct = min(100, round(100 * len(window) / max(1, budget)))
        regain = 0 if not over else max(1, round((_HOUR - (now - window[0])) / 60))
        header = {
            "X-Business-Use-Case-Usage": json.dumps(
                {
                    waba_id: [
                        {
                            "type": "whatsapp_business_management",
                            "call_count": pct,
                            "total_cputime": min(pct, 100) // 4,
                            "total_time": min(pct, 100) // 4,
                            "estimated_time_to_regain_access": regain,
                        }
                    ]
                }
            )
        }
        if over:
            raise ManagementRateLimited(header)
        return header

    def budget(self) -> int:
        """The hourly budget in force: this override, else the sandbox setting, else Meta's default."""
        if self.calls_per_hour is not None:
            return int(self.calls_per_hour)
        configured = getattr(self._state.config, "management_calls_per_hour", None)
        if configured is not None:
            return int(configured)
        active = any(phone.registered for phone in self.phones.values())
        return limits.MANAGEMENT_CALLS_PER_HOUR_ACTIVE if active else limits.MANAGEMENT_CALLS_PER_HOUR

    def is_registered(self, phone_number_id: str) -> bool:
        """False after a deregister (sends from the number should then fail with 133010)."""
        phone = self.phones.get(phone_number_id)
        return phone is None or phone.registered


class ManagementRateLimited(GraphError):
    """80007: the WABA's management budget is spent; ``headers`` carries the usage header to answer with."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__(
            80007,
            "Rate limit hit for management calls on this WhatsApp Business Account.",
            message="(#80007) Rate limit issues",
        )
        self.headers = headers


def management_state(state: SandboxState) -> ManagementState:
    """The management state of ``state``, created on first use and renewed by every sandbox reset."""
    current = state.management
    if current is None:
        current = state.management = ManagementState(state)
    return current
