"""Long-lived answers through the gateway: Server-Sent Events streamed as they come (never buffered, never
cut while bytes flow, ended when the client leaves) and WebSockets relayed both ways with the edge's checks."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest
from sqlalchemy.engine import URL
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

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

APP_ORIGIN = "https://app.example"


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Upstream]]:
    with running_upstreams(tmp_path_factory.mktemp("upstreams"), "a", "b") as started:
        yield started


@pytest.fixture(scope="module")
async def gateway(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> AsyncIterator[Gateway]:
    settings = gateway_settings(
        base_settings,
        upstreams,
        gateway_cors_origins=(APP_ORIGIN,),
        gateway_route_timeouts={f"{API}/heartbeats": 0.5},
    )
    async with running_gateway(settings, gateway_database_url) as running:
        yield running


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never true: {what}")
        await asyncio.sleep(0.02)


async def open_streams(upstreams: list[Upstream]) -> int:
    return sum([(await upstream.state())["streams_open"] for upstream in upstreams])


async def next_event(lines: AsyncIterator[str]) -> dict[str, str]:
    """The fields of the next event of a text/event-stream, comments skipped."""
    fields: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if fields:
                return fields
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    raise AssertionError(f"the stream ended in the middle of an event: {fields}")


# Server-Sent Events


async def test_an_event_reaches_the_client_while_the_stream_is_still_open(
    gateway: Gateway, upstreams: list[Upstream]
) -> None:
    async with gateway.client.stream("GET", f"{API}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()

        async with asyncio.timeout(10):  # a buffering gateway would hold the event until the stream ends
            first = await next_event(lines)

        assert first == {"id": "1", "event": "first", "data": '{"n": 1}'}
        assert await open_streams(upstreams) == 1, "the service has not finished: the event was not buffered"
        for upstream in upstreams:
            await upstream.release()
        assert (await next_event(lines))["event"] == "second"
        assert [line async for line in lines if line] == []
    await until(lambda: _no_open_streams(upstreams), "the finished stream is closed")


async def test_a_stream_longer_than_the_route_timeout_goes_on_while_heartbeats_flow(gateway: Gateway) -> None:
    # Ten heartbeats 0.1 s apart: a second in all, twice the route's 0.5 s timeout.
    async with gateway.client.stream("GET", f"{API}/heartbeats", params={"count": "10", "every": "0.1"}) as response:
        lines = response.aiter_lines()
        assert (await next_event(lines))["event"] == "done"


async def test_a_stream_silent_for_longer_than_the_route_timeout_is_cut(gateway: Gateway) -> None:
    async with gateway.client.stream("GET", f"{API}/heartbeats", params={"count": "2", "every": "3"}) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            await response.aread()


async def test_a_client_that_leaves_ends_the_stream_at_the_service(gateway: Gateway, upstreams: list[Upstream]) -> None:
    async with gateway.client.stream("GET", f"{API}/events") as response:
        lines = response.aiter_lines()  # held: an iterator collected as garbage would close the stream early
        assert (await next_event(lines))["event"] == "first"
        assert await open_streams(upstreams) == 1
    # Nothing released: only the client's leaving can end the service's stream now.
    await until(lambda: _no_open_streams(upstreams), "the service's stream ends when the client leaves")


async def _no_open_streams(upstreams: list[Upstream]) -> bool:
    return await open_streams(upstreams) == 0


# WebSockets


def ws_url(gateway: Gateway, path: str) -> str:
    return gateway.url.replace("http://", "ws://") + path


async def greeting(connection: ClientConnection) -> dict[str, str]:
    result: dict[str, str] = json.loads(await connection.recv())
    return result


def upstream_named(upstreams: list[Upstream], name: str) -> Upstream:
    return next(upstream for upstream in upstreams if upstream.name == name)


async def test_a_websocket_is_relayed_both_ways_with_the_verified_subject_and_the_subprotocol(
    gateway: Gateway, upstreams: list[Upstream], issuer: TestIssuer
) -> None:
    token = issuer.token(sub="patient-7")
    async with connect(
        ws_url(gateway, f"{API}/socket?room=12"),
        additional_headers={"Authorization": f"Bearer {token}"},
        subprotocols=["kairos.v1"],  # type: ignore[list-item]
        proxy=None,
    ) as connection:
        hello = await greeting(connection)
        assert hello["subject"] == "patient-7"
        assert hello["query"] == "room=12"
        assert connection.subprotocol == "kairos.v1"

        await connection.send("ping")
        assert await connection.recv() == "echo: ping"
        await connection.send(b"\x01\x02\x03")
        assert await connection.recv() == b"\x03\x02\x01"

        await connection.close(code=4000, reason="done here")
    instance = upstream_named(upstreams, hello["instance"])

    async def closed_with_4000() -> bool:
        return 4000 in (await instance.state())["socket_close_codes"]

    await until(closed_with_4000, "the service sees the client's close code")


async def test_the_service_closing_a_websocket_closes_the_client_with_its_code(gateway: Gateway) -> None:
    async with connect(ws_url(gateway, f"{API}/socket"), proxy=None) as connection:
        await greeting(connection)
        await connection.send("close:4001")
        with pytest.raises(ConnectionClosed):
            await connection.recv()
    assert connection.close_code == 4001
    assert connection.close_reason == "asked to"


async def test_a_websocket_refused_by_the_service_gets_its_answer(gateway: Gateway) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(gateway, f"{API}/socket?refuse=1"), proxy=None):
            pass
    assert refused.value.response.status_code == 409
    assert json.loads(refused.value.response.body or b"{}") == {"refused": True}


async def test_a_websocket_with_a_bad_token_gets_401_at_the_gateway(
    gateway: Gateway, upstreams: list[Upstream], issuer: TestIssuer
) -> None:
    before = sum([await upstream.hits() for upstream in upstreams])
    expired = issuer.token(sub="late", expires_in=-120)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            ws_url(gateway, f"{API}/socket"), additional_headers={"Authorization": f"Bearer {expired}"}, proxy=None
        ):
            pass
    response = refused.value.response
    assert response.status_code == 401
    assert json.loads(response.body or b"{}")["type"] == "urn:kairos:problem:unauthenticated"
    assert sum([await upstream.hits() for upstream in upstreams]) == before


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        pytest.param("https://evil.example", False, id="another-site"),
        pytest.param(APP_ORIGIN, True, id="allowed-cors-origin"),
        pytest.param(None, True, id="same-site"),
    ],
)
async def test_a_websocket_from_another_site_is_refused(gateway: Gateway, origin: str | None, accepted: bool) -> None:
    sent_origin = origin or gateway.url  # the gateway's own origin, as its web app's pages send it
    if accepted:
        async with connect(ws_url(gateway, f"{API}/socket"), origin=sent_origin, proxy=None) as connection:  # type: ignore[arg-type]
            assert "instance" in await greeting(connection)
        return
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(gateway, f"{API}/socket"), origin=sent_origin, proxy=None):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    assert json.loads(refused.value.response.body or b"{}")["type"] == "urn:kairos:problem:origin-not-allowed"


async def test_a_websocket_goes_to_another_instance_when_one_is_dead_and_gets_503_when_none_is_left(
    upstreams: list[Upstream],
    base_settings: Settings,
    gateway_database_url: URL,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with running_upstreams(tmp_path_factory.mktemp("doomed"), "c", "d") as doomed:
        settings = gateway_settings(
            base_settings,
            doomed,
            gateway_health_interval=60.0,  # the dead instance stays in rotation for this test
            gateway_eject_after=1000,
            gateway_breaker_failures=1000,
        )
        async with running_gateway(settings, gateway_database_url) as gateway:
            dead, alive = doomed
            dead.kill()
            names = []
            for _ in range(4):
                async with connect(ws_url(gateway, f"{API}/socket"), proxy=None) as connection:
                    names.append((await greeting(connection))["instance"])
            assert names == [alive.name] * 4

            alive.kill()
            with pytest.raises(InvalidStatus) as refused:
                async with connect(ws_url(gateway, f"{API}/socket"), proxy=None):
                    pass
            assert refused.value.response.status_code == 503
            assert (
                json.loads(refused.value.response.body or b"{}")["type"] == "urn:kairos:problem:no-instance-available"
            )
