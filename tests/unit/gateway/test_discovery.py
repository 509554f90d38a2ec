"""Instances from DNS: addresses to instance URLs, and a pool that follows the answers (a resolver that
answers from a script stands in for DNS; the real system resolver is used in the integration tests)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from kairos.gateway.discovery import DnsDiscovery
from kairos.gateway.domain.balancing import Instance, RoundRobin
from kairos.gateway.domain.discovery import DnsName, change
from kairos.gateway.domain.health import Thresholds
from kairos.gateway.proxy import HttpUpstream, ProxyPolicy, RouteTimeouts, UpstreamConnections


def test_each_address_becomes_an_instance_with_the_names_scheme_and_port() -> None:
    name = DnsName.parse("http://appointments-headless.kairos.svc.cluster.local:8002")

    urls = name.instance_urls(["10.0.0.7", "fd00::7", "10.0.0.5", "10.0.0.7"])

    assert urls == ["http://10.0.0.5:8002", "http://10.0.0.7:8002", "http://[fd00::7]:8002"]


def test_the_default_port_follows_the_scheme() -> None:
    assert DnsName.parse("https://chat").port == 443
    assert DnsName.parse("http://chat").port == 80


@pytest.mark.parametrize("url", ["chat:8003", "ftp://chat", "http://chat/api", "http://chat?x=1", "http://:80"])
def test_a_url_that_is_not_a_service_name_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        DnsName.parse(url)


def test_the_change_adds_new_addresses_and_removes_vanished_ones_but_never_empties_the_pool() -> None:
    assert change(["http://a", "http://b"], ["http://b", "http://c"]).added == ["http://c"]
    assert change(["http://a", "http://b"], ["http://b", "http://c"]).removed == ["http://a"]
    assert change(["http://a"], []).is_empty


class ScriptedResolver:
    """Answers each resolution with the next list of the script; an OSError in the script is raised."""

    def __init__(self, *answers: list[str] | OSError) -> None:
        self._answers: Iterator[list[str] | OSError] = iter(answers)
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        answer = next(self._answers)
        if isinstance(answer, OSError):
            raise answer
        return answer


def discovered_upstream() -> HttpUpstream:
    def make_instance(url: str) -> Instance:
        return Instance(url, thresholds=Thresholds(), breaker_failures=5, breaker_reset_after=10)

    return HttpUpstream(
        "appointments",
        [],
        connections=UpstreamConnections(max_connections=10, keepalive_seconds=1),
        balancer=RoundRobin(),
        policy=ProxyPolicy(timeouts=RouteTimeouts(30)),
        make_instance=make_instance,
    )


async def test_the_pool_follows_the_dns_answers_and_survives_a_failed_resolution() -> None:
    upstream = discovered_upstream()
    resolver = ScriptedResolver(
        ["10.0.0.1"],
        ["10.0.0.1", "10.0.0.2"],
        socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
        [],
        ["10.0.0.2"],
    )
    discovery = DnsDiscovery(
        {"appointments": DnsName.parse("http://appointments:8002")},
        {"appointments": upstream},
        interval=10,
        resolve=resolver,
    )
    seen = []
    for _ in range(5):
        await discovery.refresh()
        seen.append([instance.url for instance in upstream.instances])

    assert seen == [
        ["http://10.0.0.1:8002"],
        ["http://10.0.0.1:8002", "http://10.0.0.2:8002"],
        ["http://10.0.0.1:8002", "http://10.0.0.2:8002"],
        ["http://10.0.0.1:8002", "http://10.0.0.2:8002"],
        ["http://10.0.0.2:8002"],
    ]
    assert set(resolver.asked) == {("appointments", 8002)}


async def test_an_instance_that_stays_keeps_its_state() -> None:
    upstream = discovered_upstream()
    resolver = ScriptedResolver(["10.0.0.1"], ["10.0.0.1", "10.0.0.2"])
    discovery = DnsDiscovery(
        {"appointments": DnsName.parse("http://appointments:8002")},
        {"appointments": upstream},
        interval=10,
        resolve=resolver,
    )
    await discovery.refresh()
    first = upstream.instances[0]
    first.health.request_failed()

    await discovery.refresh()

    assert upstream.instances[0] is first


def test_configured_instances_cannot_be_replaced_by_discovery() -> None:
    upstream = HttpUpstream(
        "chat",
        [Instance("http://chat:8003", thresholds=Thresholds(), breaker_failures=5, breaker_reset_after=10)],
        connections=UpstreamConnections(max_connections=10, keepalive_seconds=1),
        balancer=RoundRobin(),
        policy=ProxyPolicy(timeouts=RouteTimeouts(30)),
    )
    with pytest.raises(RuntimeError):
        upstream.replace_instances(added=["http://10.0.0.9:8003"], removed=[])
