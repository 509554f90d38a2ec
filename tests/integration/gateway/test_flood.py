"""Flood protection against a real gateway socket: caps on requests in flight, slow and oversized requests
written byte by byte with raw asyncio streams, and the cap on open connections."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from prometheus_client import REGISTRY
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

ECHO = f"{API}/echo"
HOLD = f"{API}/hold"
SAFETY = 15.0  # seconds before a test gives up waiting on the socket (a hang is a failure, not a measure)


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        assert self.headers.get("content-type") == "application/problem+json", self.headers
        result: dict[str, Any] = json.loads(self.body)
        return result


class RawClient:
    """One TCP connection to the gateway, written to by hand."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, gateway: Gateway) -> RawClient:
        address = urlsplit(gateway.url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        return cls(reader, writer)

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self) -> RawResponse:
        async with asyncio.timeout(SAFETY):
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return RawResponse(int(status_line.split()[1]), headers, body)

    async def closed_by_gateway(self) -> bool:
        async with asyncio.timeout(SAFETY):
            return await self.reader.read() == b""

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


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
        gateway_body_timeout=0.5,
        gateway_header_timeout=0.5,
        gateway_send_timeout=0.5,
        max_request_bytes=4096,
    )
    async with running_gateway(settings, gateway_database_url) as running:
        yield running


@pytest.fixture
async def raw(gateway: Gateway) -> AsyncIterator[RawClient]:
    client = await RawClient.open(gateway)
    try:
        yield client
    finally:
        await client.close()


async def total_hits(upstreams: list[Upstream]) -> int:
    return sum([await upstream.hits() for upstream in upstreams])


async def held_requests(upstreams: list[Upstream], count: int) -> None:
    deadline = time.monotonic() + SAFETY
    while sum([(await upstream.state())["held"] for upstream in upstreams]) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {count} requests reached the instances")
        await asyncio.sleep(0.02)


# Slow clients


async def test_a_body_that_does_not_arrive_in_time_gets_a_408_problem(raw: RawClient) -> None:
    head = f"POST {ECHO} HTTP/1.1\r\nHost: kairos\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    await raw.write(head.encode() + b'{"only": "the start')

    response = await raw.response()

    assert response.status == 408
    assert response.problem()["type"] == "urn:kairos:problem:request-timeout"
    assert await raw.closed_by_gateway()


async def test_headers_that_do_not_arrive_in_time_get_a_408_and_the_connection_closed(raw: RawClient) -> None:
    await raw.write(f"GET {ECHO} HTTP/1.1\r\nHost: kairos\r\nX-Trickle: 1\r\n".encode())  # never finished

    response = await raw.response()

    assert response.status == 408
    assert response.problem()["type"] == "urn:kairos:problem:request-timeout"
    assert await raw.closed_by_gateway()


async def test_a_connection_that_never_sends_a_request_is_closed(raw: RawClient) -> None:
    assert (await raw.response()).status == 408
    assert await raw.closed_by_gateway()


async def test_a_slow_but_steady_client_within_the_limits_is_answered(raw: RawClient) -> None:
    await raw.write(f"POST {ECHO} HTTP/1.1\r\nHost: kairos\r\nContent-Length: 20\r\n\r\n".encode())
    for _ in range(4):
        await raw.write(b"12345")
        await asyncio.sleep(0.05)

    response = await raw.response()

    assert response.status == 200
    assert json.loads(response.body)["body_bytes"] == 20


async def test_a_kept_alive_connection_gets_its_second_request_answered(raw: RawClient) -> None:
    for _ in range(2):
        await raw.write(f"GET {ECHO} HTTP/1.1\r\nHost: kairos\r\n\r\n".encode())
        assert (await raw.response()).status == 200
        await asyncio.sleep(0.7)  # idle for longer than the header limit: the limit runs per request


# Oversized bodies


async def test_a_declared_oversized_body_gets_a_413_problem_before_anything_reaches_a_service(
    gateway: Gateway, upstreams: list[Upstream]
) -> None:
    before = await total_hits(upstreams)
    # Connected only now: the header time limit (0.5 s here) runs from the connection's opening.
    raw = await RawClient.open(gateway)
    try:
        await raw.write(f"POST {ECHO} HTTP/1.1\r\nHost: kairos\r\nContent-Length: 5000\r\n\r\n".encode())
        response = await raw.response()
    finally:
        await raw.close()

    assert response.status == 413
    assert response.problem()["type"] == "urn:kairos:problem:payload-too-large"
    assert await total_hits(upstreams) == before


