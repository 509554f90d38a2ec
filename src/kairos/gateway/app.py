"""Builds the gateway from platform parts; in the distributed shape each service is reached over HTTP, at
one or more instances, behind health checks, circuit breakers, rate limits and the token check."""

from __future__ import annotations

import functools
import gc
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
from swagger_ui_bundle import swagger_ui_path

from kairos.gateway.api import DOCS_ASSETS, docs, landing, router
from kairos.gateway.caching import MemoryStore, RedisStore, ResponseCache, ResponseCacheMiddleware
from kairos.gateway.discovery import DnsDiscovery
from kairos.gateway.domain.balancing import BALANCERS, Instance
from kairos.gateway.domain.discovery import DnsName
from kairos.gateway.domain.health import Thresholds
from kairos.gateway.edge import EdgeMiddleware, SecurityHeadersMiddleware
from kairos.gateway.flood import FloodGuard, server_options
from kairos.gateway.handlers import GatewayUnitOfWork, handlers
from kairos.gateway.health_checks import HealthChecker
from kairos.gateway.openapi import CombinedDocument
from kairos.gateway.proxy import HttpUpstream, ProxyPolicy, RouteTimeouts, UpstreamConnections, breaker_changed
from kairos.gateway.ratelimit import RateLimiter
from kairos.gateway.routing import RouteTable, ServiceDispatchMiddleware, internal_client
from kairos.gateway.views import router as views
from kairos.platform.config import SERVICES, Settings, TransportKind
from kairos.platform.runtime import ServiceDefinition, ServiceRuntime

# Below the services' servers' own keep-alive (uvicorn: 5 s), so the gateway never reuses a connection the
# service is closing at that instant.
UPSTREAM_KEEPALIVE_SECONDS = 4.0
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
        # Vite names each file under /assets/ by its content's hash: kept for good. Anything else (index.html
        # above all, which names the current build's assets) is checked again each time, by its ETag.
        is_hashed = scope["path"].startswith("/assets/")
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if is_hashed else "no-cache"
        return response


def _is_page(path: str) -> bool:
    return not path.startswith("/api/") and "." not in path.rsplit("/", 1)[-1]


@dataclass
class Gateway:
    """The gateway's moving parts, kept on ``app.state.gateway`` between building, starting and stopping."""

    settings: Settings
    routes: RouteTable
    connections: UpstreamConnections
    limiter: RateLimiter
    openapi: CombinedDocument
    cache: ResponseCache | None
    internal_client: httpx.AsyncClient
    health_checker: HealthChecker | None = field(default=None)
    discovery: DnsDiscovery | None = field(default=None)

    def http_upstreams(self) -> list[HttpUpstream]:
        """The services reached over HTTP; none in the all-in-one shape, where each app is in process."""
        return [upstream for upstream in self.routes.upstreams() if isinstance(upstream, HttpUpstream)]


def http_upstream(service: str, settings: Settings, connections: UpstreamConnections) -> HttpUpstream:
    thresholds = Thresholds(
        healthy=settings.gateway_healthy_threshold,
        unhealthy=settings.gateway_unhealthy_threshold,
        eject_after=settings.gateway_eject_after,
    )

    def make_instance(url: str) -> Instance:
        return Instance(
            url,
            thresholds=thresholds,
            breaker_failures=settings.gateway_breaker_failures,
            breaker_reset_after=settings.gateway_breaker_reset_seconds,
            on_breaker_change=functools.partial(breaker_changed, service),
        )

    discovered = service in settings.gateway_dns_services
    instances = [] if discovered else [make_instance(url) for url in settings.service_instances(service)]
    policy = ProxyPolicy(
        timeouts=RouteTimeouts(settings.gateway_upstream_timeout, dict(settings.gateway_route_timeouts)),
        connect_timeout=settings.gateway_connect_timeout,
        retries=settings.gateway_retries,
        retry_after=math.ceil(settings.gateway_health_interval),
        send_timeout=settings.gateway_send_timeout,
    )
    balancer = BALANCERS[settings.gateway_balancer]()
    return HttpUpstream(
        service,
        instances,
        connections=connections,
        balancer=balancer,
        policy=policy,
        make_instance=make_instance if discovered else None,
    )


def response_cache(settings: Settings) -> ResponseCache | None:
    kind = settings.gateway_cache_storage or ("memory" if settings.transport == TransportKind.IN_PROCESS else "redis")
    if kind == "off":
        return None
    store = (
        MemoryStore()
        if kind == "memory"
        else RedisStore(settings.redis_url.get_secret_value(), prefix=settings.gateway_cache_prefix)
    )
    return ResponseCache(
        store, max_bytes=settings.gateway_cache_max_bytes, max_lifetime=settings.gateway_cache_max_seconds
    )


