"""The business numbers one gateway serves, each a lane of its own: client, outbox, workers, rate, quality.

Every number sends through its own :class:`~wacloud.delivery.Outbox` (the store keys jobs, pacing, pauses
and windows by phone number id), so one number's backlog or pause never holds another's messages. The
rate a lane paces to follows the number's throughput level (read from the Graph API at start, raised by
the ``THROUGHPUT_UPGRADE`` webhook); a change restarts only that lane's workers, gracefully.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from wacloud import errors
from wacloud.delivery import Outbox
from wacloud.gateway._clients import InstrumentedAsyncClient, LoggingAsyncClient
from wacloud.gateway._number_config import NumberSpec, display_digits
from wacloud.gateway._workers import WorkerSupervisor

log = logging.getLogger("wacloud.gateway.numbers")

#: The fields read from ``GET /{phone-number-id}`` at start.
PHONE_FIELDS = ("throughput", "quality_rating", "display_phone_number", "verified_name")


class UnknownNumber(LookupError):
    """``from`` names no number this gateway serves, or is needed and missing (the API answers 422)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass
class NumberLane:
    """One business number at run time."""

    spec: NumberSpec
    client: InstrumentedAsyncClient
    bot_client: LoggingAsyncClient
    outbox: Outbox
    workers: WorkerSupervisor
    #: The throughput level Meta reports (``STANDARD``, ``HIGH``…); None until read.
    level: str | None = None
    #: The quality rating Meta reports (``GREEN``, ``YELLOW``, ``RED``…); None until read.
    quality: str | None = None
    #: The latest ``phone_number_quality_update`` event (``FLAGGED``, ``THROUGHPUT_UPGRADE``…).
    quality_event: str | None = None
    #: The display number and verified name Meta reports (when the configuration gave none).
    display_phone_number: str | None = None
    verified_name: str | None = None
    #: Where the number comes from: ``config`` (the configuration file or environment) or ``api``
    #: (added by an admin through ``POST /v1/numbers``, kept in the database; only those can be removed).
    source: str = "config"

    @property
    def phone_number_id(self) -> str:
        """The number's id."""
        return self.spec.phone_number_id

    @property
    def display(self) -> str | None:
        """The display number: configured, else Meta's."""
        return self.spec.display_phone_number or self.display_phone_number

    @property
    def rate(self) -> float:
        """Messages per second this lane paces to now."""
        return float(self.outbox.pacing.mps)

    def set_level(self, level: str | None) -> bool:
        """Take a throughput level; True when the rate changed (the lane's workers are then restarted)."""
        if level is not None:
            self.level = level.upper()
        rate = self.spec.rate_for(self.level)
        if rate == self.outbox.pacing.mps:
            return False
        old = self.outbox.pacing.mps
        self.outbox.pacing = dataclasses.replace(self.outbox.pacing, mps=rate)
        log.info("number %s now paces at %s mps (was %s; throughput level %s)", self.phone_number_id, rate, old,
                 self.level, extra={"phone_number_id": self.phone_number_id, "mps": rate})
        # A running worker keeps the pacing it started with: restart it on the new rate.
        self.workers.restart()
        return True

    async def read_level(self) -> None:
        """Ask Meta for the number's throughput level and quality; a failure keeps the configured rate."""
        try:
            await self.check()
        except (errors.WhatsAppError, errors.TransportError) as exc:
            log.warning("could not read the throughput level of number %s (%s); pacing at %s mps", self.phone_number_id,
                        exc, self.rate)

    async def check(self) -> None:
        """Read the number from the Graph API with its own token (level, quality, display number); Meta's
        refusal (a wrong token, a number the token cannot reach) or a transport error is raised."""
        info = await self.client.get_phone_number(fields=list(PHONE_FIELDS), phone_number_id=self.phone_number_id)
        self.quality = info.quality_rating
        self.display_phone_number = info.display_phone_number
        self.verified_name = info.verified_name
        self.set_level(info.throughput.level if info.throughput is not None else None)

    def matches(self, text: str) -> bool:
        """True when ``text`` is this number's id or display number (any formatting)."""
        if text == self.phone_number_id:
            return True
        digits = display_digits(text)
        return bool(digits) and digits == display_digits(self.display or "")


class Numbers:
    """The lanes by phone number id, in configuration order (the first is the default number)."""

    def __init__(self, lanes: list[NumberLane] | None = None) -> None:
        self._lanes: dict[str, NumberLane] = {}
        #: The number a request without ``from`` sends from: set for a single-number configuration (the
        #: sandbox's second number is an extra), None when several numbers are configured (``from`` needed).
        self.implicit: str | None = None
        for lane in lanes or []:
            self.add(lane)

    def add(self, lane: NumberLane) -> None:
        """Serve one more number."""
        self._lanes[lane.phone_number_id] = lane

    def remove(self, phone_number_id: str) -> NumberLane | None:
        """Stop serving a number; its lane (None when it was not served)."""
        return self._lanes.pop(phone_number_id, None)

    def replace(self, lane: NumberLane) -> None:
        """Serve ``lane`` in place of the lane of the same number (its position kept)."""
        self._lanes[lane.phone_number_id] = lane

    def __iter__(self) -> Iterator[NumberLane]:
        return iter(list(self._lanes.values()))

    def __len__(self) -> int:
        return len(self._lanes)

    def ids(self) -> list[str]:
        """The phone number ids served."""
        return list(self._lanes)

    def get(self, phone_number_id: str | None) -> NumberLane | None:
        """The lane of ``phone_number_id`` (None: not served)."""
        return self._lanes.get(phone_number_id) if phone_number_id else None

    def by_display(self, display: str | None) -> NumberLane | None:
        """The lane whose display number is ``display`` (any formatting), else None."""
        digits = display_digits(display or "")
        if not digits:
            return None
        return next((lane for lane in self._lanes.values() if display_digits(lane.display or "") == digits), None)

    @property
    def default(self) -> NumberLane | None:
        """The first configured number."""
        return next(iter(self._lanes.values()), None)

    def resolve(self, sender: str | None) -> NumberLane:
        """The lane a request's ``from`` names (a phone number id or a display number).

        Without ``from``: the only number, or the implicit one (single-number settings); else
        :class:`UnknownNumber`.
        """
        if sender is None or (isinstance(sender, str) and not sender.strip()):
            if len(self._lanes) == 1:
                return next(iter(self._lanes.values()))
            if self.implicit is not None and self.implicit in self._lanes:
                return self._lanes[self.implicit]
            raise UnknownNumber(f"this gateway serves {len(self._lanes)} numbers; say which one sends with "
                                f"\"from\" (one of {', '.join(self._lanes)})")
        if not isinstance(sender, str):
            raise UnknownNumber("must be a phone number id or a display phone number (a string)")
        text = sender.strip()
        found = self.get(text) or next((lane for lane in self._lanes.values() if lane.matches(text)), None)
        if found is None:
            raise UnknownNumber(f"{text[:64]!r} is not a number this gateway serves (one of {', '.join(self._lanes)})")
        return found


__all__ = ["PHONE_FIELDS", "NumberLane", "Numbers", "UnknownNumber"]
