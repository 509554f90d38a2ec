"""Rate limits at the gateway, counted in the real Redis: exact across two gateways, the RateLimit fields,
the 429 problem, per-user limits and the log-only dry run."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import URL
from structlog.testing import capture_logs

from kairos.platform.config import RateLimitRule, Settings
from kairos.platform.testing.issuer import TestIssuer
from tests.integration.gateway.harness import (
    API,
    Gateway,
    Upstream,
    free_port,
    gateway_settings,
    running_gateway,
    running_upstreams,
)

pytestmark = pytest.mark.integration

ECHO = f"{API}/echo"
FHIR = "/fhir/R4/Appointment"


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Upstream]]:
    with running_upstreams(tmp_path_factory.mktemp("upstreams"), "a", "b") as started:
        yield started


@pytest.fixture
def address() -> str:
    """A source address of this test alone (uvicorn takes X-Forwarded-For from a loopback peer as the client)."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def limited(
    base_settings: Settings, upstreams: list[Upstream], prefix: str, *rules: RateLimitRule, **overrides: object
) -> Settings:
    return gateway_settings(
        base_settings,
        upstreams,
        gateway_rate_limits=rules,
        gateway_rate_limit_storage="redis",
        gateway_rate_limit_prefix=prefix,
        # Counting must be exact here: on a machine busy with other suites, a Redis answer may take longer than
        # the production timeout, after which the limiter lets requests through uncounted (by design).
        gateway_rate_limit_timeout=15.0,
        **overrides,
    )


@contextlib.asynccontextmanager
async def gateways(settings: Settings, database_url: URL, count: int) -> AsyncIterator[list[Gateway]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(running_gateway(settings, database_url)) for _ in range(count)]


async def total_hits(upstreams: list[Upstream]) -> int:
    return sum([await upstream.hits() for upstream in upstreams])


async def test_two_gateways_sharing_redis_allow_exactly_the_limit_under_concurrency(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL, rate_limit_prefix: str, address: str
) -> None:
    rule = RateLimitRule(name=f"burst-{uuid.uuid4().hex[:8]}", path=API, address="25/minute")
    settings = limited(base_settings, upstreams, rate_limit_prefix, rule)
    async with gateways(settings, gateway_database_url, 2) as (first, second):
        before = await total_hits(upstreams)
        headers = {"X-Forwarded-For": address}
        # Separate clients, separate gateways, separate Redis connections, all at once.
        async with httpx.AsyncClient(base_url=first.url) as one, httpx.AsyncClient(base_url=second.url) as two:
            responses = await asyncio.gather(*(client.get(ECHO, headers=headers) for client in [one, two] * 60))
        after = await total_hits(upstreams)

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 25, 429: 95}
    assert after - before == 25, "a refused request never reaches a service"
    served_by_gateway = Counter(response.url.port for response in responses if response.status_code == 200)
    assert len(served_by_gateway) == 2, "both gateways took part"


async def test_answers_carry_the_ratelimit_fields_and_the_request_over_the_limit_gets_a_429_problem(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL, rate_limit_prefix: str, address: str
) -> None:
    rule = RateLimitRule(name="tight", path=API, methods=("GET",), address="3/minute")
    settings = limited(base_settings, upstreams, f"{rate_limit_prefix}:{uuid.uuid4().hex[:8]}", rule)
    async with running_gateway(settings, gateway_database_url) as gateway:
        before = await total_hits(upstreams)
        allowed = [await gateway.client.get(ECHO, headers={"X-Forwarded-For": address}) for _ in range(3)]
        refused = await gateway.client.get(ECHO, headers={"X-Forwarded-For": address})
        elsewhere = await gateway.client.get(ECHO, headers={"X-Forwarded-For": "2001:db8::1"})
        unlimited = await gateway.client.post(ECHO, headers={"X-Forwarded-For": address})
        after = await total_hits(upstreams)

    assert [response.status_code for response in allowed] == [200, 200, 200]
    assert [response.headers["ratelimit-remaining"] for response in allowed] == ["2", "1", "0"]
    for response in allowed:
        assert response.headers["ratelimit-limit"] == "3"
        assert 0 < int(response.headers["ratelimit-reset"]) <= 60
        assert response.headers["ratelimit-policy"] == '"tight.address";q=3;w=60'
    assert allowed[0].headers["ratelimit"].startswith('"tight.address";r=2;t=')

    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "urn:kairos:problem:rate-limited"
    assert problem["status"] == 429
    assert problem["violated-policies"] == ["tight.address"]
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["x-correlation-id"] == problem["correlation_id"]
    assert after - before == 3 + 1 + 1

    assert elsewhere.status_code == 200, "another address has its own count"
    assert unlimited.status_code == 200, "no rule matches a POST here"
    assert "ratelimit" not in unlimited.headers


