"""What the gateway checks before routing a request, and adds to every answer.

``EdgeMiddleware`` counts the request against the source address's rate limits first (cheap, and a flood of
forged tokens is limited too), then verifies a bearer token on a routed request (a bad or expired one never
reaches a service), then counts it against the user's and the client's limits. Requests without a token pass
on: the services decide. A WebSocket handshake goes through the same checks, and its ``Origin`` must be the
gateway's own or an allowed CORS origin (browsers send cookies with a cross-site WebSocket handshake and no
preflight guards it). ``SecurityHeadersMiddleware`` adds the browser-facing security headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import structlog
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kairos.gateway import websocket
from kairos.gateway.proxy import VERIFIED_SUBJECT_KEY
from kairos.gateway.ratelimit import Quota, RateLimiter
from kairos.gateway.routing import OUTSIDE_API, RouteTable
from kairos.platform.auth.principal import BEARER_CHALLENGE, Principal
from kairos.platform.auth.tokens import InvalidToken, JwksUnavailable, TokenVerifier
from kairos.platform.http.asgi import header
from kairos.platform.http.problems import TYPE_PREFIX, problem_response

log = structlog.get_logger(__name__)

UNLIMITED_PREFIXES = ("/health/", "/metrics")  # probes and scrapes are never limited
API_PATHS = ("/api/", *OUTSIDE_API)


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        verifier: TokenVerifier,
        routes: RouteTable,
        allowed_origins: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.verifier = verifier
        self.routes = routes
        self.allowed_origins = frozenset(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith(UNLIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        scope.pop(VERIFIED_SUBJECT_KEY, None)  # only this middleware says who was verified
        if scope["type"] == "websocket" and not self._is_allowed_origin(scope):
            log.info("gateway.websocket_origin_refused")
            await _refuse(_forbidden_origin(scope), scope, receive, send)
            return
        method = scope.get("method", "GET")  # a WebSocket handshake is a GET
        quota = Quota()
        rule = self.limiter.rule_for(method, scope["path"])
        if rule is not None:
            quota.verdicts += await self.limiter.count(rule, "address", _source_address(scope))
            if quota.exceeded and not self.limiter.dry_run:
                await _refuse(_too_many_requests(quota, scope), scope, receive, send)
                return
        principal = None
        if scope["path"].startswith(API_PATHS):  # the services' and the gateway's own (views)
            token = _bearer_token(scope)
            if token is not None:
                refusal, principal = await self._verify(token, scope)
                if refusal is not None:
                    await _refuse(refusal, scope, receive, send)
                    return
        if rule is not None and principal is not None:
            quota.verdicts += await self.limiter.count(rule, "user", principal.subject)
            if principal.client_id:
                quota.verdicts += await self.limiter.count(rule, "client", principal.client_id)
            if quota.exceeded and not self.limiter.dry_run:
                await _refuse(_too_many_requests(quota, scope), scope, receive, send)
                return
        if principal is not None:
            scope[VERIFIED_SUBJECT_KEY] = principal.subject
        if self.limiter.dry_run or not quota.verdicts or scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        quota_headers = quota.headers()

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in quota_headers:
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_quota)

    def _is_allowed_origin(self, scope: Scope) -> bool:
        """No Origin (not a browser), the gateway's own (same host), or an allowed CORS origin."""
        origin = header(scope, b"origin")
        if origin is None or origin in self.allowed_origins:
            return True
        return urlsplit(origin).netloc.lower() == (header(scope, b"host") or "").lower()

    async def _verify(self, token: str, scope: Scope) -> tuple[Response | None, Principal | None]:
        try:
            return None, await self.verifier.verify(token)
        except InvalidToken as error:
            log.info("gateway.token_refused", reason=str(error))
            return _unauthenticated(scope, str(error)), None
        except JwksUnavailable:
            log.warning("gateway.token_keys_unavailable")
            return (
                problem_response(
                    status=503,
                    type_=f"{TYPE_PREFIX}auth-unavailable",
                    title="Service Unavailable",
                    detail="Token keys are unavailable",
                    instance=scope["path"],
                ),
                None,
            )


def _source_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer`` header; other schemes (Basic, at the token endpoint) pass on."""
    value = header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def _refuse(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await websocket.deny(response, scope, receive, send)
    else:
        await response(scope, receive, send)


def _forbidden_origin(scope: Scope) -> Response:
    return problem_response(
        status=403,
        type_=f"{TYPE_PREFIX}origin-not-allowed",
        title="Forbidden",
        detail="WebSocket connections are accepted from this site and the allowed origins only.",
        instance=scope["path"],
    )


def _unauthenticated(scope: Scope, detail: str) -> Response:
    return problem_response(
        status=401,
        type_=f"{TYPE_PREFIX}unauthenticated",
        title="Unauthorized",
        detail=detail or "The access token is not valid",
        instance=scope["path"],
        headers={"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="invalid_token"'},
    )


def _too_many_requests(quota: Quota, scope: Scope) -> Response:
    retry_after = quota.retry_after
    return problem_response(
        status=429,
        type_=f"{TYPE_PREFIX}rate-limited",
        title="Too Many Requests",
        detail=f"Too many requests; try again in {retry_after} s.",
        instance=scope["path"],
        headers={"Retry-After": str(retry_after), **dict(quota.headers())},
        # draft-ietf-httpapi-ratelimit-headers-11 §5.1 names the policies a client went over.
        **{"violated-policies": [verdict.limit.name for verdict in quota.exceeded]},
    )


class SecurityHeadersMiddleware:
    """nosniff and a referrer policy on every answer, the CSP on HTML, HSTS only over HTTPS (RFC 6797 §7.2:
    a host must not send it over plain HTTP)."""

    def __init__(self, app: ASGIApp, *, content_security_policy: str, public_url: str | None) -> None:
        self.app = app
        self.content_security_policy = content_security_policy
        self.always_https = bool(public_url and public_url.lower().startswith("https://"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_https = self.always_https or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                if over_https:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
                if headers.get("content-type", "").lower().startswith("text/html"):
                    # Added beside any policy of the service: every policy present is enforced (CSP 3 §8.1).
                    headers.append("Content-Security-Policy", self.content_security_policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)
