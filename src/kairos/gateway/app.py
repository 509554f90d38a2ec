"""Builds the gateway from platform parts; in the distributed shape each service is reached over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kairos.gateway.api import landing, router
from kairos.gateway.proxy import HttpUpstream
from kairos.gateway.routing import RouteTable, ServiceDispatchMiddleware
from kairos.platform.config import SERVICES
from kairos.platform.runtime import ServiceDefinition, ServiceRuntime

WEB_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"


def configure(app: FastAPI, runtime: ServiceRuntime) -> None:
    routes = RouteTable()
    client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=2.0), follow_redirects=False)
    for service in SERVICES:
        if service != "gateway":
            routes.route(service, HttpUpstream(runtime.settings.service_url(service), client))
    app.state.routes = routes
    app.state.upstream_client = client
    app.add_middleware(ServiceDispatchMiddleware, routes=routes)
    if (WEB_DIST / "index.html").exists():
        app.mount("/", StaticFiles(directory=WEB_DIST, html=True), name="web")
    else:
        app.include_router(landing)


definition = ServiceDefinition(
    name="gateway",
    title="Gateway",
    description="The single entry point: routes /api/v1/<service>/… to the owning service.",
    routers=[router],
    migrations="kairos.gateway:migrations",
    configure_app=configure,
    idempotency=False,
)
