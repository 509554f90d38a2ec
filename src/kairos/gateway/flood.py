"""Flood protection: caps on requests in flight (per gateway and per source address) and a time limit on
the arrival of a request's body. Rate limits count requests over minutes; these count what is open now, so
a few clients holding many slow requests cannot take every connection to the services.

The header time limit and the connection cap belong to the HTTP server (``server_options``): a request whose
headers never end never reaches the app.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kairos.gateway import metrics
from kairos.platform.http.problems import TYPE_PREFIX, problem_response

log = structlog.get_logger(__name__)

UNCAPPED_PREFIXES = ("/health/", "/metrics")  # probes and scrapes get through an overloaded gateway


class FloodGuard:
    """Pure ASGI middleware: 503 when the gateway has ``max_in_flight`` requests open, 429 when the source
    address has ``max_in_flight_per_address``, 408 when a body has not fully arrived ``body_timeout``
    seconds after the request began. WebSockets are not counted: they are long-lived by design, and held
    to the server's connection cap instead."""

    def __init__(
        self, app: ASGIApp, *, max_in_flight: int, max_in_flight_per_address: int, body_timeout: float
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.max_in_flight_per_address = max_in_flight_per_address
        self.body_timeout = body_timeout
        self.in_flight = 0
        self.by_address: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNCAPPED_PREFIXES):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        if self.in_flight >= self.max_in_flight:
            metrics.FLOOD_REFUSED.labels("gateway").inc()
            log.warning("gateway.overloaded", in_flight=self.in_flight)
            await _overloaded(scope)(scope, receive, send)
            return
        if self.by_address[address] >= self.max_in_flight_per_address:
            metrics.FLOOD_REFUSED.labels("address").inc()
            log.info("gateway.address_over_concurrency", in_flight=self.by_address[address])
            await _too_many_concurrent(scope, self.max_in_flight_per_address)(scope, receive, send)
            return
        self.in_flight += 1
        self.by_address[address] += 1
        try:
            if _has_body(scope):
                await self._with_body_deadline(scope, receive, send)
            else:
                await self.app(scope, receive, send)  # HTTP/1.1 (RFC 9112 §6.3): no body, no deadline to keep
        finally:
            self.in_flight -= 1
            self.by_address[address] -= 1
            if not self.by_address[address]:
                del self.by_address[address]

    async def _with_body_deadline(self, scope: Scope, receive: Receive, send: Send) -> None:
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        body_complete = False
        response_started = False
        refused = False

        async def receive_in_time() -> Message:
            nonlocal body_complete, refused
            if body_complete:
                return await receive()  # after the body: only a disconnect is left to wait for, for as long as it takes
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                metrics.FLOOD_REFUSED.labels("slow-body").inc()
                log.info("gateway.body_too_slow", timeout=self.body_timeout)
                if not response_started and not refused:
                    refused = True
                    await _body_too_slow(scope, self.body_timeout)(scope, receive, send)
                raise _BodyTooSlow from None  # not a TimeoutError: the proxy would call it the service's
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_complete = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return  # the 408 is the answer; whatever the app makes of the failed read is dropped
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        with contextlib.suppress(_BodyTooSlow):
            await self.app(scope, receive_in_time, tracking_send)


class _BodyTooSlow(Exception):
    pass


def _has_body(scope: Scope) -> bool:
    return any(name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"])


def _overloaded(scope: Scope) -> ASGIApp:
    return problem_response(
        status=503,
        type_=f"{TYPE_PREFIX}gateway-overloaded",
        title="Service Unavailable",
        detail="The gateway has too many requests in progress; try again shortly.",
        instance=scope["path"],
        headers={"Retry-After": "1"},
    )


def _too_many_concurrent(scope: Scope, limit: int) -> ASGIApp:
    return problem_response(
        status=429,
        type_=f"{TYPE_PREFIX}too-many-concurrent-requests",
        title="Too Many Requests",
        detail=f"At most {limit} requests from one address may be in progress at once.",
        instance=scope["path"],
        headers={"Retry-After": "1"},
    )


def _body_too_slow(scope: Scope, timeout: float) -> ASGIApp:
    return problem_response(
        status=408,
        type_=f"{TYPE_PREFIX}request-timeout",
        title="Request Timeout",
        detail=f"The request body did not arrive within {timeout:g} s.",
        instance=scope["path"],
        headers={"Connection": "close"},
    )


# RFC 9110 §15.5.9: a server may send 408 on a connection it closes because a request did not complete.
HEADERS_TOO_SLOW = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"Content-Type: application/problem+json\r\n"
    b"Connection: close\r\n"
    b"Content-Length: %d\r\n\r\n%s"
)
HEADERS_TOO_SLOW_BODY = (
    b'{"type":"' + TYPE_PREFIX.encode() + b'request-timeout","title":"Request Timeout","status":408,'
    b'"detail":"The request headers did not arrive in time."}'
)


def header_timeout_protocol(seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a time limit on each request's headers, from the connection's
    opening or the request's first byte: uvicorn has none, and a client trickling headers (Slowloris)
    would hold its connection for ever."""

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_header_timer()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_timer is None:
                self._arm_header_timer()

        def on_headers_complete(self) -> None:
            self._disarm_header_timer()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_timer()
            super().connection_lost(exc)

        def _arm_header_timer(self) -> None:
            self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.cycle is not None and not self.cycle.response_complete:
                self._arm_header_timer()  # a pipelined request waits for the one being answered
                return
            if not self.transport.is_closing():
                metrics.FLOOD_REFUSED.labels("slow-headers").inc()
                self.transport.write(HEADERS_TOO_SLOW % (len(HEADERS_TOO_SLOW_BODY), HEADERS_TOO_SLOW_BODY))
                self.transport.close()

    return HeaderTimeoutProtocol


def server_options(*, header_timeout: float, max_connections: int) -> dict[str, Any]:
    """uvicorn settings of the gateway's server: the header time limit, and a cap on open connections
    (beyond it uvicorn answers a plain 503 itself, before any middleware of ours)."""
    return {"http": header_timeout_protocol(header_timeout), "limit_concurrency": max_connections}