async def test_a_user_is_limited_across_addresses_by_the_subject_of_a_verified_token(
    upstreams: list[Upstream],
    base_settings: Settings,
    gateway_database_url: URL,
    rate_limit_prefix: str,
    address: str,
    issuer: TestIssuer,
) -> None:
    rule = RateLimitRule(name="per-user", path=API, user="2/minute", address="100/minute")
    settings = limited(base_settings, upstreams, rate_limit_prefix, rule)
    subject = f"user-{uuid.uuid4().hex[:8]}"
    token = issuer.token(sub=subject)
    async with running_gateway(settings, gateway_database_url) as gateway:

        async def get(as_: str, source: str) -> httpx.Response:
            return await gateway.client.get(ECHO, headers={"Authorization": f"Bearer {as_}", "X-Forwarded-For": source})

        statuses = [(await get(token, f"{address}{n}")).status_code for n in range(3)]
        another_user = await get(issuer.token(sub=f"{subject}-2"), address)
        anonymous = await gateway.client.get(ECHO, headers={"X-Forwarded-For": address})

    assert statuses == [200, 200, 429]
    assert another_user.status_code == 200
    assert anonymous.status_code == 200


async def test_the_fhir_facade_is_limited_like_the_api_by_address_and_by_user(
    upstreams: list[Upstream],
    base_settings: Settings,
    gateway_database_url: URL,
    rate_limit_prefix: str,
    address: str,
    issuer: TestIssuer,
) -> None:
    rule = RateLimitRule(name=f"api-{uuid.uuid4().hex[:8]}", path="/api/", address="3/minute", user="2/minute")
    settings = limited(base_settings, upstreams, rate_limit_prefix, rule)
    token = issuer.token(sub=f"user-{uuid.uuid4().hex[:8]}")
    async with running_gateway(settings, gateway_database_url) as gateway:

        async def get(source: str, **headers: str) -> httpx.Response:
            return await gateway.client.get(FHIR, headers={"X-Forwarded-For": source, **headers})

        by_address = [await get(address) for _ in range(4)]
        by_user = [(await get(f"{address}{n}", Authorization=f"Bearer {token}")).status_code for n in range(3)]
        forged = await get(f"{address}9", Authorization="Bearer not-a-token")

    assert [response.status_code for response in by_address] == [200, 200, 200, 429]
    assert by_address[0].json()["path"] == FHIR, "the facade's own path reaches the service"
    assert by_address[0].headers["ratelimit-limit"] == "3"
    assert by_address[3].headers["content-type"] == "application/problem+json"
    assert by_address[3].json()["type"] == "urn:kairos:problem:rate-limited"
    assert by_user == [200, 200, 429], "the verified token's subject, whatever the address"
    assert forged.status_code == 401, "a bad token is refused at the edge, as on /api/"


async def test_dry_run_logs_the_requests_over_the_limit_and_lets_them_through(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL, rate_limit_prefix: str, address: str
) -> None:
    rule = RateLimitRule(name=f"trial-{uuid.uuid4().hex[:8]}", path=API, address="2/minute")
    settings = limited(base_settings, upstreams, rate_limit_prefix, rule, gateway_rate_limit_dry_run=True)
    async with running_gateway(settings, gateway_database_url) as gateway:
        with capture_logs() as logs:
            responses = [await gateway.client.get(ECHO, headers={"X-Forwarded-For": address}) for _ in range(5)]
        counted = await gateway.metric(
            "kairos_gateway_rate_limited_total", rule=rule.name, partition="address", dry_run="true"
        )

    assert [response.status_code for response in responses] == [200] * 5
    assert all("ratelimit" not in response.headers for response in responses)
    over = [entry for entry in logs if entry["event"] == "gateway.rate_limited"]
    assert len(over) == 3
    assert all(entry["dry_run"] is True and entry["rule"] == rule.name for entry in over)
    assert all(address not in str(entry) for entry in over), "no address in a log line"
    assert counted == 3.0


async def test_probes_and_metrics_are_never_limited(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL, rate_limit_prefix: str
) -> None:
    rule = RateLimitRule(name=f"everything-{uuid.uuid4().hex[:8]}", address="1/minute")
    settings = limited(base_settings, upstreams, rate_limit_prefix, rule)
    async with running_gateway(settings, gateway_database_url) as gateway:
        statuses = [(await gateway.client.get(path)).status_code for path in ["/health/live", "/metrics"] * 3]

    assert statuses == [200] * 6


async def test_the_all_in_one_shape_counts_in_memory(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL, address: str
) -> None:
    rule = RateLimitRule(name="memory", path=API, address="2/minute")
    settings = gateway_settings(base_settings, upstreams, gateway_rate_limits=(rule,), gateway_rate_limit_storage=None)
    async with running_gateway(settings, gateway_database_url) as gateway:
        statuses = [
            (await gateway.client.get(ECHO, headers={"X-Forwarded-For": address})).status_code for _ in range(3)
        ]

    assert statuses == [200, 200, 429]


async def test_when_redis_is_unreachable_requests_pass_uncounted_without_waiting_on_it_each_time(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL, address: str
) -> None:
    rule = RateLimitRule(name="unreachable", path=API, address="1/minute")
    settings = gateway_settings(
        base_settings,
        upstreams,
        gateway_rate_limits=(rule,),
        gateway_rate_limit_storage="redis",
        redis_url=SecretStr(f"redis://127.0.0.1:{free_port()}/0"),
    )
    async with running_gateway(settings, gateway_database_url) as gateway:
        with capture_logs() as logs:
            responses = [await gateway.client.get(ECHO, headers={"X-Forwarded-For": address}) for _ in range(5)]

    assert [response.status_code for response in responses] == [200] * 5
    assert all("ratelimit" not in response.headers for response in responses)
    assert [entry["event"] for entry in logs].count("gateway.rate_limit_storage_failed") == 1
