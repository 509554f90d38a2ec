"""Which instance takes the next request."""

from __future__ import annotations

import pytest

from kairos.gateway.domain.balancing import Instance, LeastOutstanding, RoundRobin
from kairos.gateway.domain.health import Thresholds


def instances(*names: str) -> list[Instance]:
    return [
        Instance(
            f"http://{name}:8002/", thresholds=Thresholds(eject_after=1), breaker_failures=1, breaker_reset_after=60
        )
        for name in names
    ]


def eject(instance: Instance) -> None:
    instance.health.request_failed()


def open_breaker(instance: Instance) -> None:
    permit = instance.breaker.permit()
    assert permit is not None
    instance.breaker.failed(permit)


def test_round_robin_takes_each_instance_in_turn() -> None:
    a, b, c = instances("a", "b", "c")
    balancer = RoundRobin()

    assert [balancer.pick([a, b, c]) for _ in range(7)] == [a, b, c, a, b, c, a]


def test_round_robin_skips_an_instance_out_of_rotation_or_with_an_open_breaker() -> None:
    a, b, c = instances("a", "b", "c")
    eject(b)
    balancer = RoundRobin()

    assert [balancer.pick([a, b, c]) for _ in range(4)] == [a, c, a, c]
    open_breaker(a)
    assert [balancer.pick([a, b, c]) for _ in range(2)] == [c, c]


@pytest.mark.parametrize("balancer", [RoundRobin(), LeastOutstanding()], ids=["round-robin", "least-outstanding"])
def test_none_when_no_instance_is_available(balancer: RoundRobin | LeastOutstanding) -> None:
    a, b = instances("a", "b")
    eject(a)
    open_breaker(b)

    assert balancer.pick([a, b]) is None


@pytest.mark.parametrize("balancer", [RoundRobin(), LeastOutstanding()], ids=["round-robin", "least-outstanding"])
def test_a_retry_goes_to_an_instance_not_tried_yet(balancer: RoundRobin | LeastOutstanding) -> None:
    a, b = instances("a", "b")

    assert balancer.pick([a, b], exclude=[a]) is b
    assert balancer.pick([a, b], exclude=[a, b]) is None


def test_least_outstanding_prefers_the_instance_with_fewest_requests_in_flight() -> None:
    a, b, c = instances("a", "b", "c")
    a.outstanding, b.outstanding, c.outstanding = 3, 1, 2
    balancer = LeastOutstanding()

    assert balancer.pick([a, b, c]) is b


def test_least_outstanding_takes_tied_instances_in_turn() -> None:
    a, b = instances("a", "b")
    balancer = LeastOutstanding()

    assert [balancer.pick([a, b]) for _ in range(4)] == [a, b, a, b]


def test_an_instance_url_loses_its_trailing_slash() -> None:
    assert instances("a")[0].url == "http://a:8002"
