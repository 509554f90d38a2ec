"""The route table: ``/api/v1/<service>/…`` → that service's upstream; everything else → the gateway itself."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from kairos.gateway.proxy import Upstream
from kairos.platform.http.middleware import ROUTE_TEMPLATE_KEY

API_PREFIX = "/api/v1/"


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
