"""The control API's business-portfolio limits: the messaging tier and its rolling count, the throughput
upgrade, prices (``/_sandbox/limits``, ``/_sandbox/throughput_upgrade``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

import wacloud.sandbox._payloads as _payloads
from wacloud import limits
from wacloud.sandbox._control_http import P, _body, _obj, control_endpoint
from wacloud.sandbox._errors import ControlError
from wacloud.sandbox._http import sandbox_of
from wacloud.sandbox._portfolio import capability_limit, tier_name


async def portfolio_limits(request: Request) -> Any:
    """GET/POST /_sandbox/limits: ``portfolio_tier``, ``enforce``, ``prices``, ``reset_count``, ``notify``."""
    state = sandbox_of(request)
    pf = state.portfolio
    if request.method == "POST":
        data = _obj(await _body(request))
        unknown = sorted(set(data) - {"portfolio_tier", "enforce", "prices", "reset_count", "notify"})
        if unknown:
            raise ControlError(f"unknown settings: {unknown}")
        try:
            name = tier_name(data["portfolio_tier"]) if "portfolio_tier" in data else None
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        enforce = data.get("enforce", pf.enforce)
        if not isinstance(enforce, bool):
            raise ControlError("enforce must be true or false")
        prices = data.get("prices", {})
        if not isinstance(prices, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in prices.values()):
            raise ControlError('prices must be an object of {"<category>": <non-negative price>}')
        pf.enforce = enforce
        pf.prices.update({str(k).lower(): float(v) for k, v in prices.items()})
        if data.get("reset_count"):
            pf.reach.clear()
        if name is not None and name != pf.tier_name:
            pf.tier_name = name
            if data.get("notify", True):
                # Meta tells the business with business_capability_update (-1: unlimited).
                value = {"max_daily_conversations_per_business": capability_limit(pf)}
                state.dispatcher.emit(state.config.waba_id, "business_capability_update", value, with_time=True)
    return pf.view(state.clock.now())


async def throughput_upgrade(request: Request) -> Any:
    """POST /_sandbox/throughput_upgrade: 131057 for ``after_s`` s, then ``mps`` and the webhook."""
    state = sandbox_of(request)
    data = _obj(await _body(request))
    pid = str(data.get("phone_number_id") or state.config.phone_number_id)
    if pid not in state.config.numbers:
        raise ControlError(f"unknown phone_number_id {pid!r}")
    after, mps = data.get("after_s", 1.0), data.get("mps", limits.UPGRADED_MPS)
    for name, value in (("after_s", after), ("mps", mps)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ControlError(f"{name} must be a non-negative number")
    if mps <= 0:
        raise ControlError("mps must be more than 0")
    now = state.clock.now()
    state.portfolio.upgrading[pid] = (now + float(after), float(mps))

    def done() -> None:
        """The upgrade is over: the number's bucket gets the new rate; Meta's webhook goes out."""
        if pid not in state.portfolio.upgrading:
            return
        _, rate = state.portfolio.upgrading.pop(pid)
        state.portfolio.upgraded[pid] = rate
        state.reconfigure_limits()
        value = {"display_phone_number": state.config.numbers.get(pid, ""), "event": "THROUGHPUT_UPGRADE",
                 "current_limit": state.portfolio.tier_name}
        state.dispatcher.emit(pid, "phone_number_quality_update", value, with_time=True)

    state.scheduler.after(float(after), done)
    return {"phone_number_id": pid, "upgrading_until": now + float(after), "mps": float(mps),
            "metadata": _payloads.metadata(state, pid)}


ROUTES: list[BaseRoute] = [
    Route(f"{P}/limits", control_endpoint(portfolio_limits), methods=["GET", "POST"]),
    Route(f"{P}/throughput_upgrade", control_endpoint(throughput_upgrade), methods=["POST"]),
]
