"""When an instance is in rotation: active checks with thresholds, passive ejection, re-admission."""

from __future__ import annotations

from kairos.gateway.domain.health import Change, Health, Thresholds

THRESHOLDS = Thresholds(healthy=2, unhealthy=3, eject_after=2)


def seen_healthy() -> Health:
    health = Health(THRESHOLDS)
    health.check_passed()
    return health


def test_an_instance_starts_in_rotation() -> None:
    assert Health(THRESHOLDS).in_rotation


def test_failed_checks_take_it_out_at_the_unhealthy_threshold() -> None:
    health = seen_healthy()

    assert [health.check_failed() for _ in range(3)] == [Change.UNCHANGED, Change.UNCHANGED, Change.UNHEALTHY]
    assert not health.in_rotation


def test_a_passed_check_restarts_the_count_of_failed_ones() -> None:
    health = seen_healthy()
    health.check_failed()
    health.check_failed()
    health.check_passed()
    health.check_failed()
    health.check_failed()

    assert health.in_rotation


def test_it_comes_back_after_the_healthy_threshold_of_consecutive_passes() -> None:
    health = seen_healthy()
    for _ in range(3):
        health.check_failed()

    assert health.check_passed() is Change.UNCHANGED
    assert not health.in_rotation
    assert health.check_passed() is Change.ADMITTED
    assert health.in_rotation


def test_an_instance_that_never_answered_is_not_taken_out_by_checks_and_its_first_pass_is_enough() -> None:
    starting = Health(THRESHOLDS)
    for _ in range(10):
        assert starting.check_failed() is Change.UNCHANGED
    assert starting.in_rotation, "a service still starting is not condemned by the gateway starting first"

    dead_from_the_start = Health(THRESHOLDS)
    dead_from_the_start.request_failed()
    dead_from_the_start.request_failed()
    assert not dead_from_the_start.in_rotation
    assert dead_from_the_start.check_passed() is Change.ADMITTED


def test_consecutive_failed_requests_eject_it_until_checks_pass_again() -> None:
    health = seen_healthy()

    assert health.request_failed() is Change.UNCHANGED
    assert health.request_failed() is Change.EJECTED
    assert not health.in_rotation
    assert health.check_passed() is Change.UNCHANGED, "passes before the ejection do not count"
    assert health.check_passed() is Change.ADMITTED
    assert health.request_failed() is Change.UNCHANGED, "back with a clean slate"


def test_a_successful_request_restarts_the_count_of_failed_ones() -> None:
    health = seen_healthy()
    health.request_failed()
    health.request_succeeded()
    health.request_failed()

    assert health.in_rotation