async def test_a_streamed_oversized_body_gets_a_413_problem(raw: RawClient) -> None:
    await raw.write(f"POST {ECHO} HTTP/1.1\r\nHost: kairos\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    chunk = b"x" * 1024
    for _ in range(5):  # 5 KiB, over the 4 KiB limit, announced by no length
        await raw.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    await raw.write(b"0\r\n\r\n")

    response = await raw.response()

    assert response.status == 413
    assert response.problem()["type"] == "urn:kairos:problem:payload-too-large"


# Requests in flight


async def test_an_address_over_its_share_of_requests_in_flight_gets_a_429_problem(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    settings = gateway_settings(
        base_settings, upstreams, gateway_max_in_flight=100, gateway_max_in_flight_per_address=2
    )
    async with running_gateway(settings, gateway_database_url) as gateway:
        held = [asyncio.create_task(gateway.client.get(HOLD)) for _ in range(2)]
        await held_requests(upstreams, 2)

        refused = await gateway.client.get(ECHO)

        assert refused.status_code == 429
        assert refused.json()["type"] == "urn:kairos:problem:too-many-concurrent-requests"
        assert refused.headers["retry-after"] == "1"
        for upstream in upstreams:
            await upstream.release()
        assert [response.status_code for response in await asyncio.gather(*held)] == [200, 200]
        assert (await gateway.client.get(ECHO)).status_code == 200


async def test_a_gateway_at_its_cap_of_requests_in_flight_answers_503_but_still_its_probes(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    settings = gateway_settings(
        base_settings, upstreams, gateway_max_in_flight=3, gateway_max_in_flight_per_address=100
    )
    async with running_gateway(settings, gateway_database_url) as gateway:
        held = [asyncio.create_task(gateway.client.get(HOLD)) for _ in range(3)]
        await held_requests(upstreams, 3)

        refused = await gateway.client.get(ECHO)
        live = await gateway.client.get("/health/live")

        assert refused.status_code == 503
        assert refused.json()["type"] == "urn:kairos:problem:gateway-overloaded"
        assert live.status_code == 200
        assert await gateway.metric("kairos_gateway_flood_refused_total", reason="gateway") == 1.0
        for upstream in upstreams:
            await upstream.release()
        assert [response.status_code for response in await asyncio.gather(*held)] == [200] * 3
        assert (await gateway.client.get(ECHO)).status_code == 200


async def test_connections_over_the_cap_get_503_from_the_server(
    upstreams: list[Upstream], base_settings: Settings, gateway_database_url: URL
) -> None:
    settings = gateway_settings(base_settings, upstreams, gateway_max_connections=4)
    async with running_gateway(settings, gateway_database_url) as gateway:
        idle = [await RawClient.open(gateway) for _ in range(4)]
        try:
            late = await RawClient.open(gateway)
            await late.write(f"GET {ECHO} HTTP/1.1\r\nHost: kairos\r\n\r\n".encode())
            assert (await late.response()).status == 503
            await late.close()
        finally:
            for client in idle:
                await client.close()


async def test_a_client_that_stops_reading_a_large_answer_is_dropped(gateway: Gateway) -> None:
    """A client that asks for a download and reads nothing more fills its socket's buffers; the gateway gives
    up on it after the send timeout instead of holding the connection, the upstream's and the answer for ever."""
    dropped_before = _flood_refused("slow-reader")
    address = urlsplit(gateway.url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the answer backs up fast
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (address.hostname, address.port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 16)
    megabytes = 256  # far more than the socket buffers on both sides hold
    try:
        writer.write(f"GET {API}/download?megabytes={megabytes} HTTP/1.1\r\nHost: kairos\r\n\r\n".encode())
        await writer.drain()
        async with asyncio.timeout(SAFETY):
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")
            # Read nothing more until the gateway has given up on this client.
            while _flood_refused("slow-reader") == dropped_before:  # noqa: ASYNC110  # a metric, no event to await
                await asyncio.sleep(0.05)
            received = 0
            while chunk := await reader.read(1 << 16):  # what was already buffered, then the end: closed
                received += len(chunk)
    finally:
        writer.close()
    assert received < megabytes << 20, "the answer was abandoned, not completed"


def _flood_refused(reason: str) -> float:
    return REGISTRY.get_sample_value("kairos_gateway_flood_refused_total", {"reason": reason}) or 0.0
