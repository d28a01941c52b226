"""``SandboxConfig``: every knob of the sandbox, with defaults that are safe to run with no arguments."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from wacloud import limits

#: How an undeliverable outcome reaches the business: in the HTTP answer, or as a ``failed`` status.
Channel = Literal["sync", "webhook"]

#: Codes whose channel is configurable, and the default (see docs/sandbox.md for the reasons).
DEFAULT_FAILURE_CHANNELS: dict[int, Channel] = {
    131026: "webhook",  # not on WhatsApp: Meta accepts the call and fails the status
    131047: "webhook",  # window closed: arrives as a failed status (facts §8, digest §10.5)
    131050: "webhook",  # marketing opt-out: a failed status on the template
    130403: "webhook",  # blocked by the business: reported on the status, like the others
}


def _number(name: str, value: Any, most: float | None) -> float:
    """``value`` as a float between 0 and ``most`` (no upper bound when None), else a ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: must be a number, got {value!r}")
    if not 0 <= value <= (most if most is not None else float("inf")):
        raise ValueError(
            f"{name}: must be between 0 and {most:g}, got {value!r}"
            if most is not None
            else f"{name}: must be 0 or more, got {value!r}"
        )
    return float(value)


def _fault_code(key: Any) -> int:
    """A Cloud API error code from a JSON key, else a ``ValueError``."""
    from wacloud import errors

    try:
        code = int(key)
    except (TypeError, ValueError):
        raise ValueError(f"codes: {key!r} is not an error code") from None
    if code not in errors.ERROR_CODES:
        raise ValueError(f"codes: {code} is not a Cloud API error code")
    return code


