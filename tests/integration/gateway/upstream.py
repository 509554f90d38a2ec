"""A stand-in service instance for the gateway's tests, run as its own process:
``python -m tests.integration.gateway.upstream --name a --port 8123``.

It answers ``/api/v1/<service>/…`` with who it is and what it saw, and ``/health/ready`` like a service.
``/control/…`` (not routed by the gateway) lets a test read its hit count, make it unready or answer
every API request with a given status, and release requests held at ``…/hold`` and event streams waiting
at ``…/events``. ``…/socket`` is a WebSocket that greets, then echoes; ``…/events`` and ``…/heartbeats``
are Server-Sent Event streams.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

RESOURCE_ID = "7d7f5a3e-3c55-4b47-9a52-6f1c1a0e2b11"
OTHER_RESOURCE_ID = "1b0e9c2d-8a44-4f0f-b6a1-2c3d4e5f6a7b"
ORGANISATION_ID = "5e3c1d2b-9f8a-4e7d-a6b5-c4d3e2f1a0b9"


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
    streams_open: int = 0
    openapi_fetches: int = 0
    cached_reads: int = 0
    sockets_open: int = 0
    socket_close_codes: list[int] = field(default_factory=list)


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
        answer = JSONResponse(
            {
                "instance": state.name,
                "method": request.method,
                "path": path,
                "raw_path": request.scope["raw_path"].decode("latin-1"),
                "body_bytes": len(body),
                "headers": [[name.decode("latin-1"), value.decode("latin-1")] for name, value in request.headers.raw],
            },
            status_code=state.status,
        )
        if path.endswith("/sign-in"):
            answer.set_cookie("session", f"secret-of-{request.query_params.get('who', 'someone')}", httponly=True)
        return answer

    async def events(_: Request) -> Response:
        """One event at once, the next only after a release: a buffering proxy would show neither."""
        state.hits += 1
        release = state.release

        async def stream() -> AsyncIterator[bytes]:
            state.streams_open += 1
            try:
                yield b'id: 1\nevent: first\ndata: {"n": 1}\n\n'
                await release.wait()
                yield b'id: 2\nevent: second\ndata: {"n": 2}\n\n'
            finally:
                state.streams_open -= 1

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    async def heartbeats(request: Request) -> Response:
        """``count`` comment lines ``every`` seconds apart, then one event: a stream longer than any read
        timeout, alive all along."""
        count = int(request.query_params.get("count", "5"))
        every = float(request.query_params.get("every", "0.1"))

        async def stream() -> AsyncIterator[bytes]:
            for _ in range(count):
                yield b": heartbeat\n\n"
                await asyncio.sleep(every)
            yield b"event: done\ndata: {}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    async def download(request: Request) -> Response:
        """``megabytes`` of zeros with their length declared, a megabyte at a time: a large download."""
        megabytes = int(request.query_params.get("megabytes", "1"))
        chunk = bytes(1 << 20)

        async def stream() -> AsyncIterator[bytes]:
            for _ in range(megabytes):
                yield chunk

        length = str(megabytes * len(chunk))
        return StreamingResponse(stream(), media_type="application/octet-stream", headers={"Content-Length": length})

    async def socket(websocket: WebSocket) -> None:
        state.hits += 1
        if websocket.query_params.get("refuse"):
            await websocket.send_denial_response(JSONResponse({"refused": True}, status_code=409))
            return
        offered = websocket.scope.get("subprotocols", [])
        await websocket.accept(subprotocol="kairos.v1" if "kairos.v1" in offered else None)
        state.sockets_open += 1
        try:
            await websocket.send_json(
                {
                    "instance": state.name,
                    "subject": websocket.headers.get("x-kairos-subject"),
                    "query": websocket.url.query,
                }
            )
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    state.socket_close_codes.append(message.get("code", 1000))
                    return
                if message.get("text") is not None:
                    text = message["text"]
                    if text.startswith("close:"):
                        await websocket.close(code=int(text.removeprefix("close:")), reason="asked to")
                        return
                    await websocket.send_text(f"echo: {text}")
                else:
                    await websocket.send_bytes(message["bytes"][::-1])
        except WebSocketDisconnect as gone:
            state.socket_close_codes.append(gone.code)
        finally:
            state.sockets_open -= 1

    async def appointment(request: Request) -> Response:
        """An appointment as the appointments service gives it; ids starting with 0000 are unknown, and those
        starting with ffff are booked on a resource whose professional cannot be read."""
        state.hits += 1
        state.authorizations.append(request.headers.get("authorization"))
        appointment_id = request.path_params["appointment_id"]
        if appointment_id.startswith("0000"):
            problem = {"type": "urn:kairos:problem:not-found", "title": "Not Found", "status": 404}
            return JSONResponse(problem, status_code=404, media_type="application/problem+json")
        resource_id = OTHER_RESOURCE_ID if appointment_id.startswith("ffff") else RESOURCE_ID
        return JSONResponse(
            {"id": appointment_id, "resource_id": resource_id, "organisation_id": ORGANISATION_ID, "status": "booked"}
        )

    async def professional(request: Request) -> Response:
        """A resource's professional as the directory gives it; the other resource's read fails."""
        state.hits += 1
        state.authorizations.append(request.headers.get("authorization"))
        resource_id = request.path_params["resource_id"]
        if resource_id != RESOURCE_ID:
            problem = {"type": "urn:kairos:problem:internal-error", "title": "Internal Server Error", "status": 500}
            return JSONResponse(problem, status_code=500, media_type="application/problem+json")
        return JSONResponse(
            {"resource_id": resource_id, "display_name": "Dr. Stand-in", "specialty": "Dermatology", "verified": True}
        )

    async def schedule(request: Request) -> Response:
        state.hits += 1
        state.authorizations.append(request.headers.get("authorization"))
        return JSONResponse({"resource_id": request.path_params["resource_id"], "zone": "Europe/Paris"})

    async def cacheable(request: Request) -> Response:
        """Answers with the ``Cache-Control`` (and ``Cache-Tag``) the test asks for, and how often it was read."""
        state.cached_reads += 1
        headers = {"Cache-Control": request.query_params.get("cc", "no-store")}
        if "tag" in request.query_params:
            headers["Cache-Tag"] = request.query_params["tag"]
        body = {"instance": state.name, "read": state.cached_reads, "subject": request.headers.get("x-kairos-subject")}
        return JSONResponse(body, headers=headers)

    async def openapi(request: Request) -> Response:
        """A service's own document, with a component name every service has and a path the gateway hides."""
        state.openapi_fetches += 1
        prefix = f"/api/v1/{request.path_params['service']}"
        problem = {"$ref": "#/components/schemas/Problem"}
        return JSONResponse(
            {
                "openapi": "3.1.0",
                "info": {"title": f"Stand-in {state.name}", "version": "1"},
                "paths": {
                    f"{prefix}/echo": {
                        "get": {
                            "operationId": "echo",
                            "tags": ["echo"],
                            "responses": {
                                "200": {"description": "ok"},
                                "default": {
                                    "description": "no",
                                    **{"content": {"application/problem+json": {"schema": problem}}},
                                },
                            },
                        }
                    },
                    "/health/ready": {"get": {"operationId": "ready", "responses": {"200": {"description": "ok"}}}},
                },
                "components": {
                    "schemas": {"Problem": {"type": "object", "properties": {"stand_in": {"type": "string"}}}}
                },
            },
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
                "streams_open": state.streams_open,
                "openapi_fetches": state.openapi_fetches,
                "cached_reads": state.cached_reads,
                "sockets_open": state.sockets_open,
                "socket_close_codes": state.socket_close_codes,
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
            Route("/api/v1/{service}/openapi.json", openapi),
            Route("/api/v1/{service}/cacheable/{rest:path}", cacheable),
            Route("/api/v1/{service}/appointments/{appointment_id}", appointment),
            Route("/api/v1/{service}/resources/{resource_id}/professional", professional),
            Route("/api/v1/{service}/resources/{resource_id}/schedule", schedule),
            Route("/api/v1/{service}/events", events),
            Route("/api/v1/{service}/heartbeats", heartbeats),
            Route("/api/v1/{service}/download", download),
            WebSocketRoute("/api/v1/{service}/socket", socket),
            Route("/api/v1/{path:path}", api, methods=methods),
            Route("/fhir/R4/{path:path}", api, methods=methods),  # appointments' FHIR facade
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
