"""Upstreams the gateway routes to: another process over HTTP (distributed) or an app in this process
(all-in-one). Both are ASGI apps; bodies are streamed both ways, never held whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import httpx
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kairos.platform.http.middleware import ROUTE_TEMPLATE_KEY
from kairos.platform.http.problems import TYPE_PREFIX, problem_response
from kairos.platform.observability.context import current_correlation_id, current_traceparent

log = structlog.get_logger(__name__)

# RFC 9110 §7.6.1: connection-specific fields are not forwarded.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
    }
)


class Upstream(Protocol):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


def forwarded_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The request's headers as a service should see them: context propagated, hop-by-hop removed."""
    headers = [
        (name, value)
        for name, value in scope["headers"]
        if name not in HOP_BY_HOP and name not in (b"x-correlation-id", b"traceparent")
    ]
    correlation_id = current_correlation_id()
    if correlation_id:
        headers.append((b"x-correlation-id", correlation_id.encode()))
    traceparent = current_traceparent()
    if traceparent:
        headers.append((b"traceparent", traceparent.encode()))
    client = scope.get("client")
    if client:
        headers.append((b"x-forwarded-for", client[0].encode()))
    headers.append((b"x-forwarded-proto", scope.get("scheme", "http").encode()))
    return headers


class AsgiUpstream:
    """A service app in this process (all-in-one): called directly, as if over the wire."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = next((value for name, value in scope["headers"] if name == b"host"), None)
        headers = forwarded_headers(scope) + ([(b"host", host)] if host else [])
        # The service labels its own metrics with its own route, not the gateway's "/api/v1/<service>/*".
        forwarded = {key: value for key, value in scope.items() if key != ROUTE_TEMPLATE_KEY}
        await self.app({**forwarded, "headers": headers}, receive, send)


class HttpUpstream:
    """A service in another process: the request is re-sent with httpx and the answer streamed back."""

    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1011})
            return
        headers = forwarded_headers(scope)
        has_body = any(name in (b"content-length", b"transfer-encoding") for name, _ in scope["headers"])
        url = self.base_url + scope["raw_path"].decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        request = self._client.build_request(
            scope["method"], url, headers=headers, content=_body(receive) if has_body else None
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException:
            await _unavailable(scope, receive, send, 504, "upstream-timeout", "Gateway Timeout")
            return
        except httpx.TransportError as error:
            log.warning("gateway.upstream_unreachable", upstream=self.base_url, error=repr(error))
            await _unavailable(scope, receive, send, 502, "upstream-unavailable", "Bad Gateway")
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (name, value) for name, value in response.headers.raw if name.lower() not in HOP_BY_HOP
                    ],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _unavailable(scope: Scope, receive: Receive, send: Send, status: int, slug: str, title: str) -> None:
    response = problem_response(
        status=status,
        type_=f"{TYPE_PREFIX}{slug}",
        title=title,
        detail="The service behind this path did not answer.",
        instance=scope["path"],
    )
    await response(scope, receive, send)