@dataclass(slots=True)
class Faults:
    """Fault injection; every ``*_rate`` is a probability per request, drawn from the seeded RNG."""

    error_500_rate: float = 0.0
    error_503_rate: float = 0.0
    #: Close the socket without answering, before the request is processed (nothing was sent).
    drop_rate: float = 0.0
    #: Process and accept the message, then close the socket (the caller cannot know it was sent).
    drop_after_accept_rate: float = 0.0
    #: Hold the request for ``timeout_s`` and then close the socket unanswered.
    timeout_rate: float = 0.0
    timeout_s: float = 30.0
    latency_s: float = 0.0
    latency_jitter_s: float = 0.0
    #: Synchronous error codes answered at random on sends, e.g. ``{131000: 0.05, 130429: 0.01}``.
    codes: dict[int, float] = field(default_factory=dict)
    #: Accept the message (200 + wamid) but never emit any status for it.
    never_deliver_rate: float = 0.0

    def update(self, data: dict[str, Any]) -> None:
        """Apply a partial update from JSON (unknown keys raise ``KeyError``, bad values ``ValueError``).

        Nothing is applied unless every value is valid: a rate is 0–1, a duration 0 or more, a code one
        of the Cloud API's (the same rules as ``wacloud sandbox``'s fault flags)."""
        known = {f.name for f in fields(self)}
        checked: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise KeyError(key)
            if key == "codes":
                if not isinstance(value, dict):
                    raise ValueError('codes: must be an object of {"<code>": <rate>}')
                checked[key] = {_fault_code(k): _number(f"codes.{k}", v, 1.0) for k, v in value.items()}
            else:
                checked[key] = _number(key, value, 1.0 if key.endswith("_rate") else None)
        for key, value in checked.items():
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        """JSON view."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["codes"] = {str(k): v for k, v in self.codes.items()}
        return out


@dataclass(slots=True)
class SandboxConfig:
    """Settings of one sandbox instance (ids, secrets, limits, schedules, faults)."""

    access_token: str = "sandbox-token"
    phone_number_id: str = "106540352242922"
    display_phone_number: str = "15550783881"
    waba_id: str = "102290129340398"
    #: More business numbers: ``[{"phone_number_id": ..., "display_phone_number": ...}]``, each optionally
    #: with its own ``waba_id`` (default: the main WABA) and ``mps`` (default: ``mps``). ``build_config``
    #: also takes the whole list as ``phone_numbers`` (the first entry is then the main number).
    extra_phone_numbers: list[dict[str, Any]] = field(default_factory=list)
    #: Simulate a business portfolio with parent BSUIDs (``parent_user_id``, ``US.ENT.…``) in webhooks.
    parent_user_ids: bool = False
    app_secret: str = "sandbox-app-secret"
    #: Where webhooks are POSTed; None keeps them in the sandbox's records only.
    webhook_url: str | None = None
    #: Messages per second per business number (20, 80 or 1000 in Meta's tiers).
    mps: float = limits.DEFAULT_MPS
    #: Throughput bucket capacity; None means one second's worth (``mps``).
    burst: float | None = None
    pair_rate_interval_s: float = limits.PAIR_RATE_INTERVAL_S
    pair_rate_burst: int = limits.PAIR_RATE_BURST
    #: HTTP status for 130429 (Meta answers 400 today; older docs said 429).
    throttle_http_status: int = 400
    seed: int = 0
    #: Code for a request without any token: 190 (as the issue asks) or 104 (Meta's Graph code).
    missing_token_code: int = 190
    #: Version used by unversioned paths.
    default_version: str = limits.DEFAULT_API_VERSION
    #: Seconds after acceptance at which each status is emitted (None: never).
    sent_after_s: float | None = 0.0
    delivered_after_s: float | None = 0.05
    read_after_s: float | None = 0.1
    played_after_s: float | None = 0.15
    #: Unknown recipients: "auto" creates them (on WhatsApp, window closed); "undeliverable" fails 131026.
    unknown_recipients: Literal["auto", "undeliverable"] = "auto"
    failure_channels: dict[int, Channel] = field(default_factory=lambda: dict(DEFAULT_FAILURE_CHANNELS))
    #: Seconds a new template stays PENDING before it is APPROVED (None: only the control API decides).
    template_review_s: float | None = 1.0
    #: Template pacing: a paced template answers ``accepted`` for this many sends, then holds the rest.
    template_pacing_threshold: int = 3
    #: Pace every marketing/utility template created through the Graph API (Meta paces new ones).
    pace_new_templates: bool = False
    #: Webhook delivery: retry delays after a non-200 (compressed time), then the delivery is given up.
    webhook_retry_delays_s: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
    webhook_timeout_s: float = 5.0
    webhook_concurrency: int = 4
    #: Statuses ready at the same moment share one POST, up to this many (1 disables batching), after
    #: waiting ``webhook_linger_s`` for more (Meta batches statuses under load too).
    webhook_batch_max: int = 100
    webhook_linger_s: float = 0.005
    webhook_queue_max: int = 200_000
    #: Probability that a delivered webhook is delivered a second time.
    duplicate_rate: float = 0.0
    #: Probability that a status is held back by up to ``reorder_window_s`` (so later ones overtake it).
    reorder_rate: float = 0.0
    reorder_window_s: float = 0.2
    #: Records kept for the control API (counters stay exact beyond this).
    log_max: int = 1_000_000
    #: Rolling-hour budget of WABA-level management calls (read by the management routes).
    management_calls_per_hour: int = limits.MANAGEMENT_CALLS_PER_HOUR
    customers: list[dict[str, Any]] = field(default_factory=list)
    customers_file: str | None = None
    faults: Faults = field(default_factory=Faults)

    def copy(self) -> SandboxConfig:
        """A deep-enough copy (so a reset can restore the original settings)."""
        return replace(
            self,
            failure_channels=dict(self.failure_channels),
            customers=[dict(c) for c in self.customers],
            extra_phone_numbers=[dict(n) for n in self.extra_phone_numbers],
            faults=replace(self.faults, codes=dict(self.faults.codes)),
        )

    @property
    def numbers(self) -> dict[str, str]:
        """Every business number: phone number id → display phone number."""
        out = {self.phone_number_id: self.display_phone_number}
        for number in self.extra_phone_numbers:
            out[str(number["phone_number_id"])] = str(number["display_phone_number"])
        return out

    def token_of(self, phone_number_id: str) -> str:
        """The token that reaches a business number: its own (a number of another Meta app or system user,
        ``access_token`` in its entry), else the sandbox's."""
        for number in self.extra_phone_numbers:
            if str(number["phone_number_id"]) == phone_number_id and number.get("access_token"):
                return str(number["access_token"])
        return self.access_token

    @property
    def tokens(self) -> list[str]:
        """Every token the sandbox accepts: its own, then the numbers' own."""
        return [self.access_token, *(str(n["access_token"]) for n in self.extra_phone_numbers if n.get("access_token"))]

    def waba_of(self, phone_number_id: str | None) -> str:
        """The WABA a business number belongs to (the main WABA for the main or an unknown number)."""
        for number in self.extra_phone_numbers:
            if str(number["phone_number_id"]) == phone_number_id and number.get("waba_id"):
                return str(number["waba_id"])
        return self.waba_id

    @property
    def wabas(self) -> list[str]:
        """Every WABA id the sandbox serves, the main one first."""
        out = [self.waba_id]
        for number in self.extra_phone_numbers:
            waba = str(number.get("waba_id") or self.waba_id)
            if waba not in out:
                out.append(waba)
        return out

    def number_rates(self) -> dict[str, float]:
        """Numbers with a throughput of their own: phone number id → messages per second."""
        return {str(n["phone_number_id"]): float(n["mps"]) for n in self.extra_phone_numbers if n.get("mps")}

    @property
    def bucket_capacity(self) -> float:
        """Capacity of the throughput bucket."""
        return self.burst if self.burst is not None else float(self.mps)

    def public_dict(self) -> dict[str, Any]:
        """JSON view without the secrets."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("access_token", "app_secret", "customers"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, Faults):
                value = value.as_dict()
            elif isinstance(value, tuple):
                value = list(value)
            elif f.name == "failure_channels":
                value = {str(k): v for k, v in value.items()}
            elif f.name == "extra_phone_numbers":
                # A number's own token is a secret too.
                value = [{k: v for k, v in n.items() if k != "access_token"} for n in value]
            out[f.name] = value
        return out

    def __repr__(self) -> str:
        # Secrets never appear in reprs.
        return (
            f"SandboxConfig(phone_number_id={self.phone_number_id!r}, waba_id={self.waba_id!r}, "
            f"webhook_url={self.webhook_url!r}, mps={self.mps!r}, seed={self.seed!r})"
        )


#: Settings the control API may change at run time (POST /_sandbox/config).
MUTABLE_SETTINGS: frozenset[str] = frozenset(
    {
        "webhook_url",
        "mps",
        "burst",
        "pair_rate_interval_s",
        "pair_rate_burst",
        "throttle_http_status",
        "sent_after_s",
        "delivered_after_s",
        "read_after_s",
        "played_after_s",
        "unknown_recipients",
        "template_review_s",
        "template_pacing_threshold",
        "pace_new_templates",
        "webhook_retry_delays_s",
        "webhook_timeout_s",
        "webhook_batch_max",
        "webhook_linger_s",
        "duplicate_rate",
        "reorder_rate",
        "reorder_window_s",
        "missing_token_code",
        "failure_channels",
        "app_secret",
    }
)

#: Run-time settings that must be more than zero (a rate of 0 mps would never send).
_POSITIVE = frozenset({"mps", "burst", "pair_rate_burst", "webhook_timeout_s", "webhook_batch_max"})


def check_setting(name: str, value: Any) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` fits that run-time setting (POST /_sandbox/config)."""
    kind = {f.name: str(f.type) for f in fields(SandboxConfig)}[name]
    if value is None and kind.endswith("| None"):
        return
    if name == "webhook_url":
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise ValueError(f"webhook_url: must be an http:// or https:// URL (or null), got {value!r}")
    elif name == "app_secret":
        if not isinstance(value, str) or not value:
            raise ValueError("app_secret: must be a non-empty string")
    elif name == "unknown_recipients":
        if value not in ("auto", "undeliverable"):
            raise ValueError(f'unknown_recipients: must be "auto" or "undeliverable", got {value!r}')
    elif name == "failure_channels":
        if not isinstance(value, dict):
            raise ValueError('failure_channels: must be an object of {"<code>": "sync" or "webhook"}')
        for code, channel in value.items():
            if str(code) not in {str(c) for c in DEFAULT_FAILURE_CHANNELS}:
                raise ValueError(f"failure_channels: {code!r} is not one of {sorted(DEFAULT_FAILURE_CHANNELS)}")
            if channel not in ("sync", "webhook"):
                raise ValueError(f'failure_channels.{code}: must be "sync" or "webhook", got {channel!r}')
    elif name == "webhook_retry_delays_s":
        if not isinstance(value, list | tuple):
            raise ValueError("webhook_retry_delays_s: must be a list of seconds")
        for delay in value:
            _number(name, delay, None)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name}: must be true or false, got {value!r}")
    else:
        if kind.startswith("int") and not (isinstance(value, int) and not isinstance(value, bool)):
            raise ValueError(f"{name}: must be a whole number, got {value!r}")
        _number(name, value, 1.0 if name.endswith("_rate") else None)
        if name in _POSITIVE and value == 0:
            raise ValueError(f"{name}: must be more than 0")
        if name == "throttle_http_status" and not 400 <= value <= 599:
            raise ValueError(f"throttle_http_status: must be an HTTP error status (400–599), got {value!r}")


