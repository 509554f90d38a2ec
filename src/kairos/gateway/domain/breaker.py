"""A circuit breaker per upstream instance (Nygard, *Release It!*, "Circuit Breaker").

Closed, it counts consecutive failures; at the threshold it opens and the instance gets no requests. After
``reset_after`` seconds it is half-open: exactly one trial request goes through, whose outcome closes it or
opens it again. Only the trial's outcome counts while half-open; answers to requests sent before it opened
are ignored, so a slow old success cannot close it.

Not purgatory, aiobreaker or pybreaker: each lets every concurrent request through while half-open, reads the
wall clock, and offers no way to ask "would you admit one?" without taking a call, which a balancer needs to
skip an open instance; pybreaker's asyncio support needs Tornado, aiobreaker is unmaintained since 2021.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half-open"
    OPEN = "open"


@dataclass(frozen=True, eq=False)
class Permit:
    """Leave to send one request through the breaker; hand it back with the outcome."""

    trial: bool
    generation: int


class CircuitBreaker:
    def __init__(
        self,
        *,
        failures: int,
        reset_after: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        if failures < 1 or reset_after <= 0:
            raise ValueError("a breaker needs at least one failure to open and a positive reset time")
        self._threshold = failures
        self._reset_after = reset_after
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self._generation = 0  # bumped on every transition: permits from before it no longer count

    @property
    def state(self) -> BreakerState:
        """The state as of now: an open breaker whose wait is over reads as half-open."""
        self._half_open_when_due()
        return self._state

    def admits(self) -> bool:
        """Whether a request may go to this instance now (asks, takes nothing)."""
        state = self.state
        return state is BreakerState.CLOSED or (state is BreakerState.HALF_OPEN and not self._trial_in_flight)

    def permit(self) -> Permit | None:
        """Leave for one request, or None when the breaker refuses it; half-open, the one trial."""
        if not self.admits():
            return None
        if self._state is BreakerState.HALF_OPEN:
            self._trial_in_flight = True
            return Permit(trial=True, generation=self._generation)
        return Permit(trial=False, generation=self._generation)

    def succeeded(self, permit: Permit) -> None:
        if permit.generation != self._generation:
            return
        if self._state is BreakerState.HALF_OPEN and permit.trial:
            self._become(BreakerState.CLOSED)
        elif self._state is BreakerState.CLOSED:
            self._failures = 0

    def failed(self, permit: Permit) -> None:
        if permit.generation != self._generation:
            return
        if self._state is BreakerState.HALF_OPEN and permit.trial:
            self._become(BreakerState.OPEN)
        elif self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self._threshold:
                self._become(BreakerState.OPEN)

    def abandoned(self, permit: Permit) -> None:
        """The request ended with no verdict on the instance (the client went away): free the trial."""
        if permit.trial and permit.generation == self._generation:
            self._trial_in_flight = False

    def _half_open_when_due(self) -> None:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self._reset_after:
            self._become(BreakerState.HALF_OPEN)

    def _become(self, state: BreakerState) -> None:
        self._state = state
        self._generation += 1
        self._failures = 0
        self._trial_in_flight = False
        if state is BreakerState.OPEN:
            self._opened_at = self._clock()
        if self._on_change is not None:
            self._on_change(state)
