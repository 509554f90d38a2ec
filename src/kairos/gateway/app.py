"""Builds the gateway from platform parts; in the distributed shape each service is reached over HTTP, at
one or more instances, behind health checks, circuit breakers, rate limits and the token check."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Scope

from kairos.gateway.api import landing, router
from kairos.gateway.domain.balancing import BALANCERS, Instance
from kairos.gateway.domain.health import Thresholds
from kairos.gateway.edge import EdgeMiddleware, SecurityHeadersMiddleware
from kairos.gateway.health_checks import HealthChecker
from kairos.gateway.proxy import HttpUpstream, ProxyPolicy, RouteTimeouts, breaker_changed
from kairos.gateway.ratelimit import RateLimiter
from kairos.gateway.routing import RouteTable, ServiceDispatchMiddleware
from kairos.platform.config import SERVICES, Settings
from kairos.platform.runtime import ServiceDefinition, ServiceRuntime

WEB_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"
CORS_ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Correlation-ID", "traceparent"]
CORS_EXPOSED_HEADERS = [
    "Location",
    "ETag",
    "Retry-After",
    "X-Correlation-ID",
    "RateLimit",
    "RateLimit-Policy",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
]


class WebApp(StaticFiles):
    """The built web app; a page path that is no file (``/auth/callback``, ``/appointments/…``) gets
    ``index.html``, so deep links and reloads reach the app's own router. Missing assets and unknown
    ``/api/…`` paths stay 404."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True)

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as error:
            if error.status_code != 404 or not _is_page(scope["path"]):
                raise
            response = await super().get_response("index.html", scope)
        if _is_page(scope["path"]):
            # The page names the current build's hashed assets: always check it again after a deploy.
            response.headers["Cache-Control"] = "no-cache"
        return response


def _is_page(path: str) -> bool:
    return not path.startswith("/api/") and "." not in path.rsplit("/", 1)[-1]


@dataclass
class Gateway:
    """The gateway's moving parts, kept on ``app.state.gateway`` between building, starting and stopping."""

    settings: Settings
    routes: RouteTable
    client: httpx.AsyncClient
    limiter: RateLimiter
    health_checker: HealthChecker | None = field(default=None)

    def http_upstreams(self) -> list[HttpUpstream]:
        """The services reached over HTTP; none in the all-in-one shape, where each app is in process."""
        return [upstream for upstream in self.routes.upstreams() if isinstance(upstream, HttpUpstream)]


def http_upstream(service: str, settings: Settings, client: httpx.AsyncClient) -> HttpUpstream:
    thresholds = Thresholds(
        healthy=settings.gateway_healthy_threshold,
        unhealthy=settings.gateway_unhealthy_threshold,
        eject_after=settings.gateway_eject_after,
    )
    instances = [
        Instance(
            url,
            thresholds=thresholds,
            breaker_failures=settings.gateway_breaker_failures,
            breaker_reset_after=settings.gateway_breaker_reset_seconds,
            on_breaker_change=functools.partial(breaker_changed, service),
        )
        for url in settings.service_instances(service)
    ]
    policy = ProxyPolicy(
        timeouts=RouteTimeouts(settings.gateway_upstream_timeout, dict(settings.gateway_route_timeouts)),
        connect_timeout=settings.gateway_connect_timeout,
        retries=settings.gateway_retries,
        retry_after=math.ceil(settings.gateway_health_interval),
    )
    balancer = BALANCERS[settings.gateway_balancer]()
    return HttpUpstream(service, instances, client=client, balancer=balancer, policy=policy)


def configure(app: FastAPI, runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    routes = RouteTable()
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.gateway_upstream_timeout, connect=settings.gateway_connect_timeout),
        limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200),
        follow_redirects=False,
    )
    for service in SERVICES:
        if service != "gateway":
            routes.route(service, http_upstream(service, settings, client))
    limiter = RateLimiter.from_settings(settings)
    app.state.routes = routes
    app.state.upstream_client = client
    app.state.gateway = Gateway(settings=settings, routes=routes, client=client, limiter=limiter)
    # Added innermost first: security headers, then CORS (preflights answered here), then limits and the
    # token check, then the dispatch to a service.
    app.add_middleware(ServiceDispatchMiddleware, routes=routes)
    app.add_middleware(EdgeMiddleware, limiter=limiter, verifier=runtime.verifier, routes=routes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.gateway_cors_origins),
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=CORS_ALLOWED_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        max_age=600,
    )
    app.add_middleware(
        SecurityHeadersMiddleware,
        content_security_policy=settings.gateway_content_security_policy,
        public_url=settings.public_url,
    )
    if (WEB_DIST / "index.html").exists():
        app.mount("/", WebApp(WEB_DIST), name="web")
    else:
        app.include_router(landing)


async def start(runtime: ServiceRuntime) -> None:
    """Begin the active health checks of every instance reached over HTTP."""
    gateway: Gateway = runtime.app.state.gateway
    gateway.health_checker = HealthChecker(
        gateway.http_upstreams(),
        interval=gateway.settings.gateway_health_interval,
        timeout=gateway.settings.gateway_health_timeout,
    )
    gateway.health_checker.start()


async def stop(runtime: ServiceRuntime) -> None:
    gateway: Gateway = runtime.app.state.gateway
    if gateway.health_checker is not None:
        await gateway.health_checker.stop()
    await gateway.client.aclose()
    await gateway.limiter.aclose()


definition = ServiceDefinition(
    name="gateway",
    title="Gateway",
    description="The single entry point: routes /api/v1/<service>/… to the owning service.",
    routers=[router],
    migrations="kairos.gateway:migrations",
    configure_app=configure,
    idempotency=False,
    on_start=start,
    on_stop=stop,
)