_ALIASES = {"token": "access_token"}


def _phone_numbers(cfg: SandboxConfig, value: Any) -> None:
    """Apply the list form of the business numbers: the first is the main number, the rest are extra."""
    if not isinstance(value, list | tuple) or not value:
        raise ValueError("phone_numbers: must be a non-empty list of numbers")
    checked: list[dict[str, Any]] = []
    for i, number in enumerate(value):
        if not isinstance(number, dict):
            raise ValueError(f"phone_numbers[{i}]: must be an object")
        unknown = set(number) - {"phone_number_id", "display_phone_number", "waba_id", "mps", "access_token"}
        if unknown:
            raise ValueError(f"phone_numbers[{i}]: unknown keys {sorted(unknown)}")
        for key in ("phone_number_id", "display_phone_number"):
            if not str(number.get(key, "")).isdigit():
                raise ValueError(f"phone_numbers[{i}].{key}: must be digits")
        if number.get("waba_id") is not None and not str(number["waba_id"]).isdigit():
            raise ValueError(f"phone_numbers[{i}].waba_id: must be digits")
        if number.get("access_token") is not None and (not isinstance(number["access_token"], str)
                                                       or not number["access_token"]):
            raise ValueError(f"phone_numbers[{i}].access_token: must be a non-empty string")
        if number.get("mps") is not None and _number(f"phone_numbers[{i}].mps", number["mps"], None) == 0:
            raise ValueError(f"phone_numbers[{i}].mps: must be more than 0")
        checked.append({k: (v if k == "mps" else str(v)) for k, v in number.items() if v is not None})
    ids = [n["phone_number_id"] for n in checked]
    if len(set(ids)) != len(ids):
        raise ValueError("phone_numbers: each phone_number_id may appear once")
    main, *extra = checked
    cfg.phone_number_id = main["phone_number_id"]
    cfg.display_phone_number = main["display_phone_number"]
    cfg.waba_id = main.get("waba_id", cfg.waba_id)
    if "mps" in main:
        cfg.mps = float(main["mps"])
    cfg.extra_phone_numbers = [{"waba_id": cfg.waba_id, **n} for n in extra]


def build_config(config: SandboxConfig | None = None, **overrides: Any) -> SandboxConfig:
    """``config`` (or the defaults) with keyword overrides; ``faults`` may be a dict; unknown keys raise."""
    cfg = config.copy() if config is not None else SandboxConfig()
    known = {f.name for f in fields(SandboxConfig)}
    numbers = overrides.pop("phone_numbers", None)
    for key, value in overrides.items():
        key = _ALIASES.get(key, key)
        if key not in known:
            raise TypeError(f"unknown sandbox setting {key!r}")
        if key == "faults" and isinstance(value, dict):
            faults = Faults()
            faults.update(value)
            value = faults
        elif key == "webhook_retry_delays_s":
            value = tuple(float(v) for v in value)
        elif key == "failure_channels":
            value = {**cfg.failure_channels, **{int(k): v for k, v in dict(value).items()}}
        setattr(cfg, key, value)
    if numbers is not None:
        _phone_numbers(cfg, numbers)
    return cfg
