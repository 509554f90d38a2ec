"""What the gateway checks and adds at the edge: bearer tokens verified before anything reaches a service,
the verified subject forwarded for logs, security headers, and CORS preflights answered."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from sqlalchemy.engine import URL

from kairos.platform.config import Settings
from kairos.platform.testing.issuer import TestIssuer
from tests.integration.gateway.harness import (
    API,
    Gateway,
    Upstream,
    gateway_settings,
    running_gateway,
    running_upstreams,
)

pytestmark = pytest.mark.integration

ECHO = f"{API}/echo"
APP_ORIGIN = "https://app.example"


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Upstream]]:
    with running_upstreams(tmp_path_factory.mktemp("upstreams"), "a", "b") as started:
        yield started


@pytest.fixture(scope="module")
async def gateway(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> AsyncIterator[Gateway]:
    settings = gateway_settings(base_settings, upstreams, gateway_cors_origins=(APP_ORIGIN,))
    async with running_gateway(settings, gateway_database_url) as running:
        yield running


async def total_hits(upstreams: list[Upstream]) -> int:
    return sum([await upstream.hits() for upstream in upstreams])


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[10] != "A" else "B").join([signature[:10], signature[11:]])
    return ".".join([header, payload, flipped])


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda issuer: tampered(issuer.token(sub="mallory")), id="tampered-signature"),
        pytest.param(lambda issuer: issuer.token(sub="late", expires_in=-120), id="expired"),
        pytest.param(lambda issuer: issuer.token(sub="elsewhere", aud="another-api"), id="wrong-audience"),
        pytest.param(lambda issuer: "not-a-jwt", id="garbage"),
    ],
)
async def test_a_bad_token_gets_401_at_the_gateway_and_never_reaches_the_service(
    gateway: Gateway, upstreams: list[Upstream], issuer: TestIssuer, make_token: Callable[[TestIssuer], str]
) -> None:
    before = await total_hits(upstreams)

    response = await gateway.client.get(ECHO, headers={"Authorization": f"Bearer {make_token(issuer)}"})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:kairos:problem:unauthenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await total_hits(upstreams) == before


async def test_a_token_from_another_issuer_gets_401_at_the_gateway(gateway: Gateway, upstreams: list[Upstream]) -> None:
    before = await total_hits(upstreams)
    with TestIssuer() as stranger:
        response = await gateway.client.get(ECHO, headers={"Authorization": f"Bearer {stranger.token()}"})

    assert response.status_code == 401
    assert await total_hits(upstreams) == before


async def test_a_good_token_passes_with_its_subject_forwarded_for_logs_and_the_token_itself(
    gateway: Gateway, upstreams: list[Upstream], issuer: TestIssuer
) -> None:
    token = issuer.token(sub="patient-42")

    response = await gateway.client.get(ECHO, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    seen = next(upstream for upstream in upstreams if upstream.name == response.json()["instance"])
    state = await seen.state()
    assert state["subjects"][-1] == "patient-42"
    assert state["authorizations"][-1] == f"Bearer {token}", "the service verifies the token again itself"


async def test_without_a_token_the_request_passes_and_a_claimed_subject_is_dropped(
    gateway: Gateway, upstreams: list[Upstream]
) -> None:
    response = await gateway.client.get(ECHO, headers={"X-Kairos-Subject": "operator-1"})

    assert response.status_code == 200
    seen = next(upstream for upstream in upstreams if upstream.name == response.json()["instance"])
    assert (await seen.state())["subjects"][-1] is None


async def test_other_authorization_schemes_pass_to_the_service(gateway: Gateway, upstreams: list[Upstream]) -> None:
    # Client authentication at the token endpoint (RFC 6749 §2.3.1) is the service's to check.
    response = await gateway.client.post(ECHO, headers={"Authorization": "Basic Y2xpZW50OnNlY3JldA=="})

    assert response.status_code == 200
    seen = next(upstream for upstream in upstreams if upstream.name == response.json()["instance"])
    assert (await seen.state())["authorizations"][-1] == "Basic Y2xpZW50OnNlY3JldA=="


async def test_every_answer_says_nosniff_and_a_referrer_policy_and_html_gets_the_frame_ancestors_policy(
    gateway: Gateway,
) -> None:
    landing = await gateway.client.get("/")
    proxied_page = await gateway.client.get(f"{API}/page")
    api = await gateway.client.get(ECHO)
    problem = await gateway.client.get("/api/v1/nowhere")

    for response in (landing, proxied_page, api, problem):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "strict-transport-security" not in response.headers, "no HSTS over plain HTTP"
    for page in (landing, proxied_page):
        assert page.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "content-security-policy" not in api.headers


async def test_hsts_is_sent_when_the_request_came_over_https(gateway: Gateway) -> None:
    # Behind a TLS-terminating proxy on loopback: uvicorn trusts its X-Forwarded-Proto.
    response = await gateway.client.get(ECHO, headers={"X-Forwarded-Proto": "https"})

    assert response.headers["strict-transport-security"] == "max-age=31536000"


async def test_hsts_is_sent_on_every_answer_when_the_public_url_is_https(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    settings = gateway_settings(base_settings, upstreams, public_url="https://kairos.example")
    async with running_gateway(settings, gateway_database_url) as gateway:
        response = await gateway.client.get("/")

    assert response.headers["strict-transport-security"] == "max-age=31536000"


async def test_a_cors_preflight_from_an_allowed_origin_is_answered_at_the_edge(
    gateway: Gateway, upstreams: list[Upstream]
) -> None:
    before = await total_hits(upstreams)
    preflight = {"Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST"}

    allowed = await gateway.client.options(
        ECHO, headers={**preflight, "Access-Control-Request-Headers": "authorization, idempotency-key"}
    )
    refused = await gateway.client.options(ECHO, headers={**preflight, "Origin": "https://evil.example"})
    simple = await gateway.client.get(ECHO, headers={"Origin": APP_ORIGIN})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "idempotency-key" in allowed.headers["access-control-allow-headers"].lower()
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert await total_hits(upstreams) == before + 1, "only the simple GET reached a service"
    assert simple.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "ratelimit-remaining" in simple.headers["access-control-expose-headers"].lower()
