"""WebSocket pass-through with the ``websockets`` client: the client's handshake is answered only once an
instance has accepted the same handshake (so a refusal by the service reaches the client as the service's
own HTTP answer), then messages are relayed both ways until either side closes, with its close code."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

# Fields the gateway's own handshake with the instance sets anew; the rest are forwarded as for HTTP.
HANDSHAKE_HEADERS = frozenset(
    {b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-extensions", b"sec-websocket-protocol"}
)
# RFC 6455 §7.4.1: 1005 and 1006 say that no close frame was received; they are never sent in one.
NO_STATUS, ABNORMAL, GOING_AWAY, INTERNAL_ERROR = 1005, 1006, 1001, 1011


class Refused(Exception):
    """The instance answered the handshake with an HTTP response instead of switching protocols."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        super().__init__(f"handshake refused with {status}")
        self.status = status
        self.headers = headers
        self.body = body


async def open_upstream(
    url: str, *, headers: list[tuple[bytes, bytes]], subprotocols: Sequence[str], open_timeout: float
) -> ClientConnection:
    """The instance's side of the tunnel; raises ``Refused``, ``OSError`` or ``TimeoutError``."""
    ws_url = "ws" + url.removeprefix("http")
    try:
        return await connect(
            ws_url,
            additional_headers=[
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in headers
                if name not in HANDSHAKE_HEADERS
            ],
            subprotocols=[*subprotocols] or None,  # type: ignore[list-item]  # Subprotocol is a NewType of str
            user_agent_header=None,  # the client's own User-Agent is among the forwarded headers
            compression=None,  # loopback or cluster network: not worth the CPU
            proxy=None,  # never an HTTP proxy from the environment between the gateway and a service
            open_timeout=open_timeout,
            max_size=None,  # the client's messages are bounded by the gateway's server; the service is trusted
        )
    except InvalidStatus as refusal:
        response = refusal.response
        kept = [(name, value) for name, value in response.headers.raw_items() if name.lower() == "content-type"]
        raise Refused(response.status_code, kept, bytes(response.body or b"")) from refusal


async def deny(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    """Refuse the client's handshake with an HTTP response (ASGI's WebSocket Denial Response extension);
    a server without it can only close, which the client sees as a 403."""
    if "websocket.http.response" in scope.get("extensions", {}):
        await response(scope, receive, send)
    else:
        await send({"type": "websocket.close", "code": 1008 if response.status_code < 500 else INTERNAL_ERROR})


async def relay(connection: ClientConnection, receive: Receive, send: Send) -> None:
    """Relay messages both ways until one side closes; the other is closed with the same code."""
    to_upstream = asyncio.create_task(_client_to_upstream(connection, receive))
    to_client = asyncio.create_task(_upstream_to_client(connection, send))
    try:
        done, _ = await asyncio.wait({to_upstream, to_client}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (to_upstream, to_client):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(to_upstream, to_client, return_exceptions=True)
        await connection.close()
    for task in done:
        error = None if task.cancelled() else task.exception()
        if error is not None and not isinstance(error, OSError):  # OSError: the client went away mid-send
            raise error


async def _client_to_upstream(connection: ClientConnection, receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.receive":
            text = message.get("text")
            await connection.send(text if text is not None else message.get("bytes") or b"")
        elif message["type"] == "websocket.disconnect":
            code = message.get("code", 1000)
            await connection.close(code=GOING_AWAY if code in (NO_STATUS, ABNORMAL) else code)
            return


async def _upstream_to_client(connection: ClientConnection, send: Send) -> None:
    try:
        async for data in connection:
            if isinstance(data, str):
                await send({"type": "websocket.send", "text": data})
            else:
                await send({"type": "websocket.send", "bytes": data})
    except ConnectionClosed:
        pass  # closed without a proper close frame: told to the client below as an internal error
    code = connection.close_code
    if code is None or code == ABNORMAL:
        code = INTERNAL_ERROR
    elif code == NO_STATUS:
        code = 1000
    await send({"type": "websocket.close", "code": code, "reason": connection.close_reason or ""})
