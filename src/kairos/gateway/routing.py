"""The route table: ``/api/v1/<service>/…`` → that service's upstream; everything else → the gateway itself."""

from __future__ import annotations

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from kairos.gateway.proxy import Upstream
from kairos.platform.http.middleware import ROUTE_TEMPLATE_KEY
from kairos.platform.http.problems import TYPE_PREFIX, problem_response

API_PREFIX = "/api/v1/"
# Paths a service serves beside /api/v1: the FHIR R4 facade sits at its base, where FHIR clients look for it.
OUTSIDE_API = {"/fhir/R4/": "appointments"}


class RouteTable:
    def __init__(self) -> None:
        self._upstreams: dict[str, Upstream] = {}

    def route(self, service: str, upstream: Upstream) -> None:
        self._upstreams[service] = upstream

    def services(self) -> list[str]:
        return sorted(self._upstreams)

    def upstreams(self) -> list[Upstream]:
        return list(self._upstreams.values())

    def match(self, path: str) -> tuple[str, Upstream] | None:
        service = next((owner for prefix, owner in OUTSIDE_API.items() if path.startswith(prefix)), None)
        if service is None:
            if not path.startswith(API_PREFIX):
                return None
            service = path[len(API_PREFIX) :].split("/", 1)[0]
        upstream = self._upstreams.get(service)
        return None if upstream is None else (service, upstream)


class ServiceDispatchMiddleware:
    def __init__(self, app: ASGIApp, *, routes: RouteTable) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = self.routes.match(scope["path"]) if scope["type"] in ("http", "websocket") else None
        if matched is None:
            await self.app(scope, receive, send)
            return
        service, upstream = matched
        scope[ROUTE_TEMPLATE_KEY] = f"{API_PREFIX}{service}/*"
        await upstream(scope, receive, send)


async def not_routed(scope: Scope, receive: Receive, send: Send) -> None:
    """The end of the route table for the gateway's own calls through it (views, the combined OpenAPI)."""
    await problem_response(status=404, type_=f"{TYPE_PREFIX}not-found", title="Not Found")(scope, receive, send)


def internal_client(routes: RouteTable) -> httpx.AsyncClient:
    """Requests the gateway itself sends through its route table, exactly as a client's would go (in
    process: no socket, no edge checks of its own; the services check the forwarded token)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ServiceDispatchMiddleware(not_routed, routes=routes)),
        base_url="http://gateway.internal",
    )
