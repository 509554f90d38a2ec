"""Upstreams the gateway routes to: instances in other processes over HTTP (distributed) or an app in this
process (all-in-one). Both are ASGI apps; bodies are streamed both ways, never held whole."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
import structlog
from opentelemetry import trace
from prometheus_client import Gauge
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from websockets.exceptions import WebSocketException
from yarl import URL

from kairos.gateway import metrics, websocket
from kairos.gateway.domain.balancing import Balancer, Instance
from kairos.gateway.domain.breaker import BreakerState, Permit
from kairos.gateway.domain.health import Change
from kairos.platform.http.middleware import ROUTE_TEMPLATE_KEY
from kairos.platform.http.problems import TYPE_PREFIX, problem_response
from kairos.platform.observability.context import current_correlation_id

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
# Set afresh on the way: the gateway's own context (below), and its server's Date (a second one is invalid).
REPLACED_ON_REQUEST = frozenset({b"x-correlation-id", b"traceparent", b"x-kairos-subject"})
REPLACED_ON_RESPONSE = HOP_BY_HOP | {b"date"}
SUBJECT_HEADER = b"x-kairos-subject"
# Where the edge leaves the subject of a token it verified; forwarded as X-Kairos-Subject, for logs only.
VERIFIED_SUBJECT_KEY = "kairos.verified_subject"
# RFC 9110 §9.2.2; a POST is safe to repeat only when the service deduplicates it by its Idempotency-Key.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# Answers that say "this instance could not serve it", worth another instance; a 500 would fail anywhere.
RETRY_STATUSES = frozenset({502, 503, 504})


class Upstream(Protocol):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


def forwarded_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The request's headers as a service should see them: context propagated, hop-by-hop removed."""
    headers = [
        (name, value) for name, value in scope["headers"] if name not in HOP_BY_HOP and name not in REPLACED_ON_REQUEST
    ]
    correlation_id = current_correlation_id()
    if correlation_id:
        headers.append((b"x-correlation-id", correlation_id.encode()))
    traceparent = _current_traceparent()
    if traceparent:
        headers.append((b"traceparent", traceparent))
    client = scope.get("client")
    if client:
        headers.append((b"x-forwarded-for", client[0].encode()))
    headers.append((b"x-forwarded-proto", scope.get("scheme", "http").encode()))
    subject = scope.get(VERIFIED_SUBJECT_KEY)
    if isinstance(subject, str):
        headers.append((SUBJECT_HEADER, subject.encode()))
    return headers


def _current_traceparent() -> bytes | None:
    """W3C Trace Context §3.2 ``traceparent`` of the active span, written directly: the global propagator
    (``propagate.inject``) builds a carrier and walks every configured propagator on each request."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return b"00-%032x-%016x-%02x" % (context.trace_id, context.span_id, context.trace_flags)


def is_idempotent(scope: Scope) -> bool:
    method = scope["method"]
    return method in IDEMPOTENT_METHODS or (
        method == "POST" and any(name == b"idempotency-key" for name, _ in scope["headers"])
    )


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


async def _until_disconnected(receive: Receive) -> None:
    """Returns when the client has gone away; body chunks the service never read are dropped."""
    while (await receive())["type"] != "http.disconnect":
        pass


@dataclass(frozen=True)
class RouteTimeouts:
    """Per-route upstream timeouts: the longest configured path prefix wins, else the default."""

    default: float
    by_prefix: dict[str, float] = field(default_factory=dict)

    def for_path(self, path: str) -> float:
        if not self.by_prefix:
            return self.default
        matching = [prefix for prefix in self.by_prefix if path.startswith(prefix)]
        return self.by_prefix[max(matching, key=len)] if matching else self.default


@dataclass(frozen=True)
class ProxyPolicy:
    timeouts: RouteTimeouts
    connect_timeout: float = 2.0
    retries: int = 2
    retry_after: int = 5  # seconds suggested with a 503 when no instance is available
    send_timeout: float = 30.0  # seconds a client may take to accept the next part of an answer


class RequestBody:
    """The client's body, pulled only as the upstream reads it; once begun, the request cannot be re-sent."""

    def __init__(self, receive: Receive, *, present: bool) -> None:
        self._receive = receive
        self.present = present
        self.started = False
        # Why reading the client's body failed (too slow, too large): the client's doing, not the instance's.
        self.failure: BaseException | None = None

    def stream(self) -> AsyncIterator[bytes] | None:
        return self._chunks() if self.present else None

    async def _chunks(self) -> AsyncIterator[bytes]:
        self.started = True
        while True:
            try:
                message: Message = await self._receive()
            except Exception as error:
                self.failure = error
                raise
            if message["type"] != "http.request":
                return
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return


