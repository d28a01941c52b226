"""The retry policy follows the error table; the pacing math is exact."""

from __future__ import annotations

import random

import httpx
import pytest

from wacloud import errors
from wacloud.delivery import Action, InFlightPolicy, Pacing, RetryPolicy
from wacloud.delivery.pacing import pair_hold_until, pair_take, reserve
from wacloud.delivery.worker import is_ambiguous


def policy(**kw: object) -> RetryPolicy:
    return RetryPolicy(rng=random.Random(7), **kw)  # type: ignore[arg-type]


def test_throughput_backoff_is_exponential_with_jitter_and_capped() -> None:
    p = policy()
    delays = [p.decide(130429, 400, throttles=n).delay_s for n in range(10)]
    for n, d in enumerate(delays):
        nominal = min(60.0, 2.0 ** n)
        assert nominal * 0.5 <= d <= nominal
    d = p.decide(130429, 400, throttles=3)
    assert d.action is Action.RETRY and d.counter == "throttles"


def test_throughput_gives_up_after_max_throttles() -> None:
    assert policy(max_throttles=3).decide(130429, 400, throttles=2).action is Action.DEAD


def test_pair_rate_waits_four_to_the_n_for_this_recipient() -> None:
    p = policy()
    got = [p.decide(131056, 400, pair_retries=n) for n in range(4)]
    assert [d.delay_s for d in got] == [1.0, 4.0, 16.0, 64.0]
    assert all(d.action is Action.RETRY_RECIPIENT and d.counter == "pair_retries" for d in got)
    assert p.decide(131056, 400, pair_retries=5).action is Action.DEAD


@pytest.mark.parametrize("code,status", [(131000, 500), (131016, 503), (131057, 500), (1, 500), (2, 503)])
def test_transient_errors_retry_a_bounded_number_of_times(code: int, status: int) -> None:
    p = policy(max_failures=3)
    assert p.decide(code, status, failures=0).action is Action.RETRY
    assert p.decide(code, status, failures=1).counter == "failures"
    dead = p.decide(code, status, failures=2)
    assert dead.action is Action.DEAD and f"#{code}" in dead.reason


def test_unknown_5xx_code_backs_off() -> None:
    assert policy().decide(999999, 502).action is Action.RETRY


@pytest.mark.parametrize("code", [190, 0, 10, 200, 131005])
def test_auth_errors_pause_without_burning_a_counter(code: int) -> None:
    d = policy(auth_pause_s=30).decide(code, 401)
    assert d.action is Action.PAUSE and d.delay_s == 30 and d.counter is None


def test_window_closed_uses_the_fallback_once() -> None:
    p = policy()
    assert p.decide(131047, 400, has_fallback=True).action is Action.FALLBACK
    assert p.decide(131047, 400, has_fallback=True, used_fallback=True).action is Action.FAIL
    assert p.decide(131047, 400).action is Action.FAIL


def test_marketing_opt_out_fails_and_is_recorded() -> None:
    d = policy().decide(131050, 400)
    assert d.action is Action.FAIL and d.opt_out


@pytest.mark.parametrize("code", [131026, 131030, 130403, 100, 131008, 132001])
def test_final_codes_fail_at_once(code: int) -> None:
    d = policy().decide(code, 400)
    assert d.action is Action.FAIL and not d.opt_out


def test_transport_failures_follow_the_in_flight_policy() -> None:
    most = policy()
    assert most.transport(ambiguous=True, failures=0, reason="x").action is Action.UNCERTAIN
    assert most.transport(ambiguous=False, failures=0, reason="x").action is Action.RETRY
    least = policy(in_flight=InFlightPolicy.AT_LEAST_ONCE)
    assert least.transport(ambiguous=True, failures=0, reason="x").action is Action.RETRY


def test_connect_errors_are_not_ambiguous_but_read_errors_are() -> None:
    def wrapped(exc: Exception) -> errors.TransportError:
        try:
            raise errors.TransportError(f"POST p: {type(exc).__name__}: boom") from exc
        except errors.TransportError as e:
            return e

    assert not is_ambiguous(wrapped(httpx.ConnectError("refused")))
    assert is_ambiguous(wrapped(httpx.ReadTimeout("slow")))
    assert is_ambiguous(wrapped(httpx.RemoteProtocolError("dropped")))


def test_reserve_never_overlaps_and_never_banks_idle_time() -> None:
    start, tat = reserve(None, 100.0, 10, 0.1)
    assert (start, tat) == (100.0, pytest.approx(101.0))
    start2, tat2 = reserve(tat, 100.5, 5, 0.1)
    assert start2 == pytest.approx(101.0) and tat2 == pytest.approx(101.5)
    start3, _ = reserve(tat2, 500.0, 1, 0.1)
    assert start3 == 500.0


def test_pair_bucket_allows_the_burst_then_one_per_interval() -> None:
    tat = None
    now = 1000.0
    granted = 0
    for _ in range(5):
        ok, value = pair_take(tat, now, 6.0, 3)
        if ok:
            granted += 1
            tat = value
    assert granted == 3
    ok, available = pair_take(tat, now, 6.0, 3)
    assert not ok and available == pytest.approx(now + 6.0)
    assert pair_take(tat, available, 6.0, 3)[0]
    # After a 131056 the recipient is held until exactly ``until``.
    held = pair_hold_until(2000.0, 6.0, 3)
    assert not pair_take(held, 1999.0, 6.0, 3)[0] and pair_take(held, 2000.0, 6.0, 3)[0]


@pytest.mark.parametrize("mps", [20, 80, 1000])
def test_documented_rates_are_accepted(mps: int) -> None:
    assert Pacing(mps=mps, utilisation=1.0).interval_s == pytest.approx(1 / mps)


@pytest.mark.parametrize("kw", [{"mps": 0}, {"mps": 1001}, {"pair_burst": 0}, {"pair_burst": 46},
                                {"utilisation": 1.5}])
def test_impossible_pacing_is_refused(kw: dict[str, float]) -> None:
    with pytest.raises(errors.ValidationError):
        Pacing(**kw)  # type: ignore[arg-type]
