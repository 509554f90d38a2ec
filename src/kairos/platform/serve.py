"""Serve an ASGI app with uvicorn until SIGINT or SIGTERM, inside an event loop we own."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp


def stop_signal() -> asyncio.Event:
    """An event set on SIGINT (Ctrl-C) or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # signals are ours (`stop_signal`): shutting down the services comes after the server


SERVER_OPTIONS_STATE = "server_options"


async def serve(app: ASGIApp, *, host: str, port: int, stop: asyncio.Event) -> None:
    # An app may carry uvicorn settings of its own on app.state (the gateway: header timeout, connection cap).
    options: dict[str, Any] = dict(getattr(getattr(app, "state", None), SERVER_OPTIONS_STATE, None) or {})
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="off", log_config=None, access_log=False, server_header=False, **options
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if serving in done:
        stopping.cancel()
        serving.result()  # raises if the server failed to start (port taken…)
        return
    server.should_exit = True
    await serving
