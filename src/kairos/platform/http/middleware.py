"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers and costs throughput)."""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid

import structlog
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kairos.platform.http.asgi import header
from kairos.platform.http.problems import TYPE_PREFIX, internal_error_response, problem_response
from kairos.platform.observability import metrics
from kairos.platform.observability.context import correlation_id_var
from kairos.platform.observability.tracing import continue_trace, current_trace_id

log = structlog.get_logger("kairos.http")
_access_log = logging.getLogger("kairos.http")

CORRELATION_HEADER = b"x-correlation-id"
_SAFE_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestContextMiddleware:
    """Correlation id in and out, a server span continuing the caller's trace, latency metrics, access log."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = header(scope, CORRELATION_HEADER)
        correlation_id = incoming if incoming and _SAFE_CORRELATION_ID.match(incoming) else str(uuid.uuid4())
        token = correlation_id_var.set(correlation_id)
        status = 500
        started = time.perf_counter()
        response_started = False

        async def send_with_context(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                # Replace, not add: a proxied service already answered with the same id.
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != CORRELATION_HEADER]
                message["headers"] = [*headers, (CORRELATION_HEADER, correlation_id.encode())]
            await send(message)

        try:
            with continue_trace(
                f"{scope['method']} {scope['path']}",
                traceparent=header(scope, b"traceparent"),
                kind=SpanKind.SERVER,
                service=self.service,
            ) as span:
                # Tokens rather than structlog's bound_contextvars, which copies the whole context twice.
                bound = structlog.contextvars.bind_contextvars(
                    service=self.service, correlation_id=correlation_id, trace_id=current_trace_id()
                )
                try:
                    try:
                        await self.app(scope, receive, send_with_context)
                    except Exception:
                        # Starlette has answered already when it could; answer here when nothing was sent.
                        log.error("http.unhandled_exception", path=scope["path"], exc_info=True)
                        if not response_started:
                            await internal_error_response(scope["path"])(scope, receive, send_with_context)
                    span.set_attribute("http.response.status_code", status)
                    span.update_name(f"{scope['method']} {route_template(scope)}")  # low-cardinality span names
                    self._observe(scope, status, time.perf_counter() - started)
                finally:
                    structlog.contextvars.reset_contextvars(**bound)
        finally:
            correlation_id_var.reset(token)

    def _observe(self, scope: Scope, status: int, elapsed: float) -> None:
        template = route_template(scope)
        metrics.HTTP_REQUEST_DURATION.labels(self.service, scope["method"], template, str(status)).observe(elapsed)
        # Checked first: structlog runs its processors (time stamp included) before the level filter.
        if _access_log.isEnabledFor(logging.INFO) and not template.startswith("/health") and template != "/metrics":
            log.info(
                "http.request",
                method=scope["method"],
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )


ROUTE_TEMPLATE_KEY = "kairos.route_template"


def route_template(scope: Scope) -> str:
    """The matched route's template (``/appointments/{id}``), never the raw path: metric labels stay few."""
    explicit = scope.get(ROUTE_TEMPLATE_KEY)
    if isinstance(explicit, str):
        return explicit
    return getattr(scope.get("route"), "path", None) or "unmatched"


class BodyLimitMiddleware:
    """Refuse request bodies over the limit with 413, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        if declared is None and header(scope, b"transfer-encoding") is None:
            await self.app(scope, receive, send)  # HTTP/1.1 (RFC 9112 §6.3): no body at all, nothing to count
            return
        received = 0
        response_started = False
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer here: the app may turn the error into a response of its own (FastAPI
                    # answers any failure while reading a body with 400); what it sends is dropped.
                    if not response_started and not refused:
                        refused = True
                        await self._too_large(scope, receive, send)
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        with contextlib.suppress(_BodyTooLarge):
            await self.app(scope, limited_receive, tracking_send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            status=413,
            type_=f"{TYPE_PREFIX}payload-too-large",
            title="Payload Too Large",
            detail=f"Request bodies are limited to {self.max_bytes} bytes.",
            instance=scope["path"],
        )
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass
