"""Which instance of a service takes the next request: round robin, or least outstanding requests."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from kairos.gateway.domain.breaker import BreakerState, CircuitBreaker
from kairos.gateway.domain.health import Health, Thresholds


class Instance:
    """One instance of a service: where it is, whether it is in rotation, its breaker, its load."""

    def __init__(
        self,
        url: str,
        *,
        thresholds: Thresholds,
        breaker_failures: int,
        breaker_reset_after: float,
        clock: Callable[[], float] = time.monotonic,
        on_breaker_change: Callable[[Instance, BreakerState], None] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.health = Health(thresholds)
        self.breaker = CircuitBreaker(
            failures=breaker_failures,
            reset_after=breaker_reset_after,
            clock=clock,
            on_change=None if on_breaker_change is None else lambda state: on_breaker_change(self, state),
        )
        self.outstanding = 0  # requests sent and not yet fully answered

    def is_available(self) -> bool:
        return self.health.in_rotation and self.breaker.admits()

    def __repr__(self) -> str:
        return f"Instance({self.url!r})"


class Balancer(Protocol):
    def pick(self, instances: Sequence[Instance], *, exclude: Collection[Instance] = ()) -> Instance | None:
        """An available instance not in ``exclude``, or None."""
        ...


class RoundRobin:
    """Each available instance in turn; an unavailable one is skipped, not waited for."""

    def __init__(self) -> None:
        self._next = 0

    def pick(self, instances: Sequence[Instance], *, exclude: Collection[Instance] = ()) -> Instance | None:
        count = len(instances)
        for offset in range(count):
            candidate = instances[(self._next + offset) % count]
            if candidate not in exclude and candidate.is_available():
                self._next = (self._next + offset + 1) % count
                return candidate
        return None


class LeastOutstanding:
    """The available instance with the fewest requests in flight; ties are taken in turn."""

    def __init__(self) -> None:
        self._next = 0

    def pick(self, instances: Sequence[Instance], *, exclude: Collection[Instance] = ()) -> Instance | None:
        count = len(instances)
        best: Instance | None = None
        best_offset = 0
        for offset in range(count):
            candidate = instances[(self._next + offset) % count]
            if candidate in exclude or not candidate.is_available():
                continue
            if best is None or candidate.outstanding < best.outstanding:
                best, best_offset = candidate, offset
        if best is not None:
            self._next = (self._next + best_offset + 1) % count
        return best


BALANCERS: dict[str, Callable[[], Balancer]] = {"round-robin": RoundRobin, "least-outstanding": LeastOutstanding}