class UpstreamConnections:
    """The connection pool to every instance, aiohttp's, opened at the first request (a session belongs to
    the running event loop). aiohttp directly: httpcore's pool rescans all its connections for every queued
    request (encode/httpcore#1035), and httpx's request and URL models over aiohttp cost as much CPU again
    as aiohttp itself. No cookie jar: a proxy that kept one client's cookies would send them with the next
    client's requests. Nothing is added to the client's headers, and bodies pass undecoded."""

    def __init__(self, *, max_connections: int, keepalive_seconds: float) -> None:
        self._max_connections = max_connections
        self._keepalive_seconds = keepalive_seconds
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=self._keepalive_seconds),
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
                auto_decompress=False,
                trust_env=False,  # never an HTTP proxy from the environment between the gateway and a service
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


@dataclass
class _Attempt:
    outcome: str  # ok | failed | unreachable | broken | timeout
    response: aiohttp.ClientResponse | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome == "ok"

    @property
    def retryable(self) -> bool:
        if self.response is not None:
            return self.response.status in RETRY_STATUSES
        return self.outcome in ("unreachable", "broken")


class HttpUpstream:
    """A service in other processes: each request goes to one of its instances, chosen by the balancer,
    and is tried again on another instance when it is idempotent and its body has not been sent yet."""

    def __init__(
        self,
        service: str,
        instances: Sequence[Instance],
        *,
        connections: UpstreamConnections,
        balancer: Balancer,
        policy: ProxyPolicy,
        make_instance: Callable[[str], Instance] | None = None,
    ) -> None:
        if not instances and make_instance is None:
            raise ValueError(f"{service} needs at least one instance, or a way to add the ones it discovers")
        self.service = service
        self.instances = list(instances)
        self._make_instance = make_instance
        self._connections = connections
        self._balancer = balancer
        self._policy = policy
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        body = RequestBody(receive, present=_has_body(scope))
        may_retry = is_idempotent(scope)
        instance = self._balancer.pick(self.instances)
        if instance is None:
            await self._no_instance(scope, receive, send)
            return
        # An explicit loop rather than tenacity: every try goes at once to another instance (no back-off),
        # and the last failed answer is streamed to the client as it is, not raised.
        tried: list[Instance] = []
        while True:
            tried.append(instance)
            attempt = await self._attempt(instance, scope, body)
            if attempt.succeeded:
                await self._relay(instance, attempt, receive, send)
                return
            following = None
            if may_retry and attempt.retryable and not body.started and len(tried) <= self._policy.retries:
                following = self._balancer.pick(self.instances, exclude=tried)
            if following is None:
                if attempt.response is not None:
                    await self._relay(instance, attempt, receive, send)
                else:
                    await self._failure(attempt, scope, receive, send)
                return
            if attempt.response is not None:
                attempt.response.close()
                instance.outstanding -= 1
            metrics.RETRIES.labels(self.service).inc()
            log.info("gateway.retry", service=self.service, failed=instance.url, outcome=attempt.outcome)
            instance = following

    async def _attempt(self, instance: Instance, scope: Scope, body: RequestBody) -> _Attempt:
        permit = instance.breaker.permit()
        if permit is None:  # the balancer picked it as available a moment ago, in this same task
            return _Attempt("unreachable")
        timeout = self._policy.timeouts.for_path(scope["path"])
        url = instance.url + scope["raw_path"].decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in forwarded_headers(scope)]
        instance.outstanding += 1
        try:
            async with asyncio.timeout(timeout):  # the whole wait for the answer's head, not each read
                response = await self._connections.session().request(
                    scope["method"],
                    URL(url, encoded=True),  # as the client sent it: no re-quoting
                    headers=headers,
                    data=body.stream(),
                    allow_redirects=False,
                    timeout=self._client_timeout(timeout),
                )
        except BaseException as error:
            failed = None if body.failure is not None else self._failed_attempt(instance, error, timeout)
            if failed is None:
                # The client's body failed, the task was cancelled, or a bug: no fault of the instance's.
                instance.outstanding -= 1
                instance.breaker.abandoned(permit)
                if body.failure is not None:
                    raise body.failure from None
                raise
            attempt = failed
        else:
            attempt = _Attempt("failed" if response.status >= 500 else "ok", response)
        if attempt.response is None:
            instance.outstanding -= 1
        self._record(instance, permit, attempt)
        return attempt

    def _failed_attempt(self, instance: Instance, error: BaseException, timeout: float) -> _Attempt | None:
        """What a failure to get an answer's head says about the instance; None when it says nothing."""
        # ConnectionTimeoutError is a TimeoutError too, but no byte has reached the instance: another may serve.
        if isinstance(error, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
            log.warning("gateway.upstream_unreachable", service=self.service, instance=instance.url, error=repr(error))
            return _Attempt("unreachable")
        if isinstance(error, TimeoutError):  # asyncio.timeout above, or aiohttp's read timeout
            log.warning("gateway.upstream_timeout", service=self.service, instance=instance.url, timeout=timeout)
            return _Attempt("timeout")
        if isinstance(error, aiohttp.ClientError | OSError):
            log.warning("gateway.upstream_broken", service=self.service, instance=instance.url, error=repr(error))
            return _Attempt("broken")
        return None

    def _client_timeout(self, timeout: float) -> aiohttp.ClientTimeout:
        """The connect limit and the longest pause between two reads; one object per route timeout."""
        client_timeout = self._timeouts.get(timeout)
        if client_timeout is None:
            client_timeout = aiohttp.ClientTimeout(
                total=None, sock_connect=min(self._policy.connect_timeout, timeout), sock_read=timeout
            )
            self._timeouts[timeout] = client_timeout
        return client_timeout

    def _record(self, instance: Instance, permit: Permit, attempt: _Attempt) -> None:
        metrics.UPSTREAM_ATTEMPTS.labels(self.service, attempt.outcome).inc()
        if attempt.succeeded:
            instance.health.request_succeeded()
            instance.breaker.succeeded(permit)
            return
        instance.breaker.failed(permit)
        if instance.health.request_failed() is Change.EJECTED:
            log.warning("gateway.instance_ejected", service=self.service, instance=instance.url)
            self.publish_health()

    async def _relay(self, instance: Instance, attempt: _Attempt, receive: Receive, send: Send) -> None:
        response = attempt.response
        assert response is not None
        completed = False
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": [
                        (name, value)
                        for name, value in response.raw_headers
                        if name.lower() not in REPLACED_ON_RESPONSE
                    ],
                }
            )
            send_within = _within(send, self._policy.send_timeout)
            if response.content_length is not None:
                await _stream(response, send_within)
                completed = True
            else:
                # Unsized (an event stream, a long download): it may go on for hours between rare events,
                # so a client that leaves must end it now rather than at the service's next bytes.
                completed = await _stream_until_disconnected(response, receive, send_within)
        finally:
            # A connection whose answer was not read to the end cannot carry another request.
            if completed:
                response.release()
            else:
                response.close()
            instance.outstanding -= 1

    async def _no_instance(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._unavailable_problem(scope)(scope, receive, send)

    def _unavailable_problem(self, scope: Scope) -> Response:
        log.warning("gateway.no_instance_available", service=self.service)
        return problem_response(
            status=503,
            type_=f"{TYPE_PREFIX}no-instance-available",
            title="Service Unavailable",
            detail="No instance of the service behind this path is available now.",
            instance=scope["path"],
            headers={"Retry-After": str(self._policy.retry_after)},
        )

    async def _failure(self, attempt: _Attempt, scope: Scope, receive: Receive, send: Send) -> None:
        if attempt.outcome == "timeout":
            status, slug, title = 504, "upstream-timeout", "Gateway Timeout"
        else:
            status, slug, title = 502, "upstream-unavailable", "Bad Gateway"
        response = problem_response(
            status=status,
            type_=f"{TYPE_PREFIX}{slug}",
            title=title,
            detail="The service behind this path did not answer.",
            instance=scope["path"],
        )
        await response(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Open the same WebSocket on an instance (another one when it cannot be reached), then relay."""
        if (await receive())["type"] != "websocket.connect":
            return
        headers = forwarded_headers(scope)
        timeout = self._policy.timeouts.for_path(scope["path"])
        path = scope["raw_path"].decode("latin-1") + (
            "?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else ""
        )
        tried: list[Instance] = []
        while True:
            instance = self._balancer.pick(self.instances, exclude=tried)
            if instance is None or len(tried) > self._policy.retries:
                await websocket.deny(self._unavailable_problem(scope), scope, receive, send)
                return
            tried.append(instance)
            permit = instance.breaker.permit()
            if permit is None:
                continue
            try:
                connection = await websocket.open_upstream(
                    instance.url + path,
                    headers=headers,
                    subprotocols=scope.get("subprotocols", ()),
                    open_timeout=timeout,
                )
            except websocket.Refused as refusal:
                self._record(instance, permit, _Attempt("failed" if refusal.status >= 500 else "ok"))
                answer = Response(refusal.body, status_code=refusal.status, headers=dict(refusal.headers))
                await websocket.deny(answer, scope, receive, send)
                return
            except (OSError, TimeoutError, WebSocketException) as error:
                self._record(instance, permit, _Attempt("unreachable"))
                log.warning(
                    "gateway.websocket_unreachable", service=self.service, instance=instance.url, error=repr(error)
                )
                continue
            except BaseException:
                instance.breaker.abandoned(permit)
                raise
            self._record(instance, permit, _Attempt("ok"))
            break
        await send({"type": "websocket.accept", "subprotocol": connection.subprotocol})
        instance.outstanding += 1  # an open WebSocket is load for least-outstanding balancing
        try:
            await websocket.relay(connection, receive, send)
        finally:
            instance.outstanding -= 1

    # Health, as the health checker and the request path see it.

    def health_checked(self, instance: Instance, *, passed: bool) -> None:
        change = instance.health.check_passed() if passed else instance.health.check_failed()
        if change is Change.ADMITTED:
            log.info("gateway.instance_admitted", service=self.service, instance=instance.url)
        elif change is Change.UNHEALTHY:
            log.warning("gateway.instance_unhealthy", service=self.service, instance=instance.url)
        if change is not Change.UNCHANGED:
            self.publish_health()
        _ = instance.breaker.state  # an open breaker whose wait is over turns half-open (and says so)

    def replace_instances(self, *, added: Sequence[str], removed: Sequence[str]) -> None:
        """Discovery's news: instances at ``added`` join (in rotation until checks or requests say otherwise),
        those at ``removed`` leave; requests in flight to them finish."""
        if self._make_instance is None:
            raise RuntimeError(f"{self.service}'s instances are configured, not discovered")
        leaving = [instance for instance in self.instances if instance.url in removed]
        joining = [self._make_instance(url) for url in added]
        self.instances = [instance for instance in self.instances if instance.url not in removed] + joining
        for instance in leaving:
            _remove(metrics.BREAKER_STATE, self.service, instance.url)
        for instance in joining:
            _publish_breaker(self.service, instance, instance.breaker.state)
        self.publish_health()

    def publish_health(self) -> None:
        in_rotation = sum(1 for instance in self.instances if instance.health.in_rotation)
        metrics.HEALTHY_INSTANCES.labels(self.service).set(in_rotation)

    def publish_metrics(self) -> None:
        self.publish_health()
        for instance in self.instances:
            _publish_breaker(self.service, instance, instance.breaker.state)

    def retire_metrics(self) -> None:
        for instance in self.instances:
            _remove(metrics.BREAKER_STATE, self.service, instance.url)
        _remove(metrics.HEALTHY_INSTANCES, self.service)


def breaker_changed(service: str, instance: Instance, state: BreakerState) -> None:
    _publish_breaker(service, instance, state)
    if state is BreakerState.OPEN:
        log.warning("gateway.breaker_opened", service=service, instance=instance.url)
    else:
        log.info("gateway.breaker_changed", service=service, instance=instance.url, state=str(state))


def _publish_breaker(service: str, instance: Instance, state: BreakerState) -> None:
    metrics.BREAKER_STATE.labels(service, instance.url).set(metrics.BREAKER_STATE_VALUES[state])


def _remove(gauge: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # never published (all-in-one) or already removed
        gauge.remove(*labels)


class SlowReader(Exception):
    """The client did not take the next part of an answer in time: the connection is dropped."""


def _within(send: Send, seconds: float) -> Send:
    """``send`` that gives up after ``seconds``. The server's ``send`` waits while the client's socket buffers
    are full, so a client that stops reading (on purpose or not) would hold a connection, an upstream
    connection and the answer's buffers for ever; raising ends the answer and closes the connection."""

    async def send_within(message: Message) -> None:
        try:
            async with asyncio.timeout(seconds):
                await send(message)
        except TimeoutError:
            metrics.FLOOD_REFUSED.labels("slow-reader").inc()
            log.warning("gateway.slow_reader_dropped", seconds=seconds)
            raise SlowReader(f"the client took more than {seconds:g} s to accept the answer") from None

    return send_within


async def _stream(response: aiohttp.ClientResponse, send: Send) -> None:
    content = response.content
    while chunk := await content.readany():
        # The last part of a small answer usually comes with its head: sent as the end at once.
        if content.at_eof():
            await send({"type": "http.response.body", "body": chunk, "more_body": False})
            return
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _stream_until_disconnected(response: aiohttp.ClientResponse, receive: Receive, send: Send) -> bool:
    """Whether the answer went out to its end (rather than the client leaving first)."""
    streaming = asyncio.create_task(_stream(response, send))
    disconnected = asyncio.create_task(_until_disconnected(receive))
    try:
        await asyncio.wait({streaming, disconnected}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        streaming.cancel()
        disconnected.cancel()
        await asyncio.gather(streaming, disconnected, return_exceptions=True)
    if streaming.cancelled():
        return False
    if (error := streaming.exception()) is not None:
        raise error
    return True


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"0", b"")):
            return True
    return False
