"""How long a consumer waits before retrying a failed event, and when it parks it."""

from __future__ import annotations

import pytest

from kairos.platform.events.parking import next_retry_delay

DELAYS = (1.0, 5.0, 30.0)


@pytest.mark.parametrize(("failed_attempts", "delay"), [(1, 1.0), (2, 5.0), (3, 30.0)])
def test_each_failure_waits_the_next_delay_in_turn(failed_attempts: int, delay: float) -> None:
    assert next_retry_delay(failed_attempts, DELAYS) == delay


@pytest.mark.parametrize("failed_attempts", [4, 50])
def test_a_failure_after_the_last_delay_parks_the_event(failed_attempts: int) -> None:
    assert next_retry_delay(failed_attempts, DELAYS) is None


def test_without_delays_the_first_failure_parks_the_event() -> None:
    assert next_retry_delay(1, ()) is None


@pytest.mark.parametrize("failed_attempts", [0, -1])
def test_a_delay_is_only_asked_for_after_a_failure(failed_attempts: int) -> None:
    with pytest.raises(ValueError, match="at least one attempt has failed"):
        next_retry_delay(failed_attempts, DELAYS)