def configure(app: FastAPI, runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    routes = RouteTable()
    connections = UpstreamConnections(max_connections=1000, keepalive_seconds=UPSTREAM_KEEPALIVE_SECONDS)
    for service in SERVICES:
        if service != "gateway":
            routes.route(service, http_upstream(service, settings, connections))
    limiter = RateLimiter.from_settings(settings)
    app.state.routes = routes
    app.state.server_options = server_options(
        header_timeout=settings.gateway_header_timeout, max_connections=settings.gateway_max_connections
    )
    internal = internal_client(routes)
    openapi = CombinedDocument(
        routes=routes,
        client=internal,
        own_document=app.openapi,
        title="Kairos API",
        version=app.version,
        cache_seconds=settings.gateway_openapi_cache_seconds,
    )
    cache = response_cache(settings)
    if runtime.consumer is not None:
        # The event handlers drop cached answers: their units of work carry this gateway's cache.
        def unit_of_work() -> GatewayUnitOfWork:
            uow = GatewayUnitOfWork(runtime.sessionmaker, producer=runtime.name)
            uow.cache = cache
            return uow

        runtime.consumer.unit_of_work = unit_of_work
    app.state.gateway = Gateway(
        settings=settings,
        routes=routes,
        connections=connections,
        limiter=limiter,
        openapi=openapi,
        cache=cache,
        internal_client=internal,
    )
    # Added innermost first: security headers, then CORS (preflights answered here), then the caps on
    # requests in flight, then limits and the token check, then the response cache (which needs to know
    # whose token was verified), then the dispatch to a service.
    app.add_middleware(ServiceDispatchMiddleware, routes=routes)
    if cache is not None:
        app.add_middleware(ResponseCacheMiddleware, cache=cache, routes=routes)
    app.add_middleware(
        EdgeMiddleware,
        limiter=limiter,
        verifier=runtime.verifier,
        routes=routes,
        allowed_origins=settings.gateway_cors_origins,
    )
    app.add_middleware(
        FloodGuard,
        max_in_flight=settings.gateway_max_in_flight,
        max_in_flight_per_address=settings.gateway_max_in_flight_per_address,
        body_timeout=settings.gateway_body_timeout,
    )
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
    app.include_router(docs)
    app.include_router(views)
    app.mount(DOCS_ASSETS, StaticFiles(directory=Path(str(swagger_ui_path))), name="api-docs-assets")
    if (WEB_DIST / "index.html").exists():
        app.mount("/", WebApp(WEB_DIST), name="web")
    else:
        app.include_router(landing)


async def start(runtime: ServiceRuntime) -> None:
    """Discover the instances named by DNS, then begin the active health checks of every instance."""
    gateway: Gateway = runtime.app.state.gateway
    upstreams = {upstream.service: upstream for upstream in gateway.http_upstreams()}
    gateway.discovery = DnsDiscovery(
        {
            service: DnsName.parse(url)
            for service, url in gateway.settings.gateway_dns_services.items()
            if service in upstreams
        },
        upstreams,
        interval=gateway.settings.gateway_dns_interval,
    )
    await gateway.discovery.refresh()  # the first instances before the first request
    gateway.discovery.start()
    gateway.health_checker = HealthChecker(
        gateway.http_upstreams(),
        interval=gateway.settings.gateway_health_interval,
        timeout=gateway.settings.gateway_health_timeout,
    )
    gateway.health_checker.start()
    # Everything built so far lives as long as the process: out of the collector's sight, a collection
    # triggered by a request's short-lived objects no longer walks the whole application.
    gc.freeze()


async def stop(runtime: ServiceRuntime) -> None:
    gateway: Gateway = runtime.app.state.gateway
    if gateway.discovery is not None:
        await gateway.discovery.stop()
    if gateway.health_checker is not None:
        await gateway.health_checker.stop()
    await gateway.connections.aclose()
    await gateway.limiter.aclose()
    await gateway.internal_client.aclose()
    if gateway.cache is not None:
        await gateway.cache.store.aclose()


definition = ServiceDefinition(
    name="gateway",
    title="Gateway",
    description="The single entry point: routes /api/v1/<service>/… to the owning service.",
    routers=[router],
    handlers=handlers,
    unit_of_work=GatewayUnitOfWork,
    migrations="kairos.gateway:migrations",
    configure_app=configure,
    idempotency=False,
    on_start=start,
    on_stop=stop,
)
