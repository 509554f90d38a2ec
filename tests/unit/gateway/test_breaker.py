"""The circuit breaker of one instance: closed → open → half-open (one trial) → closed or open again."""

from __future__ import annotations

import pytest

from kairos.gateway.domain.breaker import BreakerState, CircuitBreaker, Permit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def changes() -> list[BreakerState]:
    return []


@pytest.fixture
def breaker(clock: Clock, changes: list[BreakerState]) -> CircuitBreaker:
    return CircuitBreaker(failures=3, reset_after=10.0, clock=clock, on_change=changes.append)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        permit = breaker.permit()
        assert permit is not None
        breaker.failed(permit)


def granted(breaker: CircuitBreaker) -> Permit:
    permit = breaker.permit()
    assert permit is not None
    return permit


def test_a_closed_breaker_admits_everything_and_opens_at_the_threshold_of_consecutive_failures(
    breaker: CircuitBreaker, changes: list[BreakerState]
) -> None:
    fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.admits()

    fail(breaker, 1)

    assert breaker.state is BreakerState.OPEN
    assert not breaker.admits()
    assert breaker.permit() is None
    assert changes == [BreakerState.OPEN]


def test_a_success_resets_the_count_of_consecutive_failures(breaker: CircuitBreaker) -> None:
    fail(breaker, 2)
    breaker.succeeded(granted(breaker))
    fail(breaker, 2)

    assert breaker.state is BreakerState.CLOSED


def test_after_the_wait_exactly_one_trial_goes_through(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 3)
    clock.now += 9.9
    assert breaker.state is BreakerState.OPEN

    clock.now += 0.1
    assert breaker.state is BreakerState.HALF_OPEN
    trial = granted(breaker)

    assert trial.trial
    assert not breaker.admits(), "a second request waits for the trial's outcome"
    assert breaker.permit() is None


def test_a_successful_trial_closes_the_breaker(
    breaker: CircuitBreaker, clock: Clock, changes: list[BreakerState]
) -> None:
    fail(breaker, 3)
    clock.now += 10
    breaker.succeeded(granted(breaker))

    assert breaker.state is BreakerState.CLOSED
    assert breaker.admits()
    assert changes == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_a_failed_trial_opens_it_again_for_another_wait(
    breaker: CircuitBreaker, clock: Clock, changes: list[BreakerState]
) -> None:
    fail(breaker, 3)
    clock.now += 10
    breaker.failed(granted(breaker))

    assert breaker.state is BreakerState.OPEN
    clock.now += 9
    assert breaker.state is BreakerState.OPEN
    clock.now += 1
    assert breaker.state is BreakerState.HALF_OPEN
    assert changes == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.OPEN, BreakerState.HALF_OPEN]


def test_an_abandoned_trial_lets_the_next_request_be_the_trial(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 3)
    clock.now += 10
    breaker.abandoned(granted(breaker))

    assert breaker.permit() is not None


def test_answers_to_requests_sent_before_it_opened_do_not_count(breaker: CircuitBreaker, clock: Clock) -> None:
    slow = granted(breaker)
    fail(breaker, 3)
    clock.now += 10
    trial = granted(breaker)

    breaker.succeeded(slow)
    assert breaker.state is BreakerState.HALF_OPEN, "only the trial decides"
    breaker.failed(slow)
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.succeeded(trial)
    assert breaker.state is BreakerState.CLOSED


def test_a_breaker_needs_a_positive_threshold_and_wait() -> None:
    with pytest.raises(ValueError, match="at least one failure"):
        CircuitBreaker(failures=0, reset_after=1.0)
    with pytest.raises(ValueError, match="positive reset"):
        CircuitBreaker(failures=1, reset_after=0)
