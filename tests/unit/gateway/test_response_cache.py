"""The response cache with its in-memory store, in front of a stand-in service: an answer read while an event
invalidated what it is about is served but not kept, whatever tag said so (its path's or its ``Cache-Tag``)."""

from __future__ import annotations

import httpx
from starlette.types import Receive, Scope, Send

from kairos.gateway.caching import MemoryStore, ResponseCache, ResponseCacheMiddleware
from kairos.gateway.routing import RouteTable

DIRECTORY = "/api/v1/appointments/directory"


class Service:
    """Answers with a public, tagged directory; when ``changes_while_reading``, the change's event arrives while
    the answer of the state before it is on its way."""

    def __init__(self, cache: ResponseCache) -> None:
        self.cache = cache
        self.reads = 0
        self.changes_while_reading = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.reads += 1
        body = f'{{"read": {self.reads}}}'.encode()
        if self.changes_while_reading:
            self.changes_while_reading = False
            await self.cache.invalidate(["appointments.directory"])
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"public, max-age=0, s-maxage=60"),
            (b"cache-tag", b"appointments.directory"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def gateway() -> tuple[httpx.AsyncClient, Service]:
    cache = ResponseCache(MemoryStore(), max_bytes=10_000, max_lifetime=300)
    service = Service(cache)
    routes = RouteTable()
    routes.route("appointments", service)
    app = ResponseCacheMiddleware(service, cache=cache, routes=routes)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway"), service


async def test_an_answer_read_while_its_tag_was_invalidated_is_served_but_not_kept() -> None:
    client, service = gateway()
    async with client:
        service.changes_while_reading = True
        during = await client.get(DIRECTORY)
        after = await client.get(DIRECTORY)
        again = await client.get(DIRECTORY)

    assert during.json() == {"read": 1}
    assert after.headers["x-kairos-cache"] == "miss", "the answer read before the event was not kept"
    assert after.json() == {"read": 2}
    assert again.headers["x-kairos-cache"] == "hit"
    assert "cache-tag" not in again.headers, "tags are the gateway's own"


async def test_a_kept_answer_is_dropped_by_its_declared_tag() -> None:
    client, service = gateway()
    async with client:
        await client.get(DIRECTORY)
        assert (await client.get(DIRECTORY)).headers["x-kairos-cache"] == "hit"
        await service.cache.invalidate(["appointments.directory"])
        fresh = await client.get(DIRECTORY)

    assert fresh.headers["x-kairos-cache"] == "miss"
    assert fresh.json() == {"read": 2}
