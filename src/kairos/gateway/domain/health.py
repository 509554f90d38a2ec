"""Whether an instance is in rotation: active health checks and passive ejection, with thresholds.

- Active: ``unhealthy_threshold`` consecutive failed checks take an instance out, ``healthy_threshold``
  consecutive passed checks put it back. An instance that has never passed a check is put back by its first
  pass (a service that was still starting), and failed checks do not take it out before it has ever passed:
  until then it stays in rotation, and passive ejection takes it out if it refuses connections.
- Passive: ``eject_after`` consecutive failed requests (connection failures, 5xx) eject the instance; it
  comes back only through the active checks, as above.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Change(StrEnum):
    UNCHANGED = "unchanged"
    ADMITTED = "admitted"
    UNHEALTHY = "unhealthy"  # taken out by failed checks
    EJECTED = "ejected"  # taken out by failed requests


@dataclass(frozen=True)
class Thresholds:
    healthy: int = 2
    unhealthy: int = 2
    eject_after: int = 5

    def __post_init__(self) -> None:
        if min(self.healthy, self.unhealthy, self.eject_after) < 1:
            raise ValueError("every threshold is at least 1")


class Health:
    def __init__(self, thresholds: Thresholds) -> None:
        self._thresholds = thresholds
        self.in_rotation = True
        self.has_passed = False
        self._passes = 0
        self._check_failures = 0
        self._request_failures = 0

    def check_passed(self) -> Change:
        self._passes += 1
        self._check_failures = 0
        first_pass = not self.has_passed
        self.has_passed = True
        if not self.in_rotation and (first_pass or self._passes >= self._thresholds.healthy):
            return self._admit()
        return Change.UNCHANGED

    def check_failed(self) -> Change:
        self._passes = 0
        self._check_failures += 1
        if self.in_rotation and self.has_passed and self._check_failures >= self._thresholds.unhealthy:
            self.in_rotation = False
            return Change.UNHEALTHY
        return Change.UNCHANGED

    def request_succeeded(self) -> None:
        self._request_failures = 0

    def request_failed(self) -> Change:
        self._request_failures += 1
        if self.in_rotation and self._request_failures >= self._thresholds.eject_after:
            self.in_rotation = False
            self._passes = 0  # only checks passed from now on bring it back
            return Change.EJECTED
        return Change.UNCHANGED

    def _admit(self) -> Change:
        self.in_rotation = True
        self._request_failures = 0
        return Change.ADMITTED
