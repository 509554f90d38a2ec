"""A stand-in service instance for the gateway's tests, run as its own process:
``python -m tests.integration.gateway.upstream --name a --port 8123``.

It answers ``/api/v1/<service>/…`` with who it is and what it saw, and ``/health/ready`` like a service.
``/control/…`` (not routed by the gateway) lets a test read its hit count, make it unready or answer
every API request with a given status, and release requests held at ``…/hold``.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route


@dataclass
class State:
    name: str
    ready: bool = True
    status: int = 200
    hits: int = 0
    held: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    subjects: list[str | None] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)


def build(name: str) -> Starlette:
    state = State(name)

    async def ready(_: Request) -> Response:
        if state.ready:
            return JSONResponse({"status": "ok", "checks": {}})
        return JSONResponse({"status": "failing", "checks": {"database": "failing"}}, status_code=503)

    async def live(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def api(request: Request) -> Response:
        state.hits += 1
        state.subjects.append(request.headers.get("x-kairos-subject"))
        state.authorizations.append(request.headers.get("authorization"))
        body = await request.body()
        path = request.url.path
        if path.endswith("/hold"):
            state.held += 1
            try:
                await state.release.wait()
            finally:
                state.held -= 1
        if path.endswith("/slow"):
            await asyncio.sleep(float(request.query_params.get("seconds", "1")))
        if path.endswith("/page"):
            return HTMLResponse("<!doctype html><title>page</title><p>hello</p>", status_code=state.status)
        return JSONResponse(
            {"instance": state.name, "method": request.method, "path": path, "body_bytes": len(body)},
            status_code=state.status,
        )

    async def control_state(_: Request) -> Response:
        return JSONResponse(
            {
                "name": state.name,
                "hits": state.hits,
                "held": state.held,
                "subjects": state.subjects,
                "authorizations": state.authorizations,
            }
        )

    async def control_set(request: Request) -> Response:
        if "ready" in request.query_params:
            state.ready = request.query_params["ready"] == "true"
        if "status" in request.query_params:
            state.status = int(request.query_params["status"])
        return Response(status_code=204)

    async def control_release(_: Request) -> Response:
        state.release.set()
        state.release = asyncio.Event()
        return Response(status_code=204)

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/health/ready", ready),
            Route("/health/live", live),
            Route("/control/state", control_state),
            Route("/control/set", control_set, methods=["POST"]),
            Route("/control/release", control_release, methods=["POST"]),
            Route("/api/v1/{path:path}", api, methods=methods),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(build(args.name), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
