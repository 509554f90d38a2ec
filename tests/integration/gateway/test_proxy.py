"""What the proxy passes on, and what it must not: a service sees the client's own request (its path as sent,
its headers, nothing the gateway's client adds), and one client's cookies never reach another's request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy.engine import URL

from kairos.platform.config import Settings
from tests.integration.gateway.harness import (
    API,
    Gateway,
    Upstream,
    gateway_settings,
    running_gateway,
    running_upstreams,
)

pytestmark = pytest.mark.integration

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Upstream]]:
    with running_upstreams(tmp_path_factory.mktemp("upstreams"), "a") as started:
        yield started


@pytest.fixture(scope="module")
async def gateway(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> AsyncIterator[Gateway]:
    async with running_gateway(gateway_settings(base_settings, upstreams), gateway_database_url) as running:
        yield running


def seen_headers(response: httpx.Response) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in response.json()["headers"]:
        headers.setdefault(name, []).append(value)
    return headers


async def test_a_cookie_set_for_one_client_is_not_sent_with_another_clients_request(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as alice, httpx.AsyncClient(base_url=gateway.url) as bob:
        signed_in = await alice.get(f"{API}/sign-in", params={"who": "alice"})
        assert signed_in.headers["set-cookie"].startswith("session=secret-of-alice")  # relayed to alice

        bobs = await bob.get(f"{API}/echo")
        alices = await alice.get(f"{API}/echo")

    assert "cookie" not in seen_headers(bobs)
    assert seen_headers(alices)["cookie"] == ["session=secret-of-alice"]  # her own, from her own client


async def test_the_service_sees_the_clients_headers_with_nothing_added_but_the_forwarding_context(
    gateway: Gateway,
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers={"User-Agent": "kairos-test/1"}) as client:
        response = await client.get(
            f"{API}/echo", headers={"Accept": "application/json", "X-Custom": "kept", "traceparent": TRACEPARENT}
        )

    headers = seen_headers(response)
    assert headers["user-agent"] == ["kairos-test/1"]
    assert headers["accept"] == ["application/json"]
    assert headers["x-custom"] == ["kept"]
    assert headers["accept-encoding"] == ["gzip, deflate"]  # httpx's, sent by the client: passed as it came
    assert headers["x-forwarded-for"] == ["127.0.0.1"]
    assert headers["x-forwarded-proto"] == ["http"]
    assert len(headers["x-correlation-id"]) == 1
    assert headers["traceparent"][0].split("-")[1] == TRACEPARENT.split("-")[1]  # the caller's trace, continued


async def test_an_answer_has_one_date_and_the_services_own_fields(gateway: Gateway) -> None:
    response = await gateway.client.get(f"{API}/echo")

    assert len(response.headers.get_list("date")) == 1
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)


async def test_a_path_reaches_the_service_as_the_client_encoded_it(gateway: Gateway) -> None:
    raw = f"{API}/files/a%2Fb%20c/%C3%A9t%C3%A9"
    response = await gateway.client.get(httpx.URL(gateway.url + raw))

    assert response.status_code == 200
    assert response.json()["raw_path"] == raw


async def test_an_upload_without_a_length_is_streamed_to_the_service_whole(gateway: Gateway) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"x" * 16_384

    response = await gateway.client.post(f"{API}/upload", content=chunks())

    assert response.status_code == 200
    assert response.json()["body_bytes"] == 64 * 16_384
    assert seen_headers(response)["transfer-encoding"] == ["chunked"]
