"""Routing in the distributed shape: instances in their own processes behind the gateway, balanced, health
checked, ejected, broken and retried, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL
from structlog.testing import capture_logs

from kairos.platform.config import Settings
from tests.integration.gateway.harness import API, Upstream, gateway_settings, running_gateway, running_upstreams

pytestmark = pytest.mark.integration

ECHO = f"{API}/echo"
BREAKER = "kairos_gateway_breaker_state"
HEALTHY = "kairos_gateway_healthy_instances"
CLOSED, HALF_OPEN, OPEN = 0.0, 1.0, 2.0


@pytest.fixture
def upstreams(tmp_path: Path) -> Iterator[list[Upstream]]:
    with running_upstreams(tmp_path, "a", "b") as started:
        yield started


async def answered_by(client: httpx.AsyncClient, count: int, path: str = ECHO) -> list[str]:
    names = []
    for _ in range(count):
        response = await client.get(path)
        assert response.status_code == 200, response.text
        names.append(response.json()["instance"])
    return names


async def test_round_robin_spreads_requests_over_both_instances_in_turn(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    settings = gateway_settings(base_settings, upstreams, gateway_balancer="round-robin")
    async with running_gateway(settings, gateway_database_url) as gateway:
        names = await answered_by(gateway.client, 10)

    assert Counter(names) == {"a": 5, "b": 5}
    assert all(first != second for first, second in itertools.pairwise(names)), names


async def test_least_outstanding_sends_requests_to_the_idle_instance(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    settings = gateway_settings(base_settings, upstreams, gateway_balancer="least-outstanding")
    async with running_gateway(settings, gateway_database_url) as gateway:
        held = asyncio.create_task(gateway.client.get(f"{API}/hold"))
        busy = await _the_instance_holding_a_request(upstreams)
        idle = next(upstream for upstream in upstreams if upstream is not busy)

        names = await answered_by(gateway.client, 6)

        await busy.release()
        assert (await held).status_code == 200
    assert names == [idle.name] * 6


async def test_an_instance_killed_under_load_is_ejected_while_idempotent_requests_succeed_and_readmitted_when_back(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    first, _ = upstreams
    settings = gateway_settings(base_settings, upstreams, gateway_balancer="round-robin")
    async with running_gateway(settings, gateway_database_url) as gateway:
        statuses: Counter[int] = Counter()
        served_by: Counter[str] = Counter()

        async def load(requests: int) -> None:
            for _ in range(requests):
                response = await gateway.client.get(ECHO)
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    served_by[response.json()["instance"]] += 1

        workers = [asyncio.create_task(load(30)) for _ in range(8)]
        while sum(statuses.values()) < 60:  # noqa: ASYNC110  # under load, then the kill
            await asyncio.sleep(0.005)
        first.kill()
        await asyncio.gather(*workers)

        assert statuses == {200: 240}, "every idempotent request is answered, retried on the other instance"
        assert served_by["a"] > 0
        assert served_by["b"] > 0
        await gateway.wait_for_metric(HEALTHY, 1.0, service="appointments")
        assert set(await answered_by(gateway.client, 6)) == {"b"}

        first.start().wait_live()

        await gateway.wait_for_metric(HEALTHY, 2.0, service="appointments")
        await gateway.wait_for_metric(BREAKER, CLOSED, service="appointments", instance=first.url)
        back = await _until(lambda: answered_by(gateway.client, 4), lambda names: "a" in names)
        assert "b" in back


async def test_consecutive_failed_requests_eject_an_instance_before_any_health_check_notices(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    dead, alive = upstreams
    settings = gateway_settings(
        base_settings,
        upstreams,
        gateway_balancer="round-robin",
        gateway_health_interval=60.0,  # one round of checks at the start, then none during the test
        gateway_eject_after=2,
        gateway_breaker_failures=1000,
    )
    async with running_gateway(settings, gateway_database_url) as gateway:
        await gateway.wait_for_metric(HEALTHY, 2.0, service="appointments")
        dead.kill()
        unreachable = "kairos_gateway_upstream_attempts_total"
        before = await gateway.metric(unreachable, service="appointments", outcome="unreachable") or 0.0
        with capture_logs() as logs:
            names = await answered_by(gateway.client, 8)
        after = await gateway.metric(unreachable, service="appointments", outcome="unreachable")

        assert names == [alive.name] * 8
        assert after == before + 2, "two refused connections, then the instance is out of rotation"
        ejected = [entry for entry in logs if entry["event"] == "gateway.instance_ejected"]
        assert [entry["instance"] for entry in ejected] == [dead.url]
        assert await gateway.metric(HEALTHY, service="appointments") == 1.0


async def test_the_breaker_opens_after_failures_and_recovers_through_half_open(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    failing, healthy = upstreams
    settings = gateway_settings(
        base_settings,
        upstreams,
        gateway_balancer="round-robin",
        gateway_eject_after=1000,  # the breaker alone: the instance passes its health checks all along
        gateway_breaker_failures=3,
        gateway_breaker_reset_seconds=3.0,  # long enough for the open-state checks on a busy machine
    )
    async with running_gateway(settings, gateway_database_url) as gateway:
        await failing.set(status=500)
        statuses = [(await gateway.client.get(ECHO)).status_code for _ in range(6)]
        assert statuses.count(500) == 3, statuses  # round robin: every other request, until the third opens it
        await gateway.wait_for_metric(BREAKER, OPEN, service="appointments", instance=failing.url)

        hits_while_open = await failing.hits()
        assert set(await answered_by(gateway.client, 4)) == {healthy.name}
        assert await failing.hits() == hits_while_open, "an open breaker sends nothing to its instance"

        # Half-open, the one trial request fails: open again.
        await gateway.wait_for_metric(BREAKER, HALF_OPEN, service="appointments", instance=failing.url)
        trial = [(await gateway.client.get(ECHO)).status_code for _ in range(2)]
        assert sorted(trial) == [200, 500]
        await gateway.wait_for_metric(BREAKER, OPEN, service="appointments", instance=failing.url)

        # Half-open again, the instance has recovered: the trial closes the breaker.
        await failing.set(status=200)
        await gateway.wait_for_metric(BREAKER, HALF_OPEN, service="appointments", instance=failing.url)
        names = await answered_by(gateway.client, 2)
        assert sorted(names) == ["a", "b"]
        assert await gateway.metric(BREAKER, service="appointments", instance=failing.url) == CLOSED
        assert Counter(await answered_by(gateway.client, 4)) == {"a": 2, "b": 2}


async def test_an_answer_of_503_is_retried_on_another_instance_only_for_idempotent_requests_not_yet_sent_with_a_body(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    unavailable, available = upstreams
    settings = gateway_settings(
        base_settings,
        upstreams,
        gateway_balancer="round-robin",
        gateway_eject_after=1000,
        gateway_breaker_failures=1000,
    )
    async with running_gateway(settings, gateway_database_url) as gateway:
        await unavailable.set(status=503)
        client = gateway.client
        gets = [await client.get(ECHO) for _ in range(4)]
        deletes = [await client.delete(ECHO) for _ in range(4)]
        keyed = [await client.post(ECHO, headers={"Idempotency-Key": f"key-{n}"}) for n in range(4)]
        plain = [await client.post(ECHO) for _ in range(4)]
        keyed_with_body = [
            await client.post(ECHO, json={"n": n}, headers={"Idempotency-Key": f"body-{n}"}) for n in range(4)
        ]

    retried = gets + deletes + keyed
    assert [response.status_code for response in retried] == [200] * 12
    assert {response.json()["instance"] for response in retried} == {available.name}
    assert sorted(response.status_code for response in plain) == [200, 200, 503, 503]
    # Its body went to the first instance already: it cannot be sent again.
    assert sorted(response.status_code for response in keyed_with_body) == [200, 200, 503, 503]


async def test_a_refused_connection_is_retried_for_a_keyed_post_with_a_body_but_not_for_a_plain_post(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    dead, alive = upstreams
    settings = gateway_settings(
        base_settings,
        upstreams,
        gateway_balancer="round-robin",
        gateway_health_interval=60.0,  # the dead instance stays in rotation for this test
        gateway_eject_after=1000,
        gateway_breaker_failures=1000,
    )
    async with running_gateway(settings, gateway_database_url) as gateway:
        dead.kill()
        keyed = [
            await gateway.client.post(ECHO, json={"n": n}, headers={"Idempotency-Key": f"k-{n}"}) for n in range(4)
        ]
        plain = [await gateway.client.post(ECHO, json={"n": n}) for n in range(4)]

    assert [response.status_code for response in keyed] == [200] * 4
    assert {response.json()["body_bytes"] for response in keyed} == {len('{"n":0}')}
    assert {response.json()["instance"] for response in keyed} == {alive.name}
    assert sorted(response.status_code for response in plain) == [200, 200, 502, 502]
    refused = next(response for response in plain if response.status_code == 502)
    assert refused.json()["type"] == "urn:kairos:problem:upstream-unavailable"


async def test_a_route_timeout_answers_504_without_trying_another_instance(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    settings = gateway_settings(base_settings, upstreams, gateway_route_timeouts={f"{API}/slow": 0.3, f"{API}/": 10.0})
    async with running_gateway(settings, gateway_database_url) as gateway:
        before = sum([await upstream.hits() for upstream in upstreams])
        started = time.monotonic()
        response = await gateway.client.get(f"{API}/slow", params={"seconds": "3"})
        elapsed = time.monotonic() - started
        after = sum([await upstream.hits() for upstream in upstreams])

    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:kairos:problem:upstream-timeout"
    assert elapsed < 2.0
    assert after - before == 1


async def test_with_no_instance_in_rotation_the_gateway_answers_a_503_problem(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    settings = gateway_settings(base_settings, upstreams)
    async with running_gateway(settings, gateway_database_url) as gateway:
        await answered_by(gateway.client, 2)  # both have answered: their failed checks count from now on
        for upstream in upstreams:
            await upstream.set(ready=False)
        await gateway.wait_for_metric(HEALTHY, 0.0, service="appointments")

        response = await gateway.client.get(ECHO)

        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:kairos:problem:no-instance-available"
        assert int(response.headers["retry-after"]) >= 1

        await upstreams[0].set(ready=True)
        await gateway.wait_for_metric(HEALTHY, 1.0, service="appointments")
        assert set(await answered_by(gateway.client, 3)) == {"a"}


async def _the_instance_holding_a_request(upstreams: list[Upstream], timeout: float = 5.0) -> Upstream:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for upstream in upstreams:
            if (await upstream.state())["held"] == 1:
                return upstream
        await asyncio.sleep(0.02)
    raise AssertionError("no instance received the held request")


async def _until(
    action: Callable[[], Awaitable[list[str]]], accept: Callable[[list[str]], bool], timeout: float = 10.0
) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        result = await action()
        if accept(result) or time.monotonic() > deadline:
            assert accept(result), result
            return result
        await asyncio.sleep(0.05)


async def test_instances_named_by_dns_are_discovered_through_the_system_resolver(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    """``localhost`` resolves (through /etc/hosts) to 127.0.0.1: the one instance found is the stand-in's."""
    first, _ = upstreams
    settings = gateway_settings(
        base_settings, upstreams, gateway_dns_services={"appointments": f"http://localhost:{first.port}"}
    )
    async with running_gateway(settings, gateway_database_url) as gateway:
        upstream = gateway.runtime.app.state.gateway.routes.match(ECHO)[1]
        assert [instance.url for instance in upstream.instances] == [f"http://127.0.0.1:{first.port}"]
        assert set(await answered_by(gateway.client, 4)) == {first.name}
        await gateway.wait_for_metric(HEALTHY, 1.0, service="appointments")
